/**
 * The change feed under the safety check: a full cycle the check stopped (a mapping typo clearing
 * every title) holds the feed's writes to that target but leavers' deprovisions, until a cycle
 * passes; and attribute changes add up over the safety window, so a drip of small batches is
 * stopped as one cycle making them all would be.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, peopleCsv, person, type Person } from '../support/harness.js';
import type { BatchOutcome } from '../../src/service/fast-lane.js';
import { Batches, serveWithCsvFeed, startTestService, type RunningService } from '../support/service.js';
import { loadConfig } from '../../src/config/load.js';
import { createChangeFeed } from '../../src/sources/create-change-feed.js';
import { FileFeedTokenStore } from '../../src/state/feed-tokens.js';

let h: Harness;
let s: RunningService | undefined;
afterEach(async () => {
  await s?.stop();
  s = undefined;
  await h.close();
});

const people = Array.from({ length: 20 }, (_, i) => person(i + 1, { title: `Title ${i + 1}` }));
const userOf = (n: number) => h.sandbox.store.findUserByUserName(`user${n}@example.com`);
const familyName = (n: number) => (userOf(n)?.['name'] as { familyName?: string } | undefined)?.familyName;

/** The export replaced by rename, as an HR system writes it. */
function exportPeople(list: readonly Person[]): void {
  writeFileSync(`${h.csv}.new`, peopleCsv(list));
  renameSync(`${h.csv}.new`, h.csv);
}

// A CSV source refuses a column its header lacks; a mapping to the wrong, empty column clears every
// title as LDAP's `attributes: { title: titel }` does.
const typo = (yaml: string) => yaml.replace('title: title', 'title: manager_id');
const HOLD_LINE = "target app: change-driven syncs write only leavers' deprovisions until a full cycle passes";

describe('a full cycle stopped by the safety check', () => {
  it('holds the feed writes to the target but a leaver\'s deprovision; the people held are synced once a full cycle passes', async () => {
    h = await Harness.synced(people);
    const batches = new Batches();
    s = await serveWithCsvFeed(h, batches, typo);
    const first = await s.firstCycle;
    expect(first?.result?.kind).toBe('stopped');
    h.sandbox.clearRequests();

    // Three people renamed, one leaver; then two more renamed in a second export.
    const renamed = (ids: number[]) => people.map((p, i) => (ids.includes(i + 1) ? { ...p, last: `Renamed${i + 1}` } : p));
    const next = batches.next();
    exportPeople(renamed([2, 3, 4]).map((p) => (p.id === 'E1007' ? { ...p, status: 'terminated' } : p)));
    const batch = await next;
    expect([...batch.keys].sort()).toEqual(['E1002', 'E1003', 'E1004', 'E1007']);
    expect(batch.stopped).toBeUndefined();
    expect(batch.report?.targets[0]?.held).toMatch(/^3 operations held: the last full cycle \(plan-.*\) was stopped by the safety check; synced when a full cycle passes$/);
    // The leaver is deactivated; nothing else is written.
    expect(userOf(7)?.['active']).toBe(false);
    expect(h.writes().map((w) => `${w.method} ${w.path}`)).toEqual([`PATCH /Users/${userOf(7)!['id']}`]);
    expect([2, 3, 4].map((n) => [familyName(n), userOf(n)?.['title']])).toEqual([2, 3, 4].map((n) => [`Last${n}`, `Title ${n}`]));

    const second = batches.next();
    exportPeople(renamed([2, 3, 4, 5, 6]).map((p) => (p.id === 'E1007' ? { ...p, status: 'terminated' } : p)));
    expect([...(await second).keys].sort()).toEqual(['E1005', 'E1006']);
    expect(h.writes()).toHaveLength(1);
    expect([5, 6].map((n) => userOf(n)?.['title'])).toEqual(['Title 5', 'Title 6']);

    s.state.audit.flush();
    const held = h.audit().filter((r) => r['action'] === 'updateUser');
    expect(held.map((r) => [r['externalId'], r['outcome']]).sort()).toEqual(['E1002', 'E1003', 'E1004', 'E1005', 'E1006'].map((k) => [k, 'held']));
    // Said once, in the log and in /readyz, not per batch.
    expect(s.lines.filter((l) => l.includes(HOLD_LINE))).toHaveLength(1);
    const ready = await s.get('/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body).problems).toContainEqual(expect.stringMatching(/^target app: change-driven syncs write only leavers' deprovisions until a full cycle passes \(the full cycle plan-.* was stopped by the safety check at .*\); 5 people held$/));

    // The typo fixed, the service started again: its first cycle passes and syncs the people held.
    await s.stop();
    s = undefined;
    h.sandbox.clearRequests();
    h.writeConfig('', '', '  changes: { settleMs: 50 }');
    s = await startTestService(h);
    expect((await s.firstCycle)?.result?.kind).toBe('applied');
    expect([2, 3, 4, 5, 6].map((n) => [familyName(n), userOf(n)?.['title']])).toEqual([2, 3, 4, 5, 6].map((n) => [`Renamed${n}`, `Title ${n}`]));
    expect(h.writes().map((w) => w.method)).toEqual(['PATCH', 'PATCH', 'PATCH', 'PATCH', 'PATCH']);
    expect(userOf(7)?.['active']).toBe(false);
    expect((await s.get('/readyz')).status).toBe(200);
  }, 40_000);
});

describe('a service restarted after a stopped cycle', () => {
  it("holds the feed's writes but deprovisions until its start-up cycle is judged: the stop it meets again keeps them held", async () => {
    h = await Harness.synced(people);
    const batches = new Batches();
    s = await serveWithCsvFeed(h, batches, typo);
    expect((await s.firstCycle)?.result?.kind).toBe('stopped');
    await s.stop();
    s = undefined;
    h.sandbox.clearRequests();
    // While it was down, person 5 was renamed and person 8 left: the feed hands them out as it starts.
    exportPeople(people.map((p, i) => (i === 4 ? { ...p, last: 'Renamed5' } : i === 7 ? { ...p, status: 'terminated' } : p)));
    const loaded = loadConfig(h.configFile, { TEST_SCIM_TOKEN: 'x'.repeat(8) });
    const feed = createChangeFeed(loaded.config.source, loaded.config.safety, new FileFeedTokenStore(loaded.stateDir))!;
    const first = batches.next();
    // The start-up cycle goes on to its safety check only once that batch is over (at most 10 s):
    // the batch is planned before the stop is met again, as a slow cycle's would be.
    const batchOver = Promise.race([first.then(() => undefined, () => undefined), new Promise<void>((resolve) => setTimeout(resolve, 10_000))]);
    s = await startTestService(h, { feeds: [feed], onBatch: batches.listener, onCyclePlan: () => batchOver });
    const batch = await first;
    expect([...batch.keys].sort()).toEqual(['E1005', 'E1008']);
    expect(batch.report?.targets[0]?.held).toMatch(/held: the service started and its start-up cycle is not judged yet; synced when it passes$/);
    // The leaver is deactivated; the rename (and the typo's cleared title) is not written.
    expect(h.writes().map((w) => `${w.method} ${w.path}`)).toEqual([`PATCH /Users/${userOf(8)!['id']}`]);
    expect((await s.firstCycle)?.result?.kind).toBe('stopped');
    expect(h.writes()).toHaveLength(1);
    expect([familyName(5), userOf(5)?.['title'], userOf(8)?.['active']]).toEqual(['Last5', 'Title 5', false]);
    // Held by the stop it met again, as before the restart.
    const ready = await s.get('/readyz');
    expect(JSON.parse(ready.body).problems).toContainEqual(expect.stringMatching(/^target app: change-driven syncs write only leavers' deprovisions until a full cycle passes \(the full cycle plan-.* was stopped by the safety check at .*\); 1 person held$/));
  }, 40_000);
});

describe('a full cycle stopped on its deprovisions', () => {
  it('holds the leavers of the feed too: the doubt is whether they left', async () => {
    h = await Harness.synced(people);
    // Five of twenty terminated at once (limit 10%): a status column exported wrong reads so.
    const terminated = (ids: number[]) => people.map((p, i) => (ids.includes(i + 1) ? { ...p, status: 'terminated' } : p));
    exportPeople(terminated([1, 2, 3, 4, 5]));
    const batches = new Batches();
    s = await serveWithCsvFeed(h, batches);
    expect((await s.firstCycle)?.result?.kind).toBe('stopped');
    h.sandbox.clearRequests();
    const next = batches.next();
    exportPeople(terminated([1, 2, 3, 4, 5, 10]).map((p) => (p.id === 'E1011' ? { ...p, last: 'Renamed11' } : p)));
    const batch = await next;
    expect([...batch.keys].sort()).toEqual(['E1010', 'E1011']);
    expect(batch.report?.targets[0]?.held).toMatch(/^2 operations held: the last full cycle/);
    expect(h.writes()).toEqual([]);
    expect([userOf(10)?.['active'], familyName(11)]).toEqual([true, 'Last11']);
    expect(s.lines.filter((l) => l.includes('target app: change-driven syncs write nothing (its stop is about deprovisions) until a full cycle passes'))).toHaveLength(1);
  }, 40_000);
});

describe('a full cycle stopped on a broken export', () => {
  it('lifts the hold when a later cycle passes: those held before it are synced by it, one held while it ran right after it', async () => {
    h = await Harness.synced(people);
    // The export's title column comes out empty: the start-up cycle would clear every title.
    exportPeople(people.map((p) => ({ ...p, title: '' })));
    const batches = new Batches();
    let during: (() => Promise<void>) | undefined;
    s = await serveWithCsvFeed(h, batches, undefined, { onCyclePlan: async () => await during?.() });
    expect((await s.firstCycle)?.result?.kind).toBe('stopped');
    h.sandbox.clearRequests();

    // The export fixed, and two people renamed: the feed names everyone (the titles came back), the renames are held.
    const fixed = people.map((p, i) => (i === 1 || i === 2 ? { ...p, last: `Renamed${i + 1}` } : p));
    const next = batches.next();
    exportPeople(fixed);
    expect((await next).keys).toHaveLength(20);
    expect(h.writes()).toEqual([]);

    // A full cycle: between its read and its apply, a third person is renamed and held (the cycle read them before).
    during = async () => {
      during = undefined;
      const held = batches.next();
      exportPeople(fixed.map((p) => (p.id === 'E1004' ? { ...p, last: 'Renamed4' } : p)));
      expect((await held).report?.targets[0]?.held).toMatch(/^1 operation held: the last full cycle/);
      resynced = batches.next();
    };
    let resynced: Promise<BatchOutcome> | undefined;
    expect((await s.reconcile.request('test')).result?.kind).toBe('applied');
    expect([2, 3].map(familyName)).toEqual(['Renamed2', 'Renamed3']);
    expect((await resynced)?.keys).toEqual(['E1004']);
    expect(familyName(4)).toBe('Renamed4');
    expect(Array.from({ length: 20 }, (_, i) => userOf(i + 1)?.['title'])).toEqual(people.map((p) => p.title));
    expect(s.lines.filter((l) => l.includes('target app: change-driven syncs write again (the full cycle'))).toEqual([
      expect.stringMatching(/passed\); 3 held people, 1 synced again now$/),
    ]);
    expect((await s.get('/readyz')).status).toBe(200);
  }, 40_000);
});

describe('attribute changes over the safety window', () => {
  it('a drip of small batches clearing titles, each under alwaysAllowAttributeChanges, is stopped once together they cross the share', async () => {
    h = await Harness.synced(people);
    const batches = new Batches();
    s = await serveWithCsvFeed(h, batches);
    expect((await s.firstCycle)?.result?.kind).toBe('applied');
    h.sandbox.clearRequests();
    // Four titles cleared per export: 4 and 8 pass (at most alwaysAllowAttributeChanges, 10); 12 of 20 is 60%, over 30%.
    const cleared = (upTo: number) => people.map((p, i) => (i < upTo ? { ...p, title: '' } : p));
    for (const upTo of [4, 8]) {
      const next = batches.next();
      exportPeople(cleared(upTo));
      const batch = await next;
      expect(batch.keys).toHaveLength(4);
      expect(batch.report, String(batch.stopped ?? batch.error)).toBeDefined();
    }
    expect(Array.from({ length: 8 }, (_, i) => userOf(i + 1)?.['title'])).toEqual(Array(8).fill(undefined));
    h.sandbox.clearRequests();
    const third = batches.next();
    exportPeople(cleared(12));
    const stopped = await third;
    expect(stopped.stopped?.reasons.join(' ')).toMatch(/^target app: title would change on 12 of 20 managed users \(with 8 already changed in the last 60 minutes\) \(60\.0%, limit 30%; 4 cleared\)/);
    expect(h.writes()).toEqual([]);
    expect([9, 10, 11, 12].map((n) => userOf(n)?.['title'])).toEqual(['Title 9', 'Title 10', 'Title 11', 'Title 12']);
  }, 40_000);

  it('a drip of small batches clearing manager references is stopped the same way (manager counts as an attribute)', async () => {
    const managed = people.map((p, i) => (i === 0 ? p : { ...p, manager: 'E1001' }));
    h = await Harness.synced(managed);
    const batches = new Batches();
    s = await serveWithCsvFeed(h, batches);
    expect((await s.firstCycle)?.result?.kind).toBe('applied');
    h.sandbox.clearRequests();
    const managerOf = (n: number) => (userOf(n)?.['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'] as { manager?: unknown } | undefined)?.manager;
    expect(managerOf(2)).toBeDefined();
    // Four references cleared per export (people 2-5, 6-9, then 10-13): 12 of 20 is 60%, over 30%.
    const cleared = (upTo: number) => managed.map((p, i) => (i >= 1 && i <= upTo ? { ...p, manager: '' } : p));
    for (const upTo of [4, 8]) {
      const next = batches.next();
      exportPeople(cleared(upTo));
      const batch = await next;
      expect(batch.report, String(batch.stopped ?? batch.error)).toBeDefined();
    }
    expect(managerOf(9)).toBeUndefined();
    h.sandbox.clearRequests();
    const third = batches.next();
    exportPeople(cleared(12));
    const stopped = await third;
    expect(stopped.stopped?.reasons.join(' ')).toMatch(/manager would change on 12 of 20 managed users \(with 8 already changed in the last 60 minutes\)/);
    expect(h.writes()).toEqual([]);
    expect(managerOf(10)).toBeDefined();
  }, 40_000);

  it('a drip of small batches of new people, each under alwaysAllowCreates, is stopped once together they cross maxCreatePercent', async () => {
    h = await Harness.synced(people);
    const batches = new Batches();
    s = await serveWithCsvFeed(h, batches);
    expect((await s.firstCycle)?.result?.kind).toBe('applied');
    h.sandbox.clearRequests();
    // Four people appear per export (as leavers read as active would): 4 and 8 pass (at most
    // alwaysAllowCreates, 10); 12 against the 20 managed is 60%, over 20%.
    const joined = (upTo: number) => [...people, ...Array.from({ length: upTo }, (_, i) => person(21 + i))];
    for (const upTo of [4, 8]) {
      const next = batches.next();
      exportPeople(joined(upTo));
      const batch = await next;
      expect(batch.keys).toHaveLength(4);
      expect(batch.report, String(batch.stopped ?? batch.error)).toBeDefined();
    }
    expect(h.writes().filter((w) => w.method === 'POST' && w.path === '/Users')).toHaveLength(8);
    h.sandbox.clearRequests();
    const third = batches.next();
    exportPeople(joined(12));
    const stopped = await third;
    expect(stopped.stopped?.reasons.join(' ')).toMatch(/^target app: 12 users would be created \(with 8 already created or re-activated in the last 60 minutes\) beside its 2\d managed users/);
    expect(h.writes()).toEqual([]);
    expect(userOf(29)).toBeUndefined();
  }, 40_000);
});


describe('accounts lost in the app a few at a time', () => {
  it('are created again within one allowance over the safety window, not one per batch', async () => {
    h = await Harness.synced(people);
    const batches = new Batches();
    s = await serveWithCsvFeed(h, batches);
    expect((await s.firstCycle)?.result?.kind).toBe('applied');
    // The app loses accounts two at a time (deleted by hand, a server that stopped serving them),
    // and each pair's people change in the export: each batch finds their links dead.
    const lose = (ns: number[]) => {
      for (const n of ns) h.sandbox.store.deleteUser(userOf(n)!['id'] as string);
    };
    const retitled = (ns: number[]) => people.map((p, i) => (ns.includes(i + 1) ? { ...p, title: `New ${i + 1}` } : p));
    lose([2, 3]);
    h.sandbox.clearRequests();
    const first = batches.next();
    exportPeople(retitled([2, 3]));
    const batch = await first;
    // Two of twenty-two: within alwaysAllowRecreates (3).
    expect(batch.report, String(batch.stopped ?? batch.error)).toBeDefined();
    expect(h.writes().filter((w) => w.method === 'POST' && w.path === '/Users')).toHaveLength(2);
    expect([2, 3].map((n) => userOf(n)?.['title'])).toEqual(['New 2', 'New 3']);

    lose([4, 5]);
    h.sandbox.clearRequests();
    const second = batches.next();
    exportPeople(retitled([2, 3, 4, 5]));
    const stopped = await second;
    // Two more alone would pass; with the two of the first batch they are four, over both limits.
    expect(stopped.stopped?.reasons.join(' ')).toMatch(/^target app: 2 of 2\d linked accounts are missing from its listing and would be created again \(with 2 already created again in the last 60 minutes\) \(1\d\.\d%, limit 10%\)/);
    expect(h.writes()).toEqual([]);
    expect([4, 5].map((n) => userOf(n))).toEqual([undefined, undefined]);

    // The log says which creates were re-creates, so a restarted service counts them too.
    s.state.audit.flush();
    const recreated = h.audit().filter((r) => r['action'] === 'createUser' && r['recreated'] === true);
    expect(recreated.map((r) => r['externalId']).sort()).toEqual(['E1002', 'E1003']);
  }, 40_000);
});

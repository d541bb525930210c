/**
 * The service's change-driven batches on a server that returns group members nowhere (the sandbox
 * as AWS IAM Identity Center): after a full cycle, an HR event or a change-feed batch takes the
 * people's memberships from the member memory instead of asking every group about each of them;
 * a person the memory does not cover is asked about, and no one else. Pair checks are counted at
 * the server.
 */
import { createHmac } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createChangeFeed } from '../../src/sources/create-change-feed.js';
import { FileFeedTokenStore } from '../../src/state/feed-tokens.js';
import { Harness, memberNames, peopleCsv, person } from '../support/harness.js';
import { askedUsers, checkedGroups, emails, groupedPeople, pairChecks } from '../support/member-checks.js';
import { Batches, startTestService, type RunningService } from '../support/service.js';

const BAMBOO_KEY = 'bamboo-key-5a7c9e1b3d';
const AWS = '    profile: aws';
const EVENTS = 'events:\n  bamboo: { format: bamboohr, secret: "${env:TEST_BAMBOO_KEY}" }\n';
const people = groupedPeople;

let h: Harness | undefined;
let s: RunningService | undefined;
afterEach(async () => {
  await s?.stop();
  s = undefined;
  await h?.close();
  h = undefined;
});

const userOf = (h: Harness, n: number) => h.sandbox.store.findUserByUserName(`user${n}@example.com`)!;

function bamboo(employeeId: string): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify({ type: 'employee.updated', timestamp: new Date().toISOString(), data: { companyId: '1', employeeId, changedFields: ['status'] } });
  const ts = String(Math.floor(Date.now() / 1000));
  return { body, headers: { 'X-BambooHR-Timestamp': ts, 'X-BambooHR-Signature': createHmac('sha256', BAMBOO_KEY).update(body + ts).digest('hex') } };
}

/** The cycle after the batches: the memory they kept matches the server, so it asks and writes nothing. */
async function nothingLeft(h: Harness): Promise<void> {
  await s!.stop();
  s = undefined;
  h.sandbox.clearRequests();
  const r = await h.run();
  expect(r.code, r.out + r.err).toBe(0);
  expect(pairChecks(h.sandbox)).toHaveLength(0);
  expect(h.writes()).toEqual([]);
}

/** The service started on a target a full cycle synced (`h`, `s`); requests cleared. */
async function serviceAfterCycle(): Promise<{ h: Harness; batches: Batches }> {
  process.env['TEST_BAMBOO_KEY'] = BAMBOO_KEY;
  const synced = (h = await Harness.synced(people, { sandbox: { profile: 'aws' }, target: AWS, top: EVENTS }));
  const batches = new Batches();
  s = await startTestService(synced, { onBatch: batches.listener });
  expect((await s.firstCycle)?.result?.kind).toBe('applied');
  synced.sandbox.clearRequests();
  return { h: synced, batches };
}

/** An HR event naming one person, and the batch it makes, applied without a failure. */
async function eventFor(batches: Batches, key: string): Promise<void> {
  const next = batches.next();
  const { body, headers } = bamboo(key);
  expect((await s!.post('/events/bamboo', body, headers)).status).toBe(202);
  const outcome = await next;
  expect(outcome.keys).toEqual([key]);
  expect(outcome.report?.targets[0]?.failures).toEqual([]);
}

it('an HR event for a leaver after a full cycle asks no group about them, and takes them out of their groups', async () => {
  const { h, batches } = await serviceAfterCycle();
  h.writePeople(people.map((p) => (p.id === 'E1004' ? { ...p, status: 'terminated' } : p)));
  await eventFor(batches, 'E1004');
  expect(pairChecks(h.sandbox)).toHaveLength(0);
  expect(userOf(h, 4)['active']).toBe(false);
  expect(memberNames(h.sandbox, 'ops')).toEqual(emails(5));
  expect(memberNames(h.sandbox, 'all')).toEqual(emails(1, 2, 3, 5, 6));
  await nothingLeft(h);
});

it('an HR event for someone who left a group takes them out of it, from memory', async () => {
  const { h, batches } = await serviceAfterCycle();
  // user5 leaves ops.
  h.writePeople(people.map((p) => (p.id === 'E1005' ? { ...p, groups: ['all'] } : p)));
  await eventFor(batches, 'E1005');
  expect(pairChecks(h.sandbox)).toHaveLength(0);
  expect(memberNames(h.sandbox, 'ops')).toEqual(emails(4));
  expect(memberNames(h.sandbox, 'all')).toEqual(emails(1, 2, 3, 4, 5, 6));
  await nothingLeft(h);
});

it('a change-feed batch of a leaver, a joiner and a new hire asks no group about anyone, and applies the right memberships', async () => {
  h = await Harness.synced(people, { sandbox: { profile: 'aws' }, target: AWS });
  h.writeConfig(AWS, '', '  changes: { settleMs: 50 }');
  const loaded = loadConfig(h.configFile, { TEST_SCIM_TOKEN: 'x'.repeat(8) });
  const feed = createChangeFeed(loaded.config.source, loaded.config.safety, new FileFeedTokenStore(loaded.stateDir))!;
  // The feed's first position, taken now: the service's first poll then finds nothing new.
  const baseline = await feed.feed.poll();
  await baseline!.commit();
  const batches = new Batches();
  s = await startTestService(h, { feeds: [feed], onBatch: batches.listener });
  expect((await s.firstCycle)?.result?.kind).toBe('applied');
  h.sandbox.clearRequests();

  // user4 leaves; user6 joins eng; user7 is hired into eng.
  const changed = [...people.map((p) => (p.id === 'E1004' ? { ...p, status: 'terminated' } : p.id === 'E1006' ? { ...p, groups: ['eng', 'all'] } : p)), person(7, { groups: ['eng'] })];
  const next = batches.next();
  writeFileSync(`${h.csv}.new`, peopleCsv(changed));
  renameSync(`${h.csv}.new`, h.csv);
  const outcome = await next;
  expect([...outcome.keys].sort()).toEqual(['E1004', 'E1006', 'E1007']);
  expect(outcome.report?.targets[0]?.failures).toEqual([]);
  expect(pairChecks(h.sandbox)).toHaveLength(0);
  expect(userOf(h, 4)['active']).toBe(false);
  expect(memberNames(h.sandbox, 'eng')).toEqual(emails(1, 2, 3, 6, 7));
  expect(memberNames(h.sandbox, 'ops')).toEqual(emails(5));
  expect(memberNames(h.sandbox, 'all')).toEqual(emails(1, 2, 3, 5, 6));
  await nothingLeft(h);
});

it('a batch asks every group about a person the memory does not cover, and about no one else', async () => {
  process.env['TEST_BAMBOO_KEY'] = BAMBOO_KEY;
  h = await Harness.synced(people, { sandbox: { profile: 'aws' }, target: AWS, top: `${EVENTS}serve:\n  reconcileOnStart: false\n` });
  // user5 linked since the last cycle, as far as the memory knows.
  const file = join(h.dir, 'state', 'group-members.json');
  const kept = JSON.parse(readFileSync(file, 'utf8')) as { targets: { app: { users: string[] } } };
  kept.targets.app.users = kept.targets.app.users.filter((u) => u !== userOf(h!, 5)['id']);
  writeFileSync(file, JSON.stringify(kept));
  const batches = new Batches();
  s = await startTestService(h, { onBatch: batches.listener });

  h.writePeople(people.map((p) => (p.id === 'E1004' ? { ...p, status: 'terminated' } : p.id === 'E1005' ? { ...p, groups: ['eng', 'ops', 'all'] } : p)));
  const outcome = await s.fast.sync({ keys: ['E1004', 'E1005'], initiator: 'event', by: 'test' });
  expect(outcome.error).toBeUndefined();
  expect(outcome.report?.targets[0]?.failures).toEqual([]);
  expect(askedUsers(h.sandbox)).toEqual([userOf(h, 5)['id']]);
  expect(checkedGroups(h.sandbox)).toEqual(['all', 'eng', 'ops']);
  expect(pairChecks(h.sandbox)).toHaveLength(3);
  expect(memberNames(h.sandbox, 'eng')).toEqual(emails(1, 2, 3, 5));
  expect(memberNames(h.sandbox, 'ops')).toEqual(emails(5));
  expect(memberNames(h.sandbox, 'all')).toEqual(emails(1, 2, 3, 5, 6));
});

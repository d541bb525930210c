/**
 * The fast lane's batches stay within serve.maxBatch (service/fast-lane.ts): a request naming more is
 * applied in parts, requests queued behind it are taken between two parts, its caller sees every
 * part's outcome, and its parts are judged by the safety check as one request.
 */
import { afterEach, expect, it } from 'vitest';
import { notApplied, type BatchOutcome } from '../../src/service/fast-lane.js';
import { Harness, person, type Person } from '../support/harness.js';
import { Batches, startTestService, type RunningService } from '../support/service.js';

let h: Harness;
let s: RunningService | undefined;
afterEach(async () => {
  await s?.stop();
  s = undefined;
  await h.close();
});

const people = Array.from({ length: 20 }, (_, i) => person(i + 1));
const ids = (from: number, to: number) => people.slice(from - 1, to).map((p) => p.id);
const userOf = (n: number) => h.sandbox.store.findUserByUserName(`user${n}@example.com`);
/** E1001..E1012 promoted: twelve people to sync, more than maxBatch 5. */
const promoted = (p: Person, i: number): Person => (i < 12 ? { ...p, title: 'Director' } : p);

/** A synced target and a service whose batches hold at most 5 people. */
async function serve(batches: Batches, safety = '  maxAttributeChangePercent: 100'): Promise<RunningService> {
  h = await Harness.synced(people, { top: 'serve:\n  maxBatch: 5\n  reconcileOnStart: false\n', safety });
  return startTestService(h, { onBatch: batches.listener });
}

/** The people the target's requests to /Users/<id> were about, in the order it received them. */
function named(): string[] {
  return h.sandbox.requests.flatMap((r) => {
    const id = /^\/Users\/([^/?]+)$/.exec(r.path)?.[1];
    const user = id ? h.sandbox.store.getUser(id) : undefined;
    return user ? [String(user['externalId'])] : [];
  });
}

it('a request naming more people than maxBatch is applied in parts of at most maxBatch, one after the other, and its caller sees every part', async () => {
  const batches = new Batches();
  s = await serve(batches);
  h.writePeople(people.map(promoted));
  const outcome = await s.fast.sync({ keys: ids(1, 12), initiator: 'event', by: 'test' });
  expect(batches.seen.map((b) => b.keys)).toEqual([ids(1, 5), ids(6, 10), ids(11, 12)]);
  // The target was asked about one part's people, then the next part's: never more than 5 at once.
  const part = (key: string) => Math.floor((Number(key.slice(1)) - 1001) / 5);
  const order = named().map(part);
  expect(order).toEqual([...order].sort());
  expect(new Set(named())).toEqual(new Set(ids(1, 12)));
  expect(h.writes()).toHaveLength(12);
  expect([1, 6, 12].map((n) => userOf(n)?.['title'])).toEqual(['Director', 'Director', 'Director']);

  expect(outcome.keys).toEqual(ids(1, 12));
  expect(outcome.parts?.map((p) => p.keys)).toEqual([ids(1, 5), ids(6, 10), ids(11, 12)]);
  expect(outcome.report?.targets).toEqual([expect.objectContaining({ target: 'app', counts: { updateUser: expect.objectContaining({ ok: 12, failed: 0 }) }, failures: [] })]);
  expect(outcome.stopped).toBeUndefined();
  expect(notApplied(outcome)).toBeUndefined();
});

it("a leaver's event queued behind a big request is applied after the big request's first part, before its last", async () => {
  const batches = new Batches();
  s = await serve(batches);
  h.writePeople(people.map(promoted).map((p) => (p.id === 'E1015' ? { ...p, status: 'terminated' } : p)));
  const done: string[] = [];
  let seenWhenLeaverDone = -1;
  const big = s.fast.sync({ keys: ids(1, 12), initiator: 'event', by: 'feed' }).then((o) => (done.push('big'), o));
  const leaver = s.fast.sync({ keys: ['E1015'], initiator: 'event', by: 'leaver' }).then((o) => {
    done.push('leaver');
    seenWhenLeaverDone = batches.seen.length;
    return o;
  });
  const [bigOutcome, leaverOutcome] = await Promise.all([big, leaver]);
  expect(done).toEqual(['leaver', 'big']);
  expect(seenWhenLeaverDone).toBe(2);
  expect(batches.seen.map((b) => b.keys)).toEqual([ids(1, 5), ['E1015'], ids(6, 10), ids(11, 12)]);
  expect(leaverOutcome.keys).toEqual(['E1015']);
  expect(leaverOutcome.report?.targets[0]?.counts.deprovisionUser?.ok).toBe(1);
  expect(userOf(15)?.['active']).toBe(false);
  // The target heard of the leaver between the first part's people and the second's.
  const order = named();
  const at = order.indexOf('E1015');
  expect(order.slice(0, at).every((k) => ids(1, 5).includes(k))).toBe(true);
  expect(order.slice(at + 1).filter((k) => k !== 'E1015').every((k) => ids(6, 12).includes(k))).toBe(true);
  expect(bigOutcome.parts).toHaveLength(3);
});

it('a part whose write fails for a passing reason leaves only its people to try again; the caller sees the failure among every part', async () => {
  const batches = new Batches();
  s = await serve(batches);
  h.writePeople(people.map(promoted));
  h.sandbox.addFault({ method: 'PATCH', path: `/Users/${String(userOf(7)!['id'])}`, times: Infinity, action: { type: 'status', status: 503, detail: 'down for a moment' } });
  const outcome = await s.fast.sync({ keys: ids(1, 12), initiator: 'event', by: 'test' });
  expect(outcome.parts?.map((p) => p.report?.targets[0]?.failures.length)).toEqual([0, 1, 0]);
  expect(outcome.report?.targets[0]?.failures.map((f) => [f.externalId, f.code])).toEqual([['E1007', 'TRANSIENT']]);
  expect(outcome.report?.targets[0]?.counts.updateUser).toMatchObject({ ok: 11, failed: 1 });
  expect(notApplied(outcome)).toEqual({ why: expect.stringMatching(/^target app: /), keys: new Set(['E1007']) });
  expect(userOf(12)?.['title']).toBe('Director');
});

it('the parts of a request are judged as one: the part that takes its attribute changes past the limit is stopped, and the rest is not planned', async () => {
  const batches = new Batches();
  // 30% of 20 managed users: each part's 5 title changes (25%) pass alone, the first ten (50%) do not.
  s = await serve(batches, '  maxAttributeChangePercent: 30\n  alwaysAllowAttributeChanges: 0');
  h.writePeople(people.map(promoted));
  const outcome: BatchOutcome = await s.fast.sync({ keys: ids(1, 12), initiator: 'event', by: 'test' });
  expect(outcome.stopped?.reasons.join('; ')).toMatch(/target app: title would change on 10 of 20 managed users \(50\.0%, limit 30%\)/);
  expect(outcome.parts?.map((p) => [p.keys, !!p.report, !!p.stopped, !!p.plan])).toEqual([
    [ids(1, 5), true, false, true],
    [ids(6, 10), false, true, true],
    [ids(11, 12), false, true, false],
  ]);
  expect(batches.seen).toHaveLength(2);
  expect(named().filter((k) => ids(11, 12).includes(k))).toEqual([]);
  expect([1, 5, 6, 10, 11, 12].map((n) => userOf(n)?.['title'])).toEqual(['Director', 'Director', 'Engineer', 'Engineer', 'Engineer', 'Engineer']);
  // Staged or left to the next full cycle: someone decides, the people are not tried again.
  expect(notApplied(outcome)).toBeUndefined();
  expect(s.lines.join('\n')).toMatch(/part 2 was stopped by the safety check, so its other 2 people are not planned/);
});

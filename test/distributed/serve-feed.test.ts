/**
 * A change feed's full reconcile in distributed `serve` (real Redis, an in-process worker standing
 * for another machine): a target whose previous cycle still holds its lock is left out of the cycle
 * the feed asked for, and that earlier cycle may have read the source before the change; the feed's
 * position stays where it was until a cycle has reached that target too.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { acquireTargetLocks } from '../../src/state/redis-run-lock.js';
import { addTarget, Harness, memberNames, person, TOKEN } from '../support/harness.js';
import { REDIS_URL, cleanRedis, inProcessWorkers, queueYaml, randomPrefix, waitUntil } from '../support/distributed.js';
import { FullReconcileFeed, startTestService, type RunningService } from '../support/service.js';
import { notApplied } from '../../src/service/fast-lane.js';

let h: Harness;
let crm: Sandbox;
let prefix: string;
let redis: Redis;
let worker: Awaited<ReturnType<typeof inProcessWorkers>> | null = null;
let s: RunningService | undefined;

const admins = Array.from({ length: 10 }, (_, i) => person(i + 1, i < 3 ? { groups: ['admins'] } : {}));
const before = ['user1@example.com', 'user2@example.com', 'user3@example.com'];

beforeEach(async () => {
  prefix = randomPrefix();
  h = await Harness.start({ top: `${queueYaml(prefix)}serve:\n  pollIntervalMs: 500\n  reconcileOnStart: false\n  maxBatch: 5\n` });
  crm = await startSandbox({ token: TOKEN });
  addTarget(h, 'crm', crm);
  const other = join(h.dir, 'other.yaml');
  writeFileSync(other, readFileSync(h.configFile, 'utf8').replace('\n  dir: state\n', '\n  dir: state-other\n'));
  h.writePeople(admins);
  worker = await inProcessWorkers(other);
  const first = await h.run('--wait');
  expect(first.code, first.err + first.out).toBe(0);
  expect(memberNames(crm, 'admins')).toEqual(before);
  redis = new Redis(REDIS_URL);
});
afterEach(async () => {
  await s?.stop();
  s = undefined;
  await worker?.close();
  worker = null;
  redis.disconnect();
  await crm.close();
  await h.close();
  await cleanRedis(prefix);
});

it('a full reconcile a feed asked for, which skipped a target whose previous cycle still runs, is asked for again and reaches it once that cycle ends', async () => {
  // An earlier cycle still holds crm (its workers still at it): it read the source before the change.
  const previous = await acquireTargetLocks(redis, prefix, ['crm']);
  const feed = new FullReconcileFeed();
  try {
    h.writePeople(admins.map((p) => (p.id === 'E1001' ? { ...p, groups: [] } : p)));
    s = await startTestService(h, { feeds: [{ name: 'groups', feed }] });
    // A second poll: the first one's full reconcile has been enqueued and judged.
    await expect.poll(() => feed.polls, { timeout: 20_000 }).toBeGreaterThan(1);
    expect(feed.committed).toBe(0);
    expect(s.lines.join('\n')).toContain('feed groups: the full reconcile it asked for did not reach every target, asked again in 1 s: target crm skipped: its previous cycle still runs');
    await waitUntil(() => memberNames(h.sandbox, 'admins').length === 2, 'the worker to apply the removal to app');
    expect(memberNames(h.sandbox, 'admins')).toEqual(before.slice(1));
    expect(memberNames(crm, 'admins')).toEqual(before);
  } finally {
    await previous.locks.release();
  }
  await expect.poll(() => feed.committed, { timeout: 30_000 }).toBe(1);
  await waitUntil(() => memberNames(crm, 'admins').length === 2, 'the worker to apply the removal to crm');
  expect(memberNames(crm, 'admins')).toEqual(before.slice(1));
}, 60_000);

it("a full reconcile a feed asked for is judged by the workers' reports, not by being enqueued: a target the workers were refused on keeps the position", async () => {
  // Planning reads crm as usual; only the workers' writes are refused (a token that lost its write scope).
  crm.addFault({ method: 'PATCH', path: /^\/Groups/, times: Infinity, action: { type: 'status', status: 401, detail: 'token lacks write scope' } });
  const feed = new FullReconcileFeed();
  h.writePeople(admins.map((p) => (p.id === 'E1001' ? { ...p, groups: [] } : p)));
  s = await startTestService(h, { feeds: [{ name: 'groups', feed }] });
  await expect.poll(() => s!.lines.join('\n'), { timeout: 30_000 }).toContain('target crm skipped: quarantined');
  expect(s.lines.join('\n')).toContain('feed groups: the full reconcile it asked for did not reach every target, asked again in 1 s: target crm stopped: credential rejected (HTTP 401)');
  expect(feed.committed).toBe(0);
  expect(memberNames(crm, 'admins')).toEqual(before);
  // The other target was reached by the same cycle.
  expect(memberNames(h.sandbox, 'admins')).toEqual(before.slice(1));
  // The refusal put crm in quarantine (the feed asks again, and the cycles leave crm out meanwhile).
  expect(s.lines.join('\n')).toContain('target crm skipped: quarantined');
  expect(feed.committed).toBe(0);
  crm.clearFaults();
  const lifted = await h.cli('unquarantine', '--config', h.configFile, '--target', 'crm');
  expect(lifted.code, lifted.err).toBe(0);
  await expect.poll(() => feed.committed, { timeout: 30_000 }).toBe(1);
  expect(memberNames(crm, 'admins')).toEqual(before.slice(1));
}, 60_000);

it("a request over maxBatch, served by a full reconcile, is not applied when the workers were refused on a target: whoever asked tries it again", async () => {
  crm.addFault({ method: 'PATCH', path: /^\/Groups/, times: Infinity, action: { type: 'status', status: 401, detail: 'token lacks write scope' } });
  h.writePeople(admins.map((p) => (p.id === 'E1001' ? { ...p, groups: [] } : p)));
  s = await startTestService(h);
  const outcome = await s.fast.sync({ keys: admins.map((p) => p.id), initiator: 'event', by: 'bulk import' });
  expect(outcome.fullCycle).toBe(true);
  expect(notApplied(outcome)).toMatchObject({ keys: 'all', why: expect.stringMatching(/the full reconcile did not reach every target: target crm stopped: credential rejected \(HTTP 401\)/) });
  expect(memberNames(crm, 'admins')).toEqual(before);
  expect(memberNames(h.sandbox, 'admins')).toEqual(before.slice(1));
}, 60_000);

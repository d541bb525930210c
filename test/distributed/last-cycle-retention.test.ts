/**
 * A target's last cycle report in Redis (real Redis) holds its failures (labels, the server's error
 * text), as the dead letters do: it expires queue.failedRetentionHours after it was written, each
 * write renewing it, so that it does not stay forever once its target leaves the config. `status`
 * reads a gone record as "no cycle recorded".
 */
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { CycleStore, type PlanMeta } from '../../src/execution/bullmq/cycle-store.js';
import { emptyTargetReport } from '../../src/execution/run-report.js';
import { redisKeys } from '../../src/state/redis-keys.js';
import { Harness, person } from '../support/harness.js';
import { REDIS_URL, cleanRedis, inProcessWorkers, prefixedRedis, queueYaml, randomPrefix, waitUntil } from '../support/distributed.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const HOUR = 3_600_000;

/** The key's life left is the whole retention, less the little the test itself took. */
function expectFullLife(ttlMs: number, retentionMs: number): void {
  expect(ttlMs).toBeGreaterThan(retentionMs - 60_000);
  expect(ttlMs).toBeLessThanOrEqual(retentionMs);
}

it('after a cycle the last-cycle record expires failedRetentionHours after it was written, and status reads it gone as no cycle recorded', async () => {
  const prefix = randomPrefix();
  cleanups.push(() => cleanRedis(prefix));
  // Two retentions that differ: the record follows the failed operations', not the plans'.
  const h = await Harness.start({ top: queueYaml(prefix, REDIS_URL, '  retentionHours: 1\n  failedRetentionHours: 2\n') });
  cleanups.push(() => h.close());
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  cleanups.push(() => redis.disconnect());
  const w = await inProcessWorkers(h.configFile);
  cleanups.push(() => w.close());
  h.writePeople([person(1), person(2)]);
  const r = await h.run();
  expect(r.code, r.err + r.out).toBe(0);
  const key = redisKeys(prefix).lastCycle('app');
  await waitUntil(async () => (await redis.exists(key)) === 1, 'the cycle to finish', 20_000);
  expectFullLife(await redis.pttl(key), 2 * HOUR);

  const before = await h.cli('status', '--config', h.configFile);
  expect(before.code, before.err).toBe(0);
  expect(before.out).toContain('  last cycle:');

  // As when the retention has passed.
  await redis.del(key);
  const json = await h.cli('status', '--config', h.configFile, '--json');
  expect(json.code, json.err).toBe(0);
  expect((JSON.parse(json.out) as { targets: { target: string; lastCycle: unknown }[] }).targets).toMatchObject([{ target: 'app', lastCycle: null }]);
  const text = await h.cli('status', '--config', h.configFile);
  expect(text.code, text.err).toBe(0);
  expect(text.out).toContain('  no cycle recorded: none has finished yet, or the last one finished longer ago than queue.failedRetentionHours');
  expect(text.out).not.toContain('last cycle:');
}, 60_000);

it('every write of the last cycle renews its life: a finished cycle, one that lost its lock, one that could not start', async () => {
  const { redis, prefix } = prefixedRedis(cleanups as (() => void)[]);
  const store = new CycleStore(redis, prefix, HOUR, 3 * HOUR);
  const key = redisKeys(prefix).lastCycle('app');
  const meta = (planId: string): PlanMeta => ({ planId, target: 'app', createdAt: new Date().toISOString(), enqueuedAt: new Date().toISOString(), lockToken: 't', phases: [], warnings: [] });
  const none = async () => new Map();

  await store.finish(meta('plan-1'), none);
  expectFullLife(await redis.pttl(key), 3 * HOUR);

  // A cycle that lost its lock, with no newer one recorded, is the last one still (set in a script).
  await redis.pexpire(key, 1000);
  await store.finish(meta('plan-2'), none, { last: false });
  expect((await store.lastCycle('app'))?.planId).toBe('plan-2');
  expectFullLife(await redis.pttl(key), 3 * HOUR);

  // The scheduler's record of a cycle that could not start (source unreadable, safety stop).
  await redis.pexpire(key, 1000);
  const now = new Date().toISOString();
  await store.setLastCycle({ planId: 'plan-3', target: 'app', enqueuedAt: now, finishedAt: now, report: emptyTargetReport('app'), warnings: [], error: 'source unreadable' });
  expectFullLife(await redis.pttl(key), 3 * HOUR);

  await redis.del(key);
  expect(await store.lastCycle('app')).toBeNull();
});

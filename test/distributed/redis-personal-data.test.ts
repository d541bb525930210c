/**
 * What distributed mode keeps in Redis of people and credentials (real Redis): never a credential's
 * text in a stored plan (refused as a saved plan file is), warnings and errors stored redacted, and
 * chunk jobs that name their operations' place in the stored plan and hold none of their values,
 * failed ones kept for a bounded time and number.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { Secret } from '../../src/config/secret.js';
import { CycleStore, StoredPhases } from '../../src/execution/bullmq/cycle-store.js';
import { FAILED_CHUNKS_KEPT } from '../../src/execution/bullmq/queue-layout.js';
import type { Plan, TargetPlan } from '../../src/model/plan.js';
import { redisKeys, targetQueueName } from '../../src/state/redis-keys.js';
import { Harness, TOKEN, person } from '../support/harness.js';
import { REDIS_URL, cleanRedis, inProcessWorkers, prefixedRedis, queueYaml, randomPrefix, waitUntil } from '../support/distributed.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function distributedHarness(extra = '') {
  const prefix = randomPrefix();
  cleanups.push(() => cleanRedis(prefix));
  const h = await Harness.start({ top: queueYaml(prefix, REDIS_URL, extra) });
  cleanups.push(() => h.close());
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  cleanups.push(() => redis.disconnect());
  return { h, prefix, redis };
}

it("a plan whose operation would write a credential's text is neither stored in Redis nor enqueued, as plan --out refuses to save it", async () => {
  const { h, prefix, redis } = await distributedHarness();
  // The target's token is also a word in someone's record (a pasted secret, a coincidence).
  h.writePeople([person(1), person(2, { title: `Engineer ${TOKEN}` })]);
  const r = await h.run();
  expect(r.code, r.out).toBe(2);
  expect(r.err).toContain(
    'the plan is not stored in Redis for target app: a value one of its operations would write contains the text of a credential scim-sync holds',
  );
  expect(r.err).not.toContain(TOKEN);
  expect(await redis.keys(`${prefix}:state:plan:*`)).toEqual([]);
  expect(await redis.keys(`${prefix}:control:*`)).toEqual([]);
  // The target's lock is not left behind.
  expect(await redis.exists(redisKeys(prefix).lock('app'))).toBe(0);
  expect(h.sandbox.store.users()).toEqual([]);
}, 60_000);

it("a stored plan's warnings and error are redacted: a server's error text may quote a credential", async () => {
  const { redis, prefix } = prefixedRedis(cleanups as (() => void)[]);
  const secret = new Secret('s3cr3t-pass-4f1e9a7c', 'test credential');
  const store = new CycleStore(redis, prefix, 60_000);
  const tp: TargetPlan = { target: 'app', managedUsers: 0, actualUsers: 0, phases: [], warnings: [`proxy said: bad password ${secret.reveal()}`], error: `HTTP 401: you sent ${secret.reveal()}` };
  const plan = { id: 'plan-1', createdAt: new Date().toISOString(), binding: { targets: {} }, targets: [tp] } as unknown as Plan;
  const { meta } = await store.savePlan(plan, tp, StoredPhases.of(tp, 64), 'token-1', { recreateAllowance: 0 });
  const stored = (await redis.hget(redisKeys(prefix).plan('plan-1', 'app'), 'meta'))!;
  expect(stored).not.toContain(secret.reveal());
  expect(JSON.parse(stored)).toMatchObject({ warnings: ['proxy said: bad password [redacted]'], error: 'HTTP 401: you sent [redacted]' });
  expect(meta.error).toBe('HTTP 401: you sent [redacted]');
});

it("a chunk job names its operations' place in the stored plan and holds none of their values; failed, it is kept at most queue.failedRetentionHours, the newest 1000", async () => {
  const { h, prefix, redis } = await distributedHarness('  failedRetentionHours: 48\n');
  h.writePeople([person(1), person(2)]);
  expect((await h.run()).code).toBe(0);
  // Control jobs only: the phase is fed to the target's queue, where its chunk waits.
  const w = await inProcessWorkers(h.configFile, 'control-only', []);
  cleanups.push(() => w.close());
  const queue = new Queue(targetQueueName('app'), { connection: redis, prefix });
  cleanups.push(() => queue.close());
  await waitUntil(async () => (await queue.getWaitingCount()) > 0, 'the chunk to be enqueued', 20_000);
  const [chunk] = await queue.getWaiting();
  expect(chunk!.data).toMatchObject({ phase: 0, first: 0, count: 2 });
  const data = JSON.stringify(chunk!.data);
  for (const value of ['user1@example.com', 'user2@example.com', 'First1', 'Last2', 'E1001']) expect(data).not.toContain(value);
  // The values are in the stored plan alone, which expires after retentionHours.
  const [plan] = await redis.keys(`${prefix}:state:plan:*`);
  expect(JSON.stringify(await redis.hgetall(plan!))).toContain('user1@example.com');
  expect(chunk!.opts.removeOnFail).toEqual({ age: 48 * 3600, count: FAILED_CHUNKS_KEPT });
  expect(FAILED_CHUNKS_KEPT).toBe(1000);
}, 60_000);

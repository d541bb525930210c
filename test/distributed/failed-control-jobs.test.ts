/**
 * Control jobs that fail for good (Redis refusing writes for longer than their 10 attempts: out of
 * memory, a failover) and a feed whose cycle lost its lock (real Redis). The control jobs run the
 * real processor; a job made to fail is discarded and fails once, as its tenth attempt would.
 * What the cycle could not do must be failed operations that `status` lists and `retry` re-plans
 * in a cycle of its own, and `retry` must not resume a cycle that no longer holds its lock.
 */
import { FlowProducer, Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { NO_AUDIT } from '../../src/audit/audit-sink.js';
import { loadConfig } from '../../src/config/load.js';
import { CycleStore } from '../../src/execution/bullmq/cycle-store.js';
import { LockKeeper } from '../../src/execution/bullmq/lock-keeper.js';
import { controlProcessor } from '../../src/execution/bullmq/phase-jobs.js';
import { feedJobId, type PhaseJobData } from '../../src/execution/bullmq/queue-layout.js';
import { StopTracker } from '../../src/execution/bullmq/stop-tracker.js';
import type { WorkerContext } from '../../src/execution/bullmq/worker-context.js';
import { CONTROL_QUEUE, redisKeys, targetQueueName } from '../../src/state/redis-keys.js';
import { Harness, person, TOKEN } from '../support/harness.js';
import { REDIS_URL, cleanRedis, inProcessWorkers, queueYaml, randomPrefix, waitUntil } from '../support/distributed.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Status {
  counts: Record<string, number>;
  failed: { externalId: string; planId: string; reason: string }[];
  lastCycle: { planId: string } | null;
}

/**
 * A distributed harness with 5 people, their cycle enqueued by `run` (no worker yet), and a control
 * worker running the real processor through `around` (which may fail a job, or act before it).
 */
async function enqueuedCycle(around: (job: Job<PhaseJobData>, real: (job: Job<PhaseJobData>) => Promise<unknown>, ctx: { redis: Redis; prefix: string }) => Promise<unknown>, extra = '') {
  const prefix = randomPrefix();
  cleanups.push(() => cleanRedis(prefix));
  const h = await Harness.start({ top: queueYaml(prefix, REDIS_URL, extra) });
  cleanups.push(() => h.close());
  h.writePeople(Array.from({ length: 5 }, (_, i) => person(i + 1)));
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  cleanups.push(() => redis.disconnect());
  const r = await h.run();
  expect(r.code, r.err).toBe(0);
  const planId = /Plan (plan-[0-9a-f-]+)/.exec(r.out)![1]!;

  process.env['TEST_SCIM_TOKEN'] = TOKEN;
  const loaded = loadConfig(h.configFile);
  const q = loaded.config.queue!;
  const connection = { connection: redis, prefix };
  const store = CycleStore.of(redis, q);
  const stops = new StopTracker(store);
  const queues = new Map<string, Queue>();
  const ctx = {
    loaded,
    q,
    redis,
    keys: redisKeys(prefix),
    store,
    audit: NO_AUDIT,
    log: () => undefined,
    locks: new LockKeeper(redis, prefix, q.cycleLockMs, store, stops),
    stops,
    control: new Queue(CONTROL_QUEUE, connection),
    flows: new FlowProducer(connection),
    queueOf: (t: string) => queues.get(t) ?? (queues.set(t, new Queue(targetQueueName(t), connection)), queues.get(t)!),
  } as unknown as WorkerContext;
  const real = controlProcessor(ctx);
  const worker = new Worker<PhaseJobData>(CONTROL_QUEUE, (job) => around(job, real, { redis, prefix }), connection);
  const stop = async () => {
    await worker.close();
    await Promise.all([ctx.control.close(), ctx.flows.close(), ...[...queues.values()].map((x) => x.close())]);
  };
  cleanups.push(stop);
  const status = async (): Promise<Status> => JSON.parse((await h.cli('status', '--config', h.configFile, '--json')).out).targets[0];
  return { h, redis, prefix, planId, store, stop, status };
}

const failForGood = (job: Job): never => {
  job.discard();
  throw new Error('OOM command not allowed when used memory > maxmemory');
};

it('a feed job failed for good: its operations are failed operations that status lists and retry creates, the finished cycle not resumed', async () => {
  const { h, planId, store, stop, status } = await enqueuedCycle((job, real) => (job.name === 'feed' ? failForGood(job) : real(job)));
  await waitUntil(async () => (await store.report(planId, 'app')) !== null, 'the cycle report', 20_000);
  await stop();
  expect((await store.report(planId, 'app'))!.report.failures.map((f) => f.message)).toEqual(Array(5).fill('no worker recorded an outcome'));

  const before = await status();
  expect(before.counts['failed']).toBe(5);
  expect(before.failed.map((f) => `${f.externalId} ${f.planId} ${f.reason}`).sort()).toEqual(
    [1, 2, 3, 4, 5].map((n) => `E100${n} ${planId} [WORKER] no worker recorded an outcome`),
  );

  const retried = await h.cli('retry', '--config', h.configFile);
  expect(retried.code, retried.err).toBe(0);
  expect(retried.out).toMatch(/^app: 5 failed operations re-queued as cycle plan-retry-[0-9a-f-]+, in phase order$/m);
  expect(retried.out).toContain(
    `app: 1 failed control job of cycle ${planId} removed, not resumed (the cycle no longer holds the target's lock, so its workers would send nothing); the cycle had finished: its operations without an outcome were failed operations already`,
  );
  const w = await inProcessWorkers(h.configFile);
  cleanups.push(() => w.close());
  await waitUntil(() => h.sandbox.store.users().length === 5, 'the retry cycle to create the 5 people', 20_000);
  expect(h.sandbox.store.users().map((u) => u['externalId']).sort()).toEqual(['E1001', 'E1002', 'E1003', 'E1004', 'E1005']);
  await waitUntil(async () => (await status()).lastCycle?.planId?.startsWith('plan-retry-') ?? false, 'the retry cycle to finish', 20_000);
  const after = await status();
  expect(after.counts['failed']).toBe(0);
  expect(after.failed).toEqual([]);
}, 90_000);

it('a phase job failed for good leaves a cycle without a report: retry closes it and re-plans its operations, under its own lock', async () => {
  const { h, redis, prefix, planId, store, stop, status } = await enqueuedCycle((job, real) => (job.name === 'phase' ? failForGood(job) : real(job)), '  cycleLockMs: 1000\n');
  await waitUntil(async () => (await redis.exists(redisKeys(prefix).lock('app'))) === 0, "the stuck cycle's lock to expire", 20_000);
  await stop();
  expect(await store.report(planId, 'app')).toBeNull();

  const retried = await h.cli('retry', '--config', h.configFile);
  expect(retried.code, retried.err).toBe(0);
  expect(retried.out).toMatch(/^app: 5 failed operations re-queued as cycle plan-retry-[0-9a-f-]+, in phase order$/m);
  expect(retried.out).toContain(
    `app: 1 failed control job of cycle ${planId} removed, not resumed (the cycle no longer holds the target's lock, so its workers would send nothing); the cycle is closed instead: its 5 operations without an outcome are failed operations, re-queued above`,
  );
  // The old cycle is reported as stopped, not as the target's last cycle.
  const closed = (await store.report(planId, 'app'))!;
  expect(closed.report.stopKind).toBe('lock-lost');
  expect(closed.report.failures).toHaveLength(5);
  const w = await inProcessWorkers(h.configFile);
  cleanups.push(() => w.close());
  await waitUntil(() => h.sandbox.store.users().length === 5, 'the retry cycle to create the 5 people', 20_000);
  await waitUntil(async () => (await status()).lastCycle?.planId?.startsWith('plan-retry-') ?? false, 'the retry cycle to finish', 20_000);
  expect((await status()).counts['failed']).toBe(0);
  // Nothing of the old cycle is left to resume.
  expect(await new Queue(CONTROL_QUEUE, { connection: redis, prefix }).getFailedCount()).toBe(0);
}, 90_000);

it("a feed whose cycle lost its lock puts nothing on the queue: the phase's operations are skipped there, with why", async () => {
  const { h, redis, prefix, planId, store, stop } = await enqueuedCycle(async (job, real) => {
    // Another cycle holds the target's lock by the time the feed runs (unlock --force and a new run).
    if (job.name === 'feed') await redis.set(redisKeys(prefix).lock('app'), 'run-another-cycle', 'PX', 60_000);
    return real(job);
  });
  const control = new Queue(CONTROL_QUEUE, { connection: redis, prefix });
  const queue = new Queue(targetQueueName('app'), { connection: redis, prefix });
  cleanups.push(() => Promise.all([control.close(), queue.close()]));
  await waitUntil(async () => (await control.getJobState(feedJobId(planId, 'app', 0))) === 'completed', 'the feed job to end', 20_000);
  expect(await queue.getJobCountByTypes('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized')).toBe(0);
  await waitUntil(async () => (await store.report(planId, 'app')) !== null, 'the cycle report', 20_000);
  await stop();
  const outcomes = Object.values(await redis.hgetall(redisKeys(prefix).outcomes(planId, 'app'))).map((v) => JSON.parse(v).outcome);
  expect(outcomes).toEqual(Array(5).fill('skipped'));
  const cycle = (await store.report(planId, 'app'))!;
  expect(cycle.report.stopKind).toBe('lock-lost');
  expect(h.sandbox.store.users()).toEqual([]);
}, 60_000);

/**
 * Redis restarted mid-cycle (a private redis-server with an append-only file, never the shared one):
 * the workers and the waiting `run --wait` reconnect by themselves and the cycle finishes, every user
 * created once.
 */
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { Harness, person } from '../support/harness.js';
import { PrivateRedis, WorkerProcess, queueYaml, randomPrefix, waitUntil } from '../support/distributed.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('workers reconnect after a Redis restart mid-cycle and finish it', async () => {
  const redis = await PrivateRedis.start();
  cleanups.push(() => redis.close());
  const h = await Harness.start({ top: queueYaml(randomPrefix(), redis.url) });
  cleanups.push(() => h.close());
  h.writePeople(Array.from({ length: 1500 }, (_, i) => person(i + 1)));
  const workers = [new WorkerProcess(h.configFile, 'r1'), new WorkerProcess(h.configFile, 'r2')];
  cleanups.push(() => Promise.all(workers.map((w) => w.stop())));
  await Promise.all(workers.map((w) => w.ready()));

  const run = h.run('--wait');
  await waitUntil(() => h.sandbox.store.users().length >= 300, 'a fifth of the users to be created', 60_000);
  await redis.down();
  const during = h.sandbox.store.users().length;
  await redis.restart();
  const r = await run;
  expect(r.code, r.err + r.out).toBe(0);
  expect(r.out).toContain('Total: 1500 ok, 0 failed, 0 skipped');
  const users = h.sandbox.store.users();
  expect(users).toHaveLength(1500);
  expect(new Set(users.map((u) => u['userName'])).size).toBe(1500);
  // It really was mid-cycle, and the workers noticed.
  expect(during).toBeLessThan(1500);
  // A warning in the log (its message: the JSON record read by WorkerProcess).
  expect(workers.some((w) => w.lines.some((l) => /^Redis 127\.0\.0\.1:\d+: /.test(l)))).toBe(true);
  // Still converged: a second cycle sends nothing.
  h.sandbox.clearRequests();
  expect((await h.run('--wait')).code).toBe(0);
  expect(h.writes()).toEqual([]);
}, 120_000);

it('run --wait after a Redis without persistence restarted mid-cycle: exit 1, the cycle named as gone, not a wait forever', async () => {
  const redis = await PrivateRedis.start({ persistent: false });
  cleanups.push(() => redis.close());
  const prefix = randomPrefix();
  const h = await Harness.start({ top: queueYaml(prefix, redis.url) });
  cleanups.push(() => h.close());
  h.writePeople(Array.from({ length: 20 }, (_, i) => person(i + 1)));
  const probe = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  cleanups.push(async () => probe.disconnect());
  // No worker: the cycle waits on the queue until Redis forgets it.
  const run = h.run('--wait');
  await waitUntil(async () => (await probe.keys(`${prefix}:state:plan:*`)).length > 0, 'the cycle to be enqueued');
  probe.disconnect();
  await redis.restart();
  const r = await run;
  expect(r.code, r.err + r.out).toBe(1);
  expect(r.out).toContain("the cycle's data is gone from Redis (restarted without persistence, or evicted): no worker can finish it");
  expect(h.writes()).toEqual([]);
}, 60_000);

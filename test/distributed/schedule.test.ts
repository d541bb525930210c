/**
 * `scim-sync schedule`: cycles on the config's cron expression through a BullMQ job scheduler, each
 * started after a jitter, skipping a target whose previous cycle still holds its lock.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { SCHEDULE_QUEUE } from '../../src/state/redis-keys.js';
import { Harness, person } from '../support/harness.js';
import { REDIS_URL, WorkerProcess, cleanRedis, queueYaml, randomPrefix, waitUntil } from '../support/distributed.js';

let h: Harness;
let prefix: string;
let redis: Redis;
const processes: WorkerProcess[] = [];

beforeEach(async () => {
  prefix = randomPrefix();
  // Every second (cron with a seconds field), each cycle after up to 300 ms of jitter.
  h = await Harness.start({ top: `${queueYaml(prefix)}schedule:\n  cron: "* * * * * *"\n  jitterMs: 300\n` });
  h.writePeople(Array.from({ length: 20 }, (_, i) => person(i + 1)));
  redis = new Redis(REDIS_URL);
});
afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop()));
  redis.disconnect();
  await h.close();
  await cleanRedis(prefix);
});

async function start(command: 'worker' | 'schedule', name: string): Promise<WorkerProcess> {
  const p = new WorkerProcess(h.configFile, name, command);
  processes.push(p);
  await p.ready();
  return p;
}

it('runs cycles on the cron expression, with jitter, until the target converges', async () => {
  await start('worker', 'sw');
  const scheduler = await start('schedule', 'sched');
  expect(scheduler.lines[0]).toMatch(/scheduler sched ready: cron "\* \* \* \* \* \*", jitter up to 300 ms; next cycle \d{4}-/);
  await waitUntil(() => h.sandbox.store.users().length === 20, 'the first scheduled cycle to create everyone');
  // Later ticks find nothing to do.
  await scheduler.waitForLine(/enqueued plan-cycle-\S+ \(0 operations\) for app/);
  expect(h.sandbox.store.users()).toHaveLength(20);
  const status = await h.cli('status', '--config', h.configFile);
  expect(status.out).toMatch(/Schedule: cron "\* \* \* \* \* \*", next tick \d{4}-/);
  expect(status.out).toContain('last cycle:');
  // Each cycle started after a delay within the jitter.
  const queue = new Queue(SCHEDULE_QUEUE, { connection: redis, prefix });
  try {
    const cycles = (await queue.getCompleted(0, -1)).filter((j) => j.name === 'cycle');
    expect(cycles.length).toBeGreaterThanOrEqual(2);
    for (const c of cycles) {
      expect(c.id).toMatch(/^cycle-repeat-cycle-\d+$/);
      expect(c.opts.delay).toBeLessThanOrEqual(300);
    }
    expect(new Set(cycles.map((c) => c.opts.delay)).size).toBeGreaterThan(1);
  } finally {
    await queue.close();
  }
});

it('skips a target whose previous cycle still holds its lock', async () => {
  await redis.set(`${prefix}:state:lock:app`, 'run-elsewhere-1-abcd', 'PX', 60_000);
  await start('worker', 'sw');
  const scheduler = await start('schedule', 'sched');
  await scheduler.waitForLine(/target app skipped: its previous cycle still runs \(run-elsewhere-1-abcd\)/);
  expect(h.sandbox.requests).toEqual([]);
  await redis.del(`${prefix}:state:lock:app`);
  await waitUntil(() => h.sandbox.store.users().length === 20, 'a cycle once the lock is free');
});

/**
 * A cycle whose target lock expired, or was taken by another cycle, writes nothing more, against a
 * real Redis and the sandbox: its operations are skipped with why, and its report does not replace
 * the newer cycle's as the target's last one.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOCK_LOST } from '../../src/execution/bullmq/lock-keeper.js';
import type { CycleReport } from '../../src/execution/bullmq/cycle-store.js';
import { redisKeys, targetQueueName } from '../../src/state/redis-keys.js';
import { CliProcess } from '../support/cli-process.js';
import { Harness, person, type RunResult } from '../support/harness.js';
import { REDIS_URL, cleanRedis, inProcessWorkers, queueYaml, randomPrefix, waitUntil } from '../support/distributed.js';

let h: Harness;
let prefix: string;
let redis: Redis;
const people = Array.from({ length: 5 }, (_, i) => person(i + 1));
const workers: { close(): Promise<void> }[] = [];

beforeEach(async () => {
  prefix = randomPrefix();
  // A short cycle lock, so that a cycle whose workers are away loses it within the test.
  h = await Harness.start({ top: queueYaml(prefix, REDIS_URL, '  cycleLockMs: 1500\n') });
  h.writePeople(people);
  redis = new Redis(REDIS_URL);
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
  redis.disconnect();
  await h.close();
  await cleanRedis(prefix);
});

const keys = () => redisKeys(prefix);
const planIdOf = (r: RunResult) => (JSON.parse(r.out) as { plan: { id: string } }).plan.id;
const lastCycle = async () => JSON.parse((await redis.get(keys().lastCycle('app')))!) as CycleReport;
const startWorkers = async (targets?: string[]) => {
  const w = await inProcessWorkers(h.configFile, 'test-worker', targets);
  workers.push(w);
  return w;
};

/** The first cycle, through a worker that is closed after it: the sandbox holds the five people. */
async function synced(): Promise<string> {
  const w = await startWorkers();
  const first = await h.run('--wait', '--json');
  expect(first.code, first.err).toBe(0);
  await w.close();
  workers.splice(workers.indexOf(w), 1);
  h.sandbox.clearRequests();
  return planIdOf(first);
}

async function oldReport(planId: string): Promise<CycleReport> {
  await waitUntil(async () => (await redis.exists(keys().report(planId, 'app'))) === 1, "the old cycle's report");
  return JSON.parse((await redis.get(keys().report(planId, 'app')))!) as CycleReport;
}

function expectSkippedForTheLock(planId: string, report: CycleReport): void {
  expect(report.report.stopped).toBe(LOCK_LOST);
  expect(report.report.counts.deprovisionUser).toMatchObject({ ok: 0, skipped: 1 });
  const ops = h.audit().filter((e) => e['planId'] === planId && typeof e['changeId'] === 'string');
  expect(ops.map((e) => [e['action'], e['outcome'], e['note']])).toEqual([['deprovisionUser', 'skipped', LOCK_LOST]]);
  expect(h.writes()).toEqual([]);
  expect(h.sandbox.store.users().find((u) => u.externalId === 'E1005')?.active).toBe(true);
}

describe("a cycle that lost its target's lock", () => {
  it('expired while the workers were down: a newer cycle planned no changes; the old deactivation is skipped, and the newer cycle stays the last', async () => {
    await synced();
    h.writePeople(people.map((p, i) => (i === 4 ? { ...p, status: 'terminated' } : p)));
    const old = await h.run('--json');
    expect(old.code, old.err).toBe(0);
    const oldId = planIdOf(old);
    await waitUntil(async () => (await redis.exists(keys().lock('app'))) === 0, 'the cycle lock to expire', 10_000);
    // The source is fixed; the next run takes the lock and has nothing to do.
    h.writePeople(people);
    const newer = await h.run('--json');
    expect(newer.code, newer.err).toBe(0);
    const newerId = planIdOf(newer);
    expect((await lastCycle()).planId).toBe(newerId);

    await startWorkers();
    expectSkippedForTheLock(oldId, await oldReport(oldId));
    expect((await lastCycle()).planId).toBe(newerId);
  });

  it("held by another cycle by the time its chunks run: they skip every operation, the other cycle's lock stays, and status shows the stop", async () => {
    const firstId = await synced();
    h.writePeople(people.map((p, i) => (i === 4 ? { ...p, status: 'terminated' } : p)));
    const old = await h.run('--json');
    expect(old.code, old.err).toBe(0);
    const oldId = planIdOf(old);
    // Control jobs only: the deprovision phase is fed onto the target's queue, and no one runs it yet.
    await startWorkers([]);
    const queue = new Queue(targetQueueName('app'), { connection: redis, prefix });
    try {
      await waitUntil(async () => (await queue.getWaitingCount()) === 1, "the deactivation's chunk on the queue");
    } finally {
      await queue.close();
    }
    await redis.set(keys().lock('app'), 'run-elsewhere-4242-0badcafe', 'PX', 60_000);

    await startWorkers();
    expectSkippedForTheLock(oldId, await oldReport(oldId));
    // No newer cycle has finished: status shows this one, stopped for its lock, not the one before it.
    expect(firstId).not.toBe(oldId);
    expect(await lastCycle()).toMatchObject({ planId: oldId, report: { stopped: LOCK_LOST } });
    expect(await redis.get(keys().lock('app'))).toBe('run-elsewhere-4242-0badcafe');
  });

  it('taken by another cycle while its workers are busy: they start nothing more within about a second, not for a tenth of queue.cycleLockMs', async () => {
    // The default cycle lock (ten minutes), one operation at a time, each create taking 50 ms.
    writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('  cycleLockMs: 1500\n', '').replace('concurrency: 4', 'concurrency: 1'));
    expect(readFileSync(h.configFile, 'utf8')).not.toContain('cycleLockMs');
    h.writePeople(Array.from({ length: 120 }, (_, i) => person(i + 1)));
    h.sandbox.addFault({ method: 'POST', path: '/Users', times: Infinity, action: { type: 'delay', ms: 50 } });
    await startWorkers();
    const run = h.run('--wait', '--json');
    await waitUntil(() => h.sandbox.store.users().length >= 10, 'the cycle to be under way', 20_000);
    // Another cycle holds the lock now (unlock --force then a new run, or a Redis that lost the key).
    await redis.set(keys().lock('app'), 'run-otherhost-1-deadbeef', 'PX', 600_000);
    const at = h.sandbox.store.users().length;
    const r = await run;
    const after = h.sandbox.store.users().length;
    // A second of creates at most (20 of 50 ms), and those in flight; before, the cycle went on to the end (110 more).
    expect(after - at).toBeLessThan(30);
    const report = (JSON.parse(r.out) as { report: { targets: { stopped?: string; counts: Record<string, Record<string, number>> }[] } }).report.targets[0]!;
    expect(report.stopped).toBe(LOCK_LOST);
    expect(report.counts['createUser']).toMatchObject({ ok: after, skipped: 120 - after });
    expect(await redis.get(keys().lock('app'))).toBe('run-otherhost-1-deadbeef');
  });

  it('unlock without --force refuses while the workers have not finished the cycle holding the lock (jobs queued, or a plan without a report); --force removes it', async () => {
    // A lock that outlives the steps below whatever the machine's speed.
    writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('cycleLockMs: 1500', 'cycleLockMs: 600000'));
    await synced();
    h.writePeople(people.map((p, i) => (i === 4 ? { ...p, status: 'terminated' } : p)));
    // The planner as a process of its own: it hands its lock to the cycle and exits, as in production.
    const planner = await new CliProcess(['run', '--config', h.configFile, '--json']).exited;
    expect(planner.code, planner.err).toBe(0);
    const planId = (JSON.parse(planner.out) as { plan: { id: string } }).plan.id;
    const token = (await redis.get(keys().lock('app')))!;
    expect(token).toMatch(/^run-/);

    const refused = await h.cli('unlock', '--config', h.configFile);
    expect(refused.code).toBe(4);
    expect(refused.err).toContain(`error: target app is locked by ${token}`);
    expect(refused.err).toMatch(new RegExp(`the workers have not finished its cycle ${planId} \\(\\d+ of its jobs still queued; scim-sync status shows it\\)`));
    expect(refused.err).toContain(`scim-sync unlock --config ${h.configFile} --force`);
    expect(await redis.get(keys().lock('app'))).toBe(token);
    // With its jobs gone from the queue (not yet added, or lost), its stored plan without a report still says so.
    const jobs = await redis.keys(`${prefix}:control:*`);
    await redis.del(...jobs);
    const planOnly = await h.cli('unlock', '--config', h.configFile);
    expect(planOnly.code).toBe(4);
    expect(planOnly.err).toContain(`the workers have not finished its cycle ${planId} (its plan stored without a report; scim-sync status shows it)`);
    expect(await redis.get(keys().lock('app'))).toBe(token);

    const forced = await h.cli('unlock', '--config', h.configFile, '--force');
    expect(forced.code, forced.err).toBe(0);
    expect(forced.out).toContain(`Removed: target app is locked by ${token}`);
    expect(await redis.get(keys().lock('app'))).toBeNull();
    // The cycle's jobs are gone: its end is the workers' part no more; the lock was the point.
    expect(h.writes()).toEqual([]);
  });
});

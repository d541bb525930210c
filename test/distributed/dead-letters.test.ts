/**
 * Dead letters (real Redis, workers in this process): one per operation however many cycles it
 * fails in, the latest; cleared by a later cycle that does it; none kept past
 * queue.failedRetentionHours.
 */
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { CycleStore } from '../../src/execution/bullmq/cycle-store.js';
import { DeadLetters, deadLetterKey, type DeadLetter } from '../../src/execution/bullmq/dead-letters.js';
import type { Operation } from '../../src/model/plan.js';
import { redisKeys } from '../../src/state/redis-keys.js';
import { Harness, person } from '../support/harness.js';
import { REDIS_URL, cleanRedis, inProcessWorkers, prefixedRedis, queueYaml, randomPrefix } from '../support/distributed.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface StatusFailed {
  externalId: string;
  planId: string;
  reason: string;
}

it('a person refused every cycle is one failed operation, the latest; a later cycle that creates them clears it', async () => {
  const prefix = randomPrefix();
  cleanups.push(() => cleanRedis(prefix));
  const h = await Harness.start({ top: queueYaml(prefix) });
  cleanups.push(() => h.close());
  h.writePeople([person(1), person(2)]);
  const w = await inProcessWorkers(h.configFile);
  cleanups.push(() => w.close());
  h.sandbox.addFault({ method: 'POST', path: '/Users', times: Infinity, action: { type: 'status', status: 400, detail: 'phone number +1 555 0100 is invalid' } });
  const plans: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await h.run('--wait');
    expect(r.code, r.err).toBe(1);
    plans.push(/Plan (plan-[0-9a-f-]+)/.exec(r.out)![1]!);
  }
  const status = async () => JSON.parse((await h.cli('status', '--config', h.configFile, '--json')).out).targets[0] as { counts: { failed: number }; failed: StatusFailed[] };
  const after3 = await status();
  expect(after3.counts.failed).toBe(2);
  expect(after3.failed.map((f) => `${f.externalId} ${f.planId}`).sort()).toEqual([`E1001 ${plans[2]}`, `E1002 ${plans[2]}`]);
  // Redis holds two entries, not six: each person's latest failure.
  const keys = redisKeys(prefix);
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  cleanups.push(() => redis.disconnect());
  expect(await redis.hlen(keys.deadLetters('app'))).toBe(2);
  expect(await redis.zcard(keys.deadLetterOrder('app'))).toBe(2);
  expect(await redis.pttl(keys.deadLetters('app'))).toBeGreaterThan(0);

  // The server accepts them now: the next cycle creates them, and nothing is listed as failed.
  h.sandbox.clearFaults();
  expect((await h.run('--wait')).code).toBe(0);
  expect(h.sandbox.store.users().map((u) => u['externalId']).sort()).toEqual(['E1001', 'E1002']);
  const after = await status();
  expect(after.counts.failed).toBe(0);
  expect(after.failed).toEqual([]);
  expect(await redis.exists(keys.deadLetters('app'), keys.deadLetterOrder('app'), keys.deadLetterIndex('app'))).toBe(0);
}, 90_000);

const op = (id: string, over: Partial<Operation> = {}): Operation =>
  ({ id, kind: 'createUser', externalId: 'E1', label: 'e1', resource: { userName: 'e1' }, hash: 'h', adoptBy: null, ...over }) as Operation;
const deprovision = (id: string, scimId: string): Operation => ({ id, kind: 'deprovisionUser', externalId: 'E2', label: 'e2', scimId, mode: 'deactivate', reason: 'removed' });
const members = (id: string, add: string[]): Operation => ({ id, kind: 'patchGroupMembers', externalId: 'G1', label: 'g1', scimId: 'g', add, remove: [] });

const letter = (planId: string, o: Operation, at: number): { dead: DeadLetter } => ({
  dead: { id: `${planId}_p0_0_1/${o.id}`, key: deadLetterKey(o), planId, op: o, attempts: 1, at: new Date(at).toISOString(), reason: `refused in ${planId}` },
});

it('the newer failure stands: an older one recorded later does not replace it, nor does an older success clear it', async () => {
  const { redis, prefix } = prefixedRedis(cleanups as (() => void)[]);
  const store = new CycleStore(redis, prefix, 60_000, 3_600_000);
  const letters = new DeadLetters(redis, prefix, 3_600_000);
  const now = Date.now();
  const create = op('op-1');
  await store.recordOutcomes('plan-b', 'app', [], [], [letter('plan-b', create, now - 1_000)]);
  // An earlier cycle's worker, late: its failure is older.
  await store.recordOutcomes('plan-a', 'app', [], [], [letter('plan-a', create, now - 5_000)]);
  expect((await letters.list('app')).map((l) => l.planId)).toEqual(['plan-b']);
  await store.recordOutcomes('plan-a', 'app', [], [], [{ done: deadLetterKey(create), at: now - 4_000 }]);
  expect((await letters.list('app')).map((l) => l.planId)).toEqual(['plan-b']);
  // Another account of the same person, and each part of a group's membership change, are their own.
  const other = deprovision('op-2', 's-2');
  const otherAccount = deprovision('op-3', 's-3');
  const part1 = members('op-4', ['E1', 'E2']);
  const part2 = members('op-5', ['E3']);
  await store.recordOutcomes('plan-c', 'app', [], [], [other, otherAccount, part1, part2].map((o) => letter('plan-c', o, now)));
  expect(await letters.count('app')).toBe(5);
  // A later success clears its own identity only.
  await store.recordOutcomes('plan-d', 'app', [], [], [{ done: deadLetterKey(part1), at: now + 1_000 }, { done: deadLetterKey(create), at: now + 1_000 }]);
  expect((await letters.list('app')).map((l) => l.op.id).sort()).toEqual(['op-2', 'op-3', 'op-5']);
});

it('failed operations older than queue.failedRetentionHours are not listed and go at the next write; the keys expire with them', async () => {
  const { redis, prefix } = prefixedRedis(cleanups as (() => void)[]);
  const hour = 3_600_000;
  const store = new CycleStore(redis, prefix, 60_000, hour);
  const letters = new DeadLetters(redis, prefix, hour);
  const keys = redisKeys(prefix);
  const now = Date.now();
  const old = op('op-1', { externalId: 'E-old' });
  // Written by an earlier version: no identity, no expiry.
  await redis.hset(keys.deadLetters('app'), 'old-job/op-1', JSON.stringify({ id: 'old-job/op-1', planId: 'plan-0', op: old, attempts: 1, at: new Date(now - 2 * hour).toISOString(), reason: 'refused' }));
  await redis.zadd(keys.deadLetterOrder('app'), now - 2 * hour, 'old-job/op-1');
  expect(await letters.count('app')).toBe(0);
  expect(await letters.list('app')).toEqual([]);
  await store.recordOutcomes('plan-1', 'app', [], [], [letter('plan-1', op('op-2', { externalId: 'E-new' }), now)]);
  expect(await redis.hkeys(keys.deadLetters('app'))).toEqual(['plan-1_p0_0_1/op-2']);
  expect(await redis.zcard(keys.deadLetterOrder('app'))).toBe(1);
  for (const key of [keys.deadLetters('app'), keys.deadLetterOrder('app'), keys.deadLetterIndex('app')]) {
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(hour);
  }
});

/**
 * A plan read back from Redis is checked against the plan schema, as a saved plan file is (real
 * Redis): a damaged phase, or part of one, fails as a StateError naming it and the first bad path,
 * before a worker sends any operation of it. A phase is stored in parts and read a range at a time:
 * only the parts that hold the range are read.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/secret.js';
import { StateError } from '../../src/errors.js';
import { CycleStore, StoredPhases, type PlanMeta } from '../../src/execution/bullmq/cycle-store.js';
import type { Operation, Plan, TargetPlan } from '../../src/model/plan.js';
import { redisKeys } from '../../src/state/redis-keys.js';
import { REDIS_URL, cleanRedis, randomPrefix } from '../support/distributed.js';

const prefix = randomPrefix();
const redis = new Redis(REDIS_URL);
afterAll(async () => {
  redis.disconnect();
  await cleanRedis(prefix);
});

const op = { id: 'op-1', externalId: 'E1', label: 'user1@example.com', kind: 'deprovisionUser', scimId: 's1', mode: 'deactivate', reason: 'removed' };
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as Error);

describe('a phase stored whole (by an earlier version)', () => {
  const store = new CycleStore(redis, prefix, 60_000);
  const key = redisKeys(prefix).plan('plan-1', 'app');
  const meta = { planId: 'plan-1', target: 'app', phases: [{ name: 'users', operations: 1 }, { name: 'users', operations: 1 }] } as PlanMeta;

  it('a well-formed phase reads as its operations', async () => {
    await redis.hset(key, 'phase:0', JSON.stringify([op]));
    expect(await store.phaseOperations(meta, 0)).toEqual([op]);
  });

  it.each([
    [[{ ...op, kind: 'wipeEverything' }], '[0].kind'],
    [[{ ...op, mode: 'erase' }], '[0].mode'],
    [{ operations: [op] }, ''],
  ])('a damaged phase is a StateError naming it and where (%j)', async (value, path) => {
    await redis.hset(key, 'phase:1', JSON.stringify(value));
    const error = await failure(store.phaseOperations(meta, 1));
    expect(error).toBeInstanceOf(StateError);
    expect(error!.message).toMatch(new RegExp(`^phase 1 of plan plan-1 for app in Redis is damaged \\(not a phase's operations${path ? `: ${path.replace(/[[\]]/g, '\\$&')}: ` : '\\)'}`));
  });
});

describe('a phase stored in parts', () => {
  const store = new CycleStore(redis, prefix, 60_000);
  /** Operations per part (the planner stores one chunk's in each: queue-layout.ts chunkSize). */
  const PHASE_PART_OPS = 100;
  // Two and a half parts.
  const n = PHASE_PART_OPS * 2 + PHASE_PART_OPS / 2;
  const ops = Array.from({ length: n }, (_, i) => ({ ...op, id: `op-${i}`, externalId: `E${i}`, scimId: `s${i}` })) as Operation[];
  let seq = 0;
  async function saved(): Promise<{ meta: PlanMeta; key: string }> {
    const id = `plan-parts-${++seq}`;
    const tp = { target: 'app', managedUsers: n, actualUsers: n, phases: [{ name: 'deprovision', operations: ops }], warnings: [] } as unknown as TargetPlan;
    const plan = { id, createdAt: new Date().toISOString(), binding: { targets: {} }, targets: [tp] } as unknown as Plan;
    const { stored, meta } = await store.savePlan(plan, tp, StoredPhases.of(tp, PHASE_PART_OPS), 'token-1', { recreateAllowance: 0 });
    expect(stored).toBe(true);
    return { meta, key: redisKeys(prefix).plan(id, 'app') };
  }

  it('is kept in parts of the size asked for, and reads back whole or by any range', async () => {
    const { meta, key } = await saved();
    expect(meta.partOps).toBe(PHASE_PART_OPS);
    expect((await redis.hkeys(key)).sort()).toEqual(['meta', 'phase:0:0', 'phase:0:1', 'phase:0:2']);
    expect(await store.phaseOperations(meta, 0)).toEqual(ops);
    for (const [first, count] of [[0, 1], [PHASE_PART_OPS - 10, 20], [0, n], [PHASE_PART_OPS, PHASE_PART_OPS], [n - 5, 64], [n, 10]] as const) {
      expect(await store.phaseOperations(meta, 0, { first, count })).toEqual(ops.slice(first, first + count));
    }
  });

  it('a range is read from its own parts only, and a damaged part fails every range it holds, naming its operations and where', async () => {
    const { meta, key } = await saved();
    await redis.hset(key, 'phase:0:2', JSON.stringify(ops.slice(PHASE_PART_OPS * 2).map((o, i) => (i === 3 ? { ...o, kind: 'wipeEverything' } : o))));
    expect(await store.phaseOperations(meta, 0, { first: 0, count: PHASE_PART_OPS * 2 })).toEqual(ops.slice(0, PHASE_PART_OPS * 2));
    for (const range of [{ first: PHASE_PART_OPS * 2 - 1, count: 2 }, undefined]) {
      const error = await failure(store.phaseOperations(meta, 0, range));
      expect(error).toBeInstanceOf(StateError);
      expect(error!.message).toMatch(
        new RegExp(`^operations ${PHASE_PART_OPS * 2 + 1} to ${n} of phase 0 of plan ${meta.planId} for app in Redis is damaged \\(not a phase's operations: \\[3\\]\\.kind: `),
      );
    }
  });

  it('a part holding more or fewer operations than its place says is damaged: the operations after it would shift', async () => {
    const { meta, key } = await saved();
    await redis.hset(key, 'phase:0:1', JSON.stringify(ops.slice(PHASE_PART_OPS, PHASE_PART_OPS * 2 - 1)));
    const error = await failure(store.phaseOperations(meta, 0, { first: PHASE_PART_OPS * 2 - 1, count: 1 }));
    expect(error).toBeInstanceOf(StateError);
    expect(error!.message).toContain(`operations ${PHASE_PART_OPS + 1} to ${PHASE_PART_OPS * 2} of phase 0 of plan ${meta.planId} for app in Redis is damaged (${PHASE_PART_OPS - 1} operations instead of ${PHASE_PART_OPS})`);
  });

  it('a part gone is said missing, with the retention that explains it', async () => {
    const { meta, key } = await saved();
    await redis.hdel(key, 'phase:0:0');
    const error = await failure(store.phaseOperations(meta, 0, { first: 5, count: 1 }));
    expect(error).toBeInstanceOf(StateError);
    expect(error!.message).toBe(`operations 1 to ${PHASE_PART_OPS} of phase 0 of plan ${meta.planId} for app is missing from Redis (expired after queue.retentionHours, or Redis lost its data)`);
  });

  it("a chunk's operations are its part of the stored plan, or those it holds (a job of an earlier version)", async () => {
    const { meta } = await saved();
    const cycle = { planId: meta.planId, target: 'app', lockToken: 'token-1', phase: 0 };
    expect(await store.chunkOperations({ ...cycle, first: PHASE_PART_OPS, count: PHASE_PART_OPS, part: 1 })).toEqual(ops.slice(PHASE_PART_OPS, PHASE_PART_OPS * 2));
    expect(await store.chunkOperations({ ...cycle, first: PHASE_PART_OPS * 2, count: PHASE_PART_OPS / 2, part: 2 })).toEqual(ops.slice(PHASE_PART_OPS * 2));
    expect(await store.chunkOperations({ ...cycle, ops: [op as Operation] })).toEqual([op]);
    // A part of another length than the chunk says: damaged (its operations would not be the chunk's).
    const short = await failure(store.chunkOperations({ ...cycle, first: PHASE_PART_OPS * 2, count: PHASE_PART_OPS, part: 2 }));
    expect(short).toBeInstanceOf(StateError);
    expect(short!.message).toContain(`operations ${PHASE_PART_OPS * 2 + 1} to ${PHASE_PART_OPS * 3} of phase 0 of plan ${meta.planId} for app in Redis is damaged (${PHASE_PART_OPS / 2} operations instead of ${PHASE_PART_OPS})`);
    const gone = await failure(store.chunkOperations({ ...cycle, planId: 'plan-never-stored', first: 0, count: 1, part: 0 }));
    expect(gone).toBeInstanceOf(StateError);
    expect(gone!.message).toBe('operations 1 to 1 of phase 0 of plan plan-never-stored for app is missing from Redis (expired after queue.retentionHours, or Redis lost its data)');
  });

  it('the first enqueue of a plan id wins: enqueued again, nothing of it is written over', async () => {
    const { meta, key } = await saved();
    const other = { target: 'app', managedUsers: 1, actualUsers: 1, phases: [{ name: 'deprovision', operations: [{ ...op, id: 'other' }] }], warnings: [] } as unknown as TargetPlan;
    const plan = { id: meta.planId, createdAt: new Date().toISOString(), binding: { targets: {} }, targets: [other] } as unknown as Plan;
    const again = await store.savePlan(plan, other, StoredPhases.of(other, PHASE_PART_OPS), 'token-2', { recreateAllowance: 0 });
    expect(again).toEqual({ stored: false, meta });
    expect(await redis.hget(key, 'phase:0:0')).toBe(JSON.stringify(ops.slice(0, PHASE_PART_OPS)));
  });
});

describe("a phase that holds a credential's text is not stored", () => {
  // Characters JSON escapes, and one long enough for a run of it to count (config/secret.ts).
  const secret = new Secret('pa"ss\\word/9f8e7d6c5b4a3210', 'test credential');
  const tpWith = (value: string) =>
    ({ target: 'app', managedUsers: 1, actualUsers: 1, phases: [{ name: 'users', operations: [{ ...op, label: 'ok' }, { ...op, id: 'op-2', label: value }] }], warnings: [] }) as unknown as TargetPlan;

  it.each([
    ['whole', `note: ${secret.reveal()}`],
    ['in another case', `note: ${secret.reveal().toUpperCase()}`],
    ['a long run of it', `echo ${secret.reveal().slice(8, 24)} end`],
  ])('refused when a value holds it %s, whatever JSON makes of its characters', (_, value) => {
    expect(() => StoredPhases.of(tpWith(value), 64)).toThrow(/^the plan is not stored in Redis for target app: a value one of its operations would write contains the text of a credential/);
  });

  it('stored when none does, short runs of it included', () => {
    expect(StoredPhases.of(tpWith(`pa"ss and 9f8e7d`), 64).fields).toHaveLength(2);
  });
});

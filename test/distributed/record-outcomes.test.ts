/**
 * A chunk's outcomes, link changes and dead letters go to Redis in one call (real Redis): the link
 * changes land as if made one after another, whichever hashes and fields they touch. The same call
 * checks that the cycle still holds its target's lock, and renews it.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { CycleStore } from '../../src/execution/bullmq/cycle-store.js';
import { redisKeys } from '../../src/state/redis-keys.js';
import { REDIS_URL, cleanRedis, randomPrefix } from '../support/distributed.js';

const prefix = randomPrefix();
const redis = new Redis(REDIS_URL);
afterAll(async () => {
  redis.disconnect();
  await cleanRedis(prefix);
});

describe('recordOutcomes', () => {
  const store = new CycleStore(redis, prefix, 60_000);
  const keys = redisKeys(prefix);
  const users = keys.links('app', 'user');
  const groups = keys.links('app', 'group');

  it('writes outcomes, dead letters and the last value of each changed link, in one call', async () => {
    const failedAt = Date.now() - 1000;
    await redis.hset(users, 'kept', 'old', 'dropped', 'old', 'replaced', 'old');
    await store.recordOutcomes(
      'plan-1',
      'app',
      [
        ['op-1', { kind: 'createUser', outcome: 'ok' }],
        ['op-2', { kind: 'updateUser', outcome: 'unchanged' }],
      ],
      [
        { key: users, field: 'new', value: 'v1' },
        { key: users, field: 'dropped', value: null },
        // An attempt dropped a stale link, its retry made a new one: the new one stays.
        { key: users, field: 'replaced', value: null },
        { key: users, field: 'replaced', value: 'v2' },
        // Made, then found stale and dropped: gone.
        { key: users, field: 'new', value: null },
        { key: users, field: 'new', value: 'v3' },
        { key: users, field: 'new', value: null },
        { key: groups, field: 'g1', value: 'gv' },
      ],
      [{ dead: { id: 'job/op-3', planId: 'plan-1', op: { id: 'op-3', kind: 'deleteGroup', externalId: 'G3', label: 'g3', scimId: 's3' } as never, attempts: 1, at: new Date(failedAt).toISOString(), reason: 'refused' } }],
    );
    expect(await redis.hgetall(users)).toEqual({ kept: 'old', replaced: 'v2' });
    expect(await redis.hgetall(groups)).toEqual({ g1: 'gv' });
    expect(await store.recorded('plan-1', 'app', ['op-1', 'op-2', 'op-3'])).toEqual(new Set(['op-1', 'op-2']));
    expect(JSON.parse((await redis.hget(keys.outcomes('plan-1', 'app'), 'op-2'))!)).toEqual({ kind: 'updateUser', outcome: 'unchanged' });
    expect(await redis.pttl(keys.outcomes('plan-1', 'app'))).toBeGreaterThan(0);
    expect(await redis.zrange(keys.deadLetterOrder('app'), 0, -1, 'WITHSCORES')).toEqual(['job/op-3', String(failedAt)]);
    expect(JSON.parse((await redis.hget(keys.deadLetters('app'), 'job/op-3'))!).reason).toBe('refused');
  });

  it('takes link changes without outcomes (an attempt to be retried), and many at once', async () => {
    const many = Array.from({ length: 2500 }, (_, i) => ({ key: users, field: `m${i}`, value: `v${i}` }));
    await store.recordOutcomes('plan-2', 'app', [], many);
    expect(await redis.hlen(users)).toBe(2 + 2500);
    expect(await redis.hget(users, 'm2499')).toBe('v2499');
    expect(await redis.exists(keys.outcomes('plan-2', 'app'))).toBe(0);
  });

  it("with the cycle's lock: renews it while the cycle holds it, and says when another holds it, recording what was done all the same", async () => {
    const lock = keys.lock('locked');
    await redis.set(lock, 'run-here-1-aaaaaaaa', 'PX', 1000);
    const ours = { token: 'run-here-1-aaaaaaaa', lifeMs: 600_000 };
    const link = { key: keys.links('locked', 'user'), field: 'E1', value: 'v1' };
    expect(await store.recordOutcomes('plan-3', 'locked', [['op-1', { kind: 'createUser', outcome: 'ok' }]], [link], [], ours)).toBe(true);
    expect(await redis.pttl(lock)).toBeGreaterThan(1000);
    expect(await redis.hget(keys.links('locked', 'user'), 'E1')).toBe('v1');

    await redis.set(lock, 'run-elsewhere-2-bbbbbbbb', 'PX', 5000);
    const done = { key: keys.links('locked', 'user'), field: 'E2', value: 'v2' };
    expect(await store.recordOutcomes('plan-3', 'locked', [['op-2', { kind: 'createUser', outcome: 'ok' }]], [done], [], ours)).toBe(false);
    // The create was sent: its outcome and link are kept; the other cycle's lock is left as it was.
    expect(await store.recorded('plan-3', 'locked', ['op-1', 'op-2'])).toEqual(new Set(['op-1', 'op-2']));
    expect(await redis.hget(keys.links('locked', 'user'), 'E2')).toBe('v2');
    expect(await redis.get(lock)).toBe('run-elsewhere-2-bbbbbbbb');
    expect(await redis.pttl(lock)).toBeLessThanOrEqual(5000);
    await redis.del(lock);
    expect(await store.recordOutcomes('plan-3', 'locked', [['op-3', { kind: 'createUser', outcome: 'ok' }]], [], [], ours)).toBe(false);
  });
});

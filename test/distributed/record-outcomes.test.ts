/**
 * A chunk's outcomes, link changes and dead letters go to Redis in one call (real Redis): the link
 * changes land as if made one after another, whichever hashes and fields they touch.
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
});

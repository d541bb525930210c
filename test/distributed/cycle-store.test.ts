/**
 * A plan read back from Redis is checked against the plan schema, as a saved plan file is (real
 * Redis): a damaged phase fails as a StateError naming the phase and the first bad path, before a
 * worker sends anything of it.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { StateError } from '../../src/errors.js';
import { CycleStore } from '../../src/execution/bullmq/cycle-store.js';
import { redisKeys } from '../../src/state/redis-keys.js';
import { REDIS_URL, cleanRedis, randomPrefix } from '../support/distributed.js';

const prefix = randomPrefix();
const redis = new Redis(REDIS_URL);
afterAll(async () => {
  redis.disconnect();
  await cleanRedis(prefix);
});

const op = { id: 'op-1', externalId: 'E1', label: 'user1@example.com', kind: 'deprovisionUser', scimId: 's1', mode: 'deactivate', reason: 'removed' };

describe('plans read back from Redis', () => {
  const store = new CycleStore(redis, prefix, 60_000);
  const key = redisKeys(prefix).plan('plan-1', 'app');

  it('a well-formed phase reads as its operations', async () => {
    await redis.hset(key, 'phase:0', JSON.stringify([op]));
    expect(await store.phaseOperations('plan-1', 'app', 0)).toEqual([op]);
  });

  it.each([
    [[{ ...op, kind: 'wipeEverything' }], '[0].kind'],
    [[{ ...op, mode: 'erase' }], '[0].mode'],
    [{ operations: [op] }, ''],
  ])('a damaged phase is a StateError naming it and where (%j)', async (value, path) => {
    await redis.hset(key, 'phase:1', JSON.stringify(value));
    const error = await store.phaseOperations('plan-1', 'app', 1).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(StateError);
    expect((error as Error).message).toMatch(new RegExp(`^phase 1 of plan plan-1 for app in Redis is damaged \\(not a phase's operations${path ? `: ${path.replace(/[[\]]/g, '\\$&')}: ` : '\\)'}`));
  });
});

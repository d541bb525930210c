/**
 * Taking a staged set is the claim of one decision: of two takers racing (an approve and a reject
 * from two consoles or two machines), one gets the set and the other is told there is none. Both
 * adapters, the state directory's and Redis's.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { PlanError } from '../../src/errors.js';
import type { Plan } from '../../src/model/plan.js';
import { FileStagedStore, RedisStagedStore, type StagedClaim, type StagedStore } from '../../src/state/staged-store.js';
import { REDIS_URL, cleanRedis, randomPrefix } from '../support/distributed.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs('scim-sync-staged-');
const prefix = randomPrefix();
const redis = new Redis(REDIS_URL);
afterAll(async () => {
  redis.disconnect();
  await cleanRedis(prefix);
});

const plan: Plan = {
  format: 'scim-sync-plan',
  version: 2,
  id: 'plan-1',
  createdAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2026-01-02T00:00:00.000Z',
  binding: { source: { type: 'csv', location: 'people.csv', readAt: '2026-01-01T00:00:00.000Z', contentHash: 'c' }, targets: {} },
  config: 'org.yaml',
  source: { description: 'csv people.csv', users: 10, activeUsers: 10, recordsRead: 10, invalidRecords: 0, issues: [] },
  targets: [],
};

describe.each([
  ['the state directory', (): StagedStore => new FileStagedStore(tempDir())],
  ['Redis', (): StagedStore => new RedisStagedStore(redis, prefix)],
])('staged sets in %s', (_, open) => {
  it('two takers racing: one gets the set, the other a PlanError; put back, it is there again as it was', async () => {
    const store = open();
    const set = await store.save(plan, ['5 of 20 managed users would be deprovisioned']);
    const [a, b] = await Promise.allSettled([store.take(set.id), store.take(set.id)]);
    const won = [a, b].filter((r) => r.status === 'fulfilled');
    const lost = [a, b].filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    const claim = (won[0] as PromiseFulfilledResult<StagedClaim>).value;
    expect(claim.set).toEqual(set);
    expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(PlanError);
    expect(String((lost[0] as PromiseRejectedResult).reason.message)).toMatch(new RegExp(`no staged set ${set.id}`));
    expect((await store.list()).map((s) => s.id)).not.toContain(set.id);
    await claim.putBack();
    expect((await store.get(set.id)).set).toEqual(set);
  });

  it('a claim put back with the part left to decide holds that part; one done is gone for good', async () => {
    const store = open();
    const set = await store.save(plan, ['reason']);
    const rest = { ...set, reasons: ['what is left'] };
    await (await store.take(set.id)).putBack(rest);
    expect((await store.get(set.id)).set.reasons).toEqual(['what is left']);
    await (await store.take(set.id)).done();
    expect((await store.list()).map((s) => s.id)).not.toContain(set.id);
    await expect(store.take(set.id)).rejects.toBeInstanceOf(PlanError);
  });
});

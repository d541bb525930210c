/**
 * The record of unfinished first syncs behaves alike in the state directory and in Redis: a begin
 * keeps the first one's time, a completion drops it, and a target never recorded (a state from an
 * earlier version) reads as completed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { FileFirstSyncStore, RedisFirstSyncStore, type FirstSyncStore } from '../../src/state/first-sync-store.js';
import { REDIS_URL, cleanRedis, randomPrefix } from '../support/distributed.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs('scim-sync-first-syncs-');
const prefix = randomPrefix();
const redis = new Redis(REDIS_URL);
afterAll(async () => {
  await cleanRedis(prefix);
  redis.disconnect();
});

const adapters: [string, () => FirstSyncStore][] = [
  ['file', () => new FileFirstSyncStore(tempDir())],
  ['Redis', () => new RedisFirstSyncStore(redis, prefix)],
];

describe.each(adapters)('unfinished first syncs (%s)', (_, open) => {
  it('none recorded reads as none; begin keeps the first begin; complete drops it once', async () => {
    const store = open();
    expect(await store.all()).toEqual(new Map());
    expect(await store.complete('app')).toBe(false);
    const first = { target: 'app', since: '2026-01-01T00:00:00.000Z', planId: 'plan-1', accounts: 200 };
    expect(await store.begin(first)).toBe(true);
    expect(await store.begin({ target: 'app', since: '2026-01-02T00:00:00.000Z', planId: 'plan-2', accounts: 200 })).toBe(false);
    expect(await store.begin({ target: 'hr', since: '2026-01-03T00:00:00.000Z', planId: 'plan-3', accounts: 200 })).toBe(true);
    expect((await store.all()).get('app')).toEqual(first);
    expect(await store.complete('app')).toBe(true);
    expect(await store.complete('app')).toBe(false);
    expect([...(await store.all()).keys()]).toEqual(['hr']);
  });
});

it('the file is first-syncs.json in the state directory, by target', async () => {
  const dir = tempDir();
  await new FileFirstSyncStore(dir).begin({ target: 'app', since: '2026-01-01T00:00:00.000Z', planId: 'plan-1', accounts: 200 });
  expect(JSON.parse(readFileSync(join(dir, 'first-syncs.json'), 'utf8'))).toEqual({ version: 1, targets: { app: { target: 'app', since: '2026-01-01T00:00:00.000Z', planId: 'plan-1', accounts: 200 } } });
});

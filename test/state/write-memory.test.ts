/**
 * Both write memories (learned PATCH shapes, parked changes) keep the same contract: the file one
 * in a temporary state directory, the Redis one on the shared Redis under a prefix of its own.
 * A damaged file is an error that names it, never "nothing learned".
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StateError } from '../../src/errors.js';
import { RedisWriteMemory } from '../../src/state/redis-write-memory.js';
import { FileWriteMemory, parkedChangesFile, type ParkedEntry, type WriteMemory } from '../../src/state/write-memory.js';
import { prefixedRedis } from '../support/distributed.js';

const parked = (key: string, over: Partial<ParkedEntry> = {}): ParkedEntry => ({
  key,
  kind: 'updateUser',
  externalId: 'E1',
  label: 'ann@x.com',
  attribute: 'title',
  reason: 'not kept',
  since: '2026-11-30T00:00:00.000Z',
  runs: 1,
  planId: 'plan-1',
  parked: true,
  ...over,
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const stores: [string, () => { open: () => WriteMemory }][] = [
  [
    'FileWriteMemory',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'scim-sync-memory-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      return { open: () => new FileWriteMemory(dir) };
    },
  ],
  [
    'RedisWriteMemory',
    () => {
      const { redis, prefix } = prefixedRedis(cleanups);
      return { open: () => new RedisWriteMemory(redis, prefix) };
    },
  ],
];

describe.each(stores)('%s', (_name, make) => {
  it('keeps learned shapes and parked changes per target, across instances', async () => {
    const { open } = make();
    const memory = open();
    await memory.learnShape('app', 'urn:x:user:manager', { shape: 'sub-attribute', at: '2026-11-30T00:00:00.000Z', example: 'ann@x.com' });
    await Promise.all([memory.park('app', parked('k1')), memory.park('app', parked('k\n2', { parked: false, runs: 2 })), memory.park('other', parked('k3'))]);
    const again = open();
    expect(await again.shapes('app')).toEqual(new Map([['urn:x:user:manager', { shape: 'sub-attribute', at: '2026-11-30T00:00:00.000Z', example: 'ann@x.com' }]]));
    expect(await again.shapes('other')).toEqual(new Map());
    expect([...(await again.parked('app')).keys()].sort()).toEqual(['k\n2', 'k1']);
    await again.forget('app', ['k1', 'not-there']);
    expect([...(await open().parked('app')).values()]).toEqual([parked('k\n2', { parked: false, runs: 2 })]);
    expect([...(await open().parked('other')).keys()]).toEqual(['k3']);
  });
});

it('a damaged parked-changes file is a StateError naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'scim-sync-memory-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(parkedChangesFile(dir), JSON.stringify({ version: 1, targets: { app: { k: { key: 'k' } } } }));
  await expect(new FileWriteMemory(dir).parked('app')).rejects.toThrow(StateError);
  await expect(new FileWriteMemory(dir).parked('app')).rejects.toThrow(/parked-changes\.json \(target app\) holds a damaged parked change/);
});

/**
 * Both member memories, for tests that hold them to one contract: the file one in a temporary
 * state directory, the Redis one on the shared Redis under a prefix of its own. Each is removed by
 * the cleanups the caller runs after its test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileMemberMemory, type MemberMemory } from '../../src/state/member-memory.js';
import { RedisMemberMemory } from '../../src/state/redis-member-memory.js';
import { prefixedRedis } from './distributed.js';

export type Cleanups = (() => Promise<void> | void)[];

/** `open` gives an instance over the same memory each time; `dir` is the file one's state directory. */
export type MemoryStore = (cleanups: Cleanups) => { open: () => MemberMemory; dir?: string };

export const memberMemories: [string, MemoryStore][] = [
  [
    'FileMemberMemory',
    (cleanups) => {
      const dir = mkdtempSync(join(tmpdir(), 'scim-sync-members-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      return { open: () => new FileMemberMemory(dir), dir };
    },
  ],
  [
    'RedisMemberMemory',
    (cleanups) => {
      const { redis, prefix } = prefixedRedis(cleanups);
      return { open: () => new RedisMemberMemory(redis, prefix) };
    },
  ],
];

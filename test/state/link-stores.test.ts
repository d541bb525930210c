/**
 * Both link stores pass one contract: the file store in a temporary directory, the Redis store on
 * the shared Redis under a prefix of its own, every key of it removed afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { FileLinkStore } from '../../src/state/file-link-store.js';
import { RedisLinkStore } from '../../src/state/redis-link-store.js';
import { cleanRedis, randomPrefix, REDIS_URL } from '../support/distributed.js';
import { linkStoreContract } from './link-store-contract.js';

linkStoreContract('FileLinkStore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scim-sync-links-'));
  return {
    open: () => FileLinkStore.open(dir),
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

linkStoreContract('RedisLinkStore', () => {
  const prefix = randomPrefix();
  // One connection per store, as each worker process has its own; the store does not own it.
  const connections: Redis[] = [];
  return {
    open: async () => {
      const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      connections.push(redis);
      return new RedisLinkStore(redis, prefix);
    },
    dispose: async () => {
      for (const redis of connections) redis.disconnect();
      await cleanRedis(prefix);
    },
  };
});

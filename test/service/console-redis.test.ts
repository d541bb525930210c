/**
 * The console's own Redis connection (the queues page, distributed mode): one that failed to open
 * while Redis was down is not kept, so the page reads the queues again once Redis is back, without
 * a restart of the service.
 */
import { afterEach, expect, it } from 'vitest';
import { Secret } from '../../src/config/secret.js';
import { openOnFirstUse } from '../../src/service/console/lazy-connection.js';
import { connectRedis } from '../../src/state/redis-connection.js';
import { PrivateRedis } from '../support/distributed.js';

let redis: PrivateRedis | undefined;
afterEach(async () => {
  await redis?.close();
});

it('a first connect that failed while Redis was down is tried again on the next use, then kept', async () => {
  redis = await PrivateRedis.start({ persistent: false });
  await redis.down();
  const connection = openOnFirstUse(() => connectRedis(new Secret(redis!.url, 'test'), { connectTimeoutMs: 2_000 }));
  await expect(connection.get()).rejects.toThrow(/cannot reach Redis at 127\.0\.0\.1:\d+/);
  expect(connection.current()).toBeUndefined();
  await redis.restart();
  const client = await connection.get();
  expect(await client.ping()).toBe('PONG');
  expect(await connection.get()).toBe(client);
  client.disconnect();
});

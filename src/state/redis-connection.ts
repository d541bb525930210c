/**
 * The Redis connection of distributed mode. The URL is a Secret (it may hold a password): it is
 * revealed only to ioredis, and its password is registered so redact() scrubs it from any output.
 */
import { Redis } from 'ioredis';
import { Secret } from '../config/secret.js';
import { StateError } from '../errors.js';

/** host:port of a Redis URL, safe to show. */
export function redisAddress(url: Secret): string {
  try {
    const u = new URL(url.reveal());
    return `${u.hostname}:${u.port || '6379'}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
  } catch {
    return '(unparsable Redis URL)';
  }
}

export interface RedisConnectOptions {
  /** How long the first connection may take before the command gives up, ms. Default 10000. */
  connectTimeoutMs?: number;
  /** Told about connection problems after the first connection (reconnects are automatic). */
  onError?: (message: string) => void;
}

/**
 * Connects and waits until Redis answers. Once connected, commands wait across reconnects instead of
 * failing (BullMQ workers need that: `maxRetriesPerRequest: null`), so a Redis restart pauses work
 * rather than losing it.
 */
export async function connectRedis(url: Secret, options: RedisConnectOptions = {}): Promise<Redis> {
  let parsed: URL;
  try {
    parsed = new URL(url.reveal());
  } catch {
    throw new StateError(`queue.redis is not a URL (expected redis://[:password@]host:port[/db])`);
  }
  if (!/^rediss?:$/.test(parsed.protocol)) throw new StateError(`queue.redis must start with redis:// or rediss://, not ${parsed.protocol}//`);
  if (parsed.password) new Secret(decodeURIComponent(parsed.password), 'queue.redis password');
  const address = redisAddress(url);
  const redis = new Redis(url.reveal(), {
    maxRetriesPerRequest: null,
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    // Reconnect quickly at first, then every 2 s at most, forever: Redis restarts are survivable.
    retryStrategy: (times) => Math.min(100 * times, 2_000),
  });
  let last = '';
  const report = (message: string): void => {
    if (message !== last) options.onError?.(`Redis ${address}: ${message}`);
    last = message;
  };
  redis.on('error', (error: Error) => report(error.message));
  // A restart may drop the connection and be back before a reconnect attempt fails: no 'error'
  // then, but the operator should still see the outage, and its end.
  let connected = false;
  redis.on('reconnecting', () => {
    if (connected) report('connection lost; reconnecting');
    connected = false;
  });
  redis.on('ready', () => {
    if (last !== '') options.onError?.(`Redis ${address}: connected again`);
    last = '';
    connected = true;
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    throw new StateError(`cannot reach Redis at ${address}: ${(error as Error).message}`);
  }
  return redis;
}

/**
 * The Redis connection of distributed mode. The URL is a Secret (it may hold a password): it is
 * revealed only to ioredis, and its password is registered so redact() scrubs it from any output.
 */
import { Redis } from 'ioredis';
import { Secret } from '../config/secret.js';
import { StateError } from '../errors.js';
import { redisAddress } from './redis-errors.js';

export interface RedisConnectOptions {
  /** How long the first connection (and its first PING) may take before the command gives up, ms. Default 10000. */
  connectTimeoutMs?: number;
  /** Told about connection problems after the first connection (reconnects are automatic). */
  onError?: (message: string) => void;
  /**
   * A command that ends (run, apply, status, retry...): each Redis command gives up after this
   * long (queue.commandTimeoutMs), or after RECONNECTS_PER_COMMAND failed reconnects, with an error
   * that redisFailure() names. Absent: a process that lives on (worker, schedule, serve), whose
   * commands wait across reconnects for as long as Redis is away.
   */
  commandTimeoutMs?: number;
}

/** Reconnects a short-lived command's Redis command waits through before it fails (about 0.6 s with Redis refusing connections). */
const RECONNECTS_PER_COMMAND = 2;

/**
 * Connects and waits until Redis answers. A long-lived process's commands then wait across
 * reconnects instead of failing (BullMQ workers need that: `maxRetriesPerRequest: null`), so a Redis
 * restart pauses work rather than losing it. A short-lived command's (`commandTimeoutMs`) fail
 * instead: a Redis that went away or stopped answering ends the command with an error that says so,
 * never a command that hangs.
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
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const redis = new Redis(url.reveal(), {
    ...(options.commandTimeoutMs !== undefined ? { maxRetriesPerRequest: RECONNECTS_PER_COMMAND, commandTimeout: options.commandTimeoutMs } : { maxRetriesPerRequest: null }),
    lazyConnect: true,
    connectTimeout: connectTimeoutMs,
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
  let timer: NodeJS.Timeout | undefined;
  try {
    // A Redis that accepts the connection but does not answer (paused, overloaded) fails here too.
    const silent = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer to PING within ${connectTimeoutMs / 1000} s`)), connectTimeoutMs);
    });
    await Promise.race([redis.connect().then(() => redis.ping()), silent]);
  } catch (error) {
    redis.disconnect();
    throw new StateError(`cannot reach Redis at ${address}: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
  return redis;
}

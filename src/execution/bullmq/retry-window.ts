/**
 * A retry inside a chunk is a request BullMQ's limiter did not count (it counts chunks as it lets
 * them through): on a rate-limited target, it first takes a place in the limiter's window as a chunk
 * does, waiting for the next window when this one is full. One Redis call per retry, never on a
 * first attempt.
 */
import type { Redis } from 'ioredis';
import { sleepUnlessAborted } from '../abortable-sleep.js';

// KEYS: the queue's limiter key. ARGV: places per window, window ms. Returns 0 (taken) or the ms
// left of a full window. Counting past the maximum changes nothing: the window is full either way.
const TAKE_PLACE = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n <= tonumber(ARGV[1]) then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then return ttl end
return 1`;

export async function takeWindowPlace(redis: Redis, limiterKey: string, limiter: { max: number; duration: number }, signal: AbortSignal): Promise<void> {
  for (;;) {
    const wait = (await redis.eval(TAKE_PLACE, 1, limiterKey, String(limiter.max), String(limiter.duration))) as number;
    if (wait === 0 || signal.aborted) return;
    await sleepUnlessAborted(wait, signal);
  }
}

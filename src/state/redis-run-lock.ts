/**
 * One cycle per target at a time, in distributed mode. A target's lock is a Redis key holding a
 * random token (SET NX PX): whoever holds the token may renew it (compare-and-pexpire) or release it
 * (compare-and-delete), so a lock that expired and was taken by someone else is never touched.
 *
 * The process that plans takes the locks and renews them while it runs (short TTL: a crashed planner
 * frees its targets within HELD_TTL_MS). Once a target's plan is enqueued, its lock is handed off to
 * the cycle: it then lives `queue.cycleLockMs`, workers renew it as they process the cycle's jobs,
 * and the cycle's last job releases it.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { LockedError } from '../errors.js';
import { redisKeys } from './redis-keys.js';
import { processExists } from './holder.js';

/** TTL of a lock held by a live process, ms; renewed every third of it. */
export const HELD_TTL_MS = 30_000;

// Re-entrant for the same token, so a retried scheduler job (same token) takes its own lock again.
const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0`;
const EXTEND = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

const tokenHost = () => hostname().replace(/[^A-Za-z0-9.-]/g, '');

/** A token saying who took a lock, for `status` and error messages; unique per acquisition. */
export function newLockToken(kind: string): string {
  return `${kind}-${tokenHost()}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** The host and pid in a token from newLockToken; null for other tokens (a scheduled cycle's). */
export function lockTokenHolder(token: string): { host: string; pid: number } | null {
  const m = /^[a-z]+-(.+)-(\d+)-[0-9a-f]{8}$/.exec(token);
  return m ? { host: m[1]!, pid: Number(m[2]) } : null;
}

/** Whether `token` names a process on this host that still exists. */
export function lockTokenAlive(token: string): boolean {
  const holder = lockTokenHolder(token);
  return holder !== null && holder.host === tokenHost() && processExists(holder.pid);
}

export async function extendLock(redis: Redis, prefix: string, target: string, token: string, ttlMs: number): Promise<boolean> {
  return (await redis.eval(EXTEND, 1, redisKeys(prefix).lock(target), token, String(ttlMs))) === 1;
}

export async function releaseLock(redis: Redis, prefix: string, target: string, token: string): Promise<boolean> {
  return (await redis.eval(RELEASE, 1, redisKeys(prefix).lock(target), token)) === 1;
}

export async function readLock(redis: Redis, prefix: string, target: string): Promise<{ token: string; ttlMs: number } | null> {
  const key = redisKeys(prefix).lock(target);
  const [token, ttl] = await Promise.all([redis.get(key), redis.pttl(key)]);
  return token === null ? null : { token, ttlMs: ttl };
}

export interface TargetLocks {
  readonly token: string;
  /** Targets whose lock this holds. */
  readonly targets: readonly string[];
  /** Stop renewing `target`'s lock here and let it live `ttlMs`: the enqueued cycle owns it now. */
  handOff(target: string, ttlMs: number): Promise<void>;
  /** Release every lock not handed off. */
  release(): Promise<void>;
}

export interface Busy {
  target: string;
  holder: string;
  ttlMs: number;
}

/**
 * Lock each target. `skipBusy`: lock what is free and report the rest (the scheduler); otherwise a
 * busy target releases everything taken and throws LockedError (run/apply, like embedded mode).
 */
export async function acquireTargetLocks(
  redis: Redis,
  prefix: string,
  targets: readonly string[],
  options: { token?: string; skipBusy?: boolean } = {},
): Promise<{ locks: TargetLocks; busy: Busy[] }> {
  const token = options.token ?? newLockToken('run');
  const held = new Set<string>();
  const busy: Busy[] = [];
  const releaseAll = async () => {
    const names = [...held];
    held.clear();
    await Promise.all(names.map((t) => releaseLock(redis, prefix, t, token)));
  };
  for (const target of targets) {
    if ((await redis.eval(ACQUIRE, 1, redisKeys(prefix).lock(target), token, String(HELD_TTL_MS))) === 1) {
      held.add(target);
      continue;
    }
    const current = await readLock(redis, prefix, target);
    busy.push({ target, holder: current?.token ?? '(released meanwhile)', ttlMs: current?.ttlMs ?? 0 });
  }
  if (busy.length > 0 && !options.skipBusy) {
    await releaseAll();
    throw new LockedError(
      busy.map((b) => `target ${b.target} is locked by another cycle (${b.holder}, expires in ${Math.ceil(b.ttlMs / 1000)} s unless renewed)`).join('; '),
    );
  }
  const timer = setInterval(() => {
    for (const target of held) extendLock(redis, prefix, target, token, HELD_TTL_MS).catch(() => undefined);
  }, HELD_TTL_MS / 3);
  timer.unref();
  const lockedTargets = [...held];
  return {
    busy,
    locks: {
      token,
      targets: lockedTargets,
      handOff: async (target, ttlMs) => {
        if (!held.delete(target)) return;
        await extendLock(redis, prefix, target, token, ttlMs);
      },
      release: async () => {
        clearInterval(timer);
        await releaseAll();
      },
    },
  };
}

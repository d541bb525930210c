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
import { ourPidSpace, pidSpaceDigest, processExists } from './holder.js';

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

/**
 * A token saying who took a lock, for `status`, error messages and `unlock`; unique per acquisition:
 * `run-<host>-<pid>.<PID space digest>-<random>`. The digest (holder.ts's pidSpaceDigest) says where
 * that pid means something: a hostname alone does not (cloned VMs, containers with a fixed hostname
 * or host networking share one).
 */
export function newLockToken(kind: string): string {
  return `${kind}-${tokenHost()}-${process.pid}.${pidSpaceDigest(ourPidSpace())}-${randomBytes(4).toString('hex')}`;
}

/**
 * The host, pid and PID space digest in a token from newLockToken; without `space` for a token from
 * a version before it named one (`run-<host>-<pid>-<random>`); null for other tokens (a scheduled
 * cycle's). The pid is followed by a dot only in the new form (by a dash in the old), so the forms are
 * read apart from the end, whatever dashes and dots the host holds.
 */
export function lockTokenHolder(token: string): { host: string; pid: number; space?: string } | null {
  const m = /^[a-z]+-(.+)-(\d+)(?:\.([0-9a-f]{8}))?-[0-9a-f]{8}$/.exec(token);
  if (!m) return null;
  return { host: m[1]!, pid: Number(m[2]), ...(m[3] ? { space: m[3] } : {}) };
}

/**
 * Whether the process that took a lock still runs, as far as this process can tell: its pid is looked
 * at only when the token names this host and this PID space (as holder.ts looks at a holder's).
 * 'unknown' for a holder anywhere else, and for a token that names no PID space (an older version's:
 * its pid may be a twin host's, so it is not taken for one of ours) or no process (a scheduled
 * cycle's, taken in whichever worker ran the schedule).
 */
export function lockTokenAlive(token: string): 'alive' | 'dead' | 'unknown' {
  const holder = lockTokenHolder(token);
  if (!holder || holder.host !== tokenHost() || holder.space !== pidSpaceDigest(ourPidSpace())) return 'unknown';
  return processExists(holder.pid) ? 'alive' : 'dead';
}

/**
 * What a lock's remaining TTL (PTTL) says of its renewal, where its holder cannot be looked at:
 * - 'renewed': the process that took it may be renewing it. It renews every third of HELD_TTL_MS, so
 *   it keeps the TTL above two thirds of HELD_TTL_MS; anything above a third leaves room for a late
 *   renewal (a stalled event loop, a slow Redis).
 * - 'lapsed': a third of HELD_TTL_MS or less, so two renewals in a row missed, or no TTL at all (set by
 *   hand): no process is keeping it.
 * - 'handed-off': more than HELD_TTL_MS, which its taker never sets while it holds: it was handed to its
 *   cycle (queue.cycleLockMs), and whether that cycle is finished is what counts, not its taker. A
 *   queue.cycleLockMs of HELD_TTL_MS or less reads as 'renewed' or 'lapsed' instead: the cautious side.
 */
export function lockRenewal(ttlMs: number): 'renewed' | 'lapsed' | 'handed-off' {
  if (ttlMs > HELD_TTL_MS) return 'handed-off';
  return ttlMs > HELD_TTL_MS / 3 ? 'renewed' : 'lapsed';
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

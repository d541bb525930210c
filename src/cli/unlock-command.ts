/**
 * `scim-sync unlock`: shows who holds the run lock of the state directory (distributed mode: each
 * target's lock in Redis) and removes it. A holder that still runs on this host is left alone unless
 * --force (its pid may have been reused by another program). The state directory's holder on another
 * host cannot be checked, so the operator's word is enough. In distributed mode a target's lock is
 * left alone unless --force:
 * - while its taker's pid runs in this PID space (lockTokenAlive);
 * - while its taker cannot be looked at from here (another host, or a twin with this hostname and
 *   another PID space, or a token that does not say) and its TTL shows it may be renewed
 *   (lockRenewal): a live planner anywhere keeps it so, one that stopped lets it lapse within
 *   HELD_TTL_MS, and a lock already handed to its cycle is judged by the cycle, below;
 * - while the workers have not finished the cycle holding it (jobs still queued, or its stored plan
 *   without a report): its planner exited when it handed the cycle over, so its pid says nothing.
 */
import type { Redis } from 'ioredis';
import type { LoadedConfig } from '../config/load.js';
import { selectTargets } from '../config/select-targets.js';
import { unfinishedCycle } from '../execution/bullmq/lock-cycle.js';
import { connectRedis } from '../state/redis-connection.js';
import { redisStep } from '../state/redis-errors.js';
import { lockRenewal, lockTokenAlive, readLock, releaseLock } from '../state/redis-run-lock.js';
import { describeHolder, readRunLock, removeRunLock } from '../state/run-lock.js';
import { load } from './load-config.js';
import { EXIT } from './exit-codes.js';
import type { Io } from './io.js';

interface UnlockOptions {
  config: string;
  force?: boolean;
}

function refuse(io: Io, what: string, opts: UnlockOptions, unless = 'If that pid is not scim-sync', running = 'which is still running'): number {
  io.err(`error: ${what}, ${running}; wait for it, or stop it.`);
  io.err(`${unless}, remove the lock with: scim-sync unlock --config ${opts.config} --force`);
  return EXIT.NOT_RUN;
}

export async function unlockCommand(opts: UnlockOptions, io: Io): Promise<number> {
  const loaded = load(opts.config, io);
  if (loaded.config.queue) return unlockTargets(loaded, opts, io);
  for (;;) {
    const info = await readRunLock(loaded.stateDir);
    if (!info) {
      io.out(`No run lock in ${loaded.stateDir}.`);
      return EXIT.OK;
    }
    if (info.alive && !opts.force) return refuse(io, `${info.file} is held by ${describeHolder(info)}`, opts);
    if ((await removeRunLock(info)) === 'removed') {
      io.out(`Removed ${info.file}, held by ${describeHolder(info)}.`);
      return EXIT.OK;
    }
  }
}

/** Distributed mode: every enabled target's lock, removed only if it still holds the token shown. */
async function unlockTargets(loaded: LoadedConfig, opts: UnlockOptions, io: Io): Promise<number> {
  const q = loaded.config.queue!;
  const redis = await connectRedis(q.redis, { onError: (m) => io.err(`warning: ${m}`), commandTimeoutMs: q.commandTimeoutMs });
  try {
    return await redisStep(q.redis, 'reading and releasing the cycle locks', () => unlockEach(loaded, redis, opts, io));
  } finally {
    redis.disconnect();
  }
}

async function unlockEach(loaded: LoadedConfig, redis: Redis, opts: UnlockOptions, io: Io): Promise<number> {
  const q = loaded.config.queue!;
  let found = 0;
  // Each target on its own: one whose lock is still in use is refused, the others are still freed.
  let refused = false;
  for (const [target] of selectTargets(loaded)) {
    const lock = await readLock(redis, q.prefix, target);
    if (!lock) continue;
    found++;
    const what = `target ${target} is locked by ${lock.token} (expires in ${Math.ceil(lock.ttlMs / 1000)} s unless renewed)`;
    const holder = opts.force ? null : lockTokenAlive(lock.token);
    if (holder === 'alive') {
      refuse(io, what, opts);
      refused = true;
      continue;
    }
    if (holder === 'unknown' && lockRenewal(lock.ttlMs) === 'renewed') {
      refuse(
        io,
        what,
        opts,
        `If its taker is gone, and another cycle cannot wait the ${Math.ceil(lock.ttlMs / 1000)} s the lock takes to lapse by itself`,
        "whose taker cannot be looked at from here (another host, or this host's name in another PID space) and may still be renewing it",
      );
      refused = true;
      continue;
    }
    const cycle = opts.force ? null : await unfinishedCycle(redis, q.prefix, target, lock.token);
    if (cycle) {
      const state = cycle.jobs > 0 ? `${cycle.jobs} of its jobs still queued` : 'its plan stored without a report';
      refuse(
        io,
        `${what}: the workers have not finished its cycle ${cycle.planId} (${state}; scim-sync status shows it)`,
        opts,
        'If no worker will ever finish it (its workers gone for good), and another cycle must run now',
      );
      refused = true;
      continue;
    }
    const removed = await releaseLock(redis, q.prefix, target, lock.token);
    io.out(
      removed
        ? `Removed: ${what}. A cycle the workers still ran with it writes nothing more: its operations left are skipped (scim-sync status shows it).`
        : `Released meanwhile: ${what}.`,
    );
  }
  if (found === 0) io.out('No target is locked.');
  return refused ? EXIT.NOT_RUN : EXIT.OK;
}

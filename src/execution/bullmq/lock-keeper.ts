/**
 * Keeps a cycle's target lock alive while its jobs run, and says whether the cycle still holds it.
 * Every job renews it, but Redis is asked at most every tenth of the lock's life per target and token
 * (a phase job forces a renewal, being rare and possibly long after the last operation): a renewal
 * that succeeded at t keeps the lock this cycle's until t + its life, so "held" is trusted until a
 * tenth of that has passed.
 *
 * A renewal that fails means the lock expired (the cycle waited longer than queue.cycleLockMs, its
 * workers down) or another cycle holds it now: this cycle must write nothing more, or an old cycle's
 * decision (a deactivation the source has since taken back) would land after a newer cycle's. The
 * keeper then stops the target for the cycle (the stop record every worker heeds), once, so that
 * every operation not yet run is skipped with why; a lock lost is lost for good.
 */
import type { Redis } from 'ioredis';
import { extendLock } from '../../state/redis-run-lock.js';
import type { CycleStore } from './cycle-store.js';
import type { StopTracker } from './stop-tracker.js';

/** The reason an operation of a cycle that lost its lock is skipped with. */
export const LOCK_LOST =
  "stopped: the cycle's lock expired or another cycle holds it (no progress for queue.cycleLockMs, or scim-sync unlock --force): " +
  'nothing more of this cycle is sent; a newer cycle plans the work afresh';

/** Locks remembered before the memory is cleared (a worker lives through many cycles). */
const REMEMBERED = 1000;

export class LockKeeper {
  /** Per target and token: when last asked, and the answer (a promise while Redis is asked). */
  private readonly renewed = new Map<string, { at: number; held: boolean | Promise<boolean> }>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** The cycle lock's life, ms (queue.cycleLockMs). */
    private readonly lockMs: number,
    private readonly store: CycleStore,
    private readonly stops: StopTracker,
  ) {}

  /**
   * Whether the cycle `planId` still holds the target's lock (renewing it); a value at once when
   * renewed recently or known lost (no promise per operation). When it does not, the target is
   * stopped for the cycle with LOCK_LOST before this answers.
   */
  keep(planId: string, target: string, token: string, force = false): boolean | Promise<boolean> {
    const key = `${target}\n${token}`;
    const now = Date.now();
    const known = this.renewed.get(key);
    if (known && (known.held === false || (!force && now - known.at < this.lockMs / 10))) return known.held;
    if (this.renewed.size >= REMEMBERED) this.renewed.clear();
    const entry: { at: number; held: boolean | Promise<boolean> } = { at: now, held: true };
    entry.held = extendLock(this.redis, this.prefix, target, token, this.lockMs).then(
      async (held) => {
        if (!held) this.stops.remember(planId, target, (await this.store.stop(planId, target, { kind: 'lock-lost', reason: LOCK_LOST })).reason);
        entry.held = held;
        return held;
      },
      (error: unknown) => {
        // Not an answer: the next call asks again.
        if (this.renewed.get(key) === entry) this.renewed.delete(key);
        throw error;
      },
    );
    this.renewed.set(key, entry);
    return entry.held;
  }
}

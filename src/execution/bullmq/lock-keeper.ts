/**
 * Keeps a cycle's target lock alive while its jobs run, and says whether the cycle still holds it.
 * Every job renews it, but Redis is asked at most every LOCK_RECHECK_MS per target and token (a phase
 * job forces a renewal, being rare and possibly long after the last operation), and each write of a
 * chunk's outcomes checks and renews it in the same call (OutcomeLock): a busy cycle keeps its lock
 * with no call of its own.
 *
 * A renewal that fails means the lock expired (the cycle waited longer than queue.cycleLockMs, its
 * workers down) or another cycle holds it now (`unlock --force` and a new run, a Redis that lost the
 * key): this cycle must write nothing more, or an old cycle's decision (a deactivation the source has
 * since taken back) would land after a newer cycle's. A renewal keeps the lock from expiring for its
 * whole life, but not from being taken, so "held" is trusted only briefly: an operation starts at most
 * LOCK_RECHECK_MS (plus what is in flight) after the lock changed hands. The keeper then stops the
 * target for the cycle (the stop record every worker heeds), once, so that every operation not yet
 * run is skipped with why; a lock lost is lost for good.
 */
import type { Redis } from 'ioredis';
import { extendLock } from '../../state/redis-run-lock.js';
import type { OutcomeLock } from './chunk-outcomes.js';
import type { CycleStore } from './cycle-store.js';
import type { StopTracker } from './stop-tracker.js';

/** The reason an operation of a cycle that lost its lock is skipped with. */
export const LOCK_LOST =
  "stopped: the cycle's lock expired or another cycle holds it (no progress for queue.cycleLockMs, or scim-sync unlock --force): " +
  'nothing more of this cycle is sent; a newer cycle plans the work afresh';

/**
 * How long a renewal (or a write that found the lock held) is trusted before the next operation asks
 * Redis again, ms: at most one call a second per target and worker while operations start, whatever
 * the lock's life. A tenth of queue.cycleLockMs when that is shorter.
 */
const LOCK_RECHECK_MS = 1_000;

/** Locks remembered before the memory is cleared (a worker lives through many cycles). */
const REMEMBERED = 1000;

interface Renewal {
  at: number;
  held: boolean | Promise<boolean>;
}

export class LockKeeper {
  /** Per target and token: when last asked, and the answer (a promise while Redis is asked). */
  private readonly renewed = new Map<string, Renewal>();
  private readonly trustMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** The cycle lock's life, ms (queue.cycleLockMs). */
    private readonly lockMs: number,
    private readonly store: CycleStore,
    private readonly stops: StopTracker,
  ) {
    this.trustMs = Math.min(LOCK_RECHECK_MS, lockMs / 10);
  }

  /**
   * Whether the cycle `planId` still holds the target's lock (renewing it); a value at once when
   * renewed recently or known lost (no promise per operation). When it does not, the target is
   * stopped for the cycle with LOCK_LOST before this answers.
   */
  keep(planId: string, target: string, token: string, force = false): boolean | Promise<boolean> {
    const key = `${target}\n${token}`;
    const now = Date.now();
    const known = this.renewed.get(key);
    if (known && (known.held === false || (!force && now - known.at < this.trustMs))) return known.held;
    const entry = this.remember(key, { at: now, held: true });
    entry.held = extendLock(this.redis, this.prefix, target, token, this.lockMs).then(
      (held) => (held ? (entry.held = true) : this.lost(planId, target, entry)),
      (error: unknown) => {
        // Not an answer: the next call asks again.
        if (this.renewed.get(key) === entry) this.renewed.delete(key);
        throw error;
      },
    );
    return entry.held;
  }

  /** The lock as a chunk's outcome writes check and renew it (ChunkOutcomes). */
  outcomeLock(planId: string, target: string, token: string): OutcomeLock {
    return { token, lifeMs: this.lockMs, answered: (held, askedAt) => this.answered(planId, target, token, held, askedAt) };
  }

  /** A write's answer: a renewal as of `askedAt` (unless a newer answer is known or awaited), or the lock lost. */
  private answered(planId: string, target: string, token: string, held: boolean, askedAt: number): void {
    const key = `${target}\n${token}`;
    const known = this.renewed.get(key);
    if (known?.held === false) return;
    if (!held) {
      const entry = this.remember(key, { at: askedAt, held: false });
      const stopped = this.lost(planId, target, entry);
      entry.held = stopped;
      // The stop not recorded (Redis failed): forgotten, so the next operation asks again and meets the loss.
      stopped.catch(() => {
        if (this.renewed.get(key) === entry) this.renewed.delete(key);
      });
      return;
    }
    if (known && (known.held instanceof Promise || known.at >= askedAt)) return;
    this.remember(key, { at: askedAt, held: true });
  }

  /** Stops the target for the cycle; false once the stop is recorded (what every operation then reads). */
  private async lost(planId: string, target: string, entry: Renewal): Promise<false> {
    this.stops.remember(planId, target, (await this.store.stop(planId, target, { kind: 'lock-lost', reason: LOCK_LOST })).reason);
    entry.held = false;
    return false;
  }

  private remember(key: string, entry: Renewal): Renewal {
    if (this.renewed.size >= REMEMBERED && !this.renewed.has(key)) this.renewed.clear();
    this.renewed.set(key, entry);
    return entry;
  }
}

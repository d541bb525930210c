/**
 * Whether a cycle stopped sending to a target (a rejected credential, too many failed answers in a
 * row, a worker's config differing from the planner's, the cycle's lock lost), as this worker knows it. A
 * stop seen is final; "not stopped" is trusted for STOP_RECHECK_MS, so a stop by another worker
 * reaches this one within that time (an operation sent meanwhile meets the same rejection and is
 * counted skipped, not failed).
 */
import type { CycleStore } from './cycle-store.js';

/** How long a worker trusts that a cycle was not stopped before asking Redis again, ms. */
const STOP_RECHECK_MS = 500;

/** Cycles remembered before the memory is cleared (a worker lives through many cycles). */
const REMEMBERED = 1000;

export class StopTracker {
  private readonly stops = new Map<string, { reason: string | null; at: number }>();
  /** Questions to Redis in flight, by cycle: the operations that start meanwhile wait for the same answer. */
  private readonly asking = new Map<string, Promise<string | null>>();

  constructor(private readonly store: CycleStore) {}

  /**
   * Why the cycle stopped sending to the target, or null when it did not; a value at once when
   * known (no promise per operation), else the answer of one question to Redis shared by the
   * operations that start while it is asked (they started in a burst as a chunk began: one GET
   * each before).
   */
  reason(planId: string, target: string): string | null | Promise<string | null> {
    const key = `${planId}\n${target}`;
    const known = this.stops.get(key);
    if (known && (known.reason !== null || Date.now() - known.at < STOP_RECHECK_MS)) return known.reason;
    let asked = this.asking.get(key);
    if (!asked) {
      asked = this.store.stopped(planId, target).then(
        (stop) => {
          const reason = stop?.reason ?? null;
          this.asking.delete(key);
          // A stop remembered meanwhile (this worker's own) is final: not overwritten by an older "no"
          // (read before the memory may be cleared, which would forget it).
          const now = this.stops.get(key);
          if (now?.reason) return now.reason;
          if (this.stops.size >= REMEMBERED) this.stops.clear();
          this.stops.set(key, { reason, at: Date.now() });
          return reason;
        },
        (error: unknown) => {
          this.asking.delete(key);
          throw error;
        },
      );
      this.asking.set(key, asked);
    }
    return asked;
  }

  /** The reason of a stop this worker already knows of, without asking Redis; undefined when it knows of none. */
  known(planId: string, target: string): string | undefined {
    return this.stops.get(`${planId}\n${target}`)?.reason ?? undefined;
  }

  /** A stop this worker recorded (or is recording: its breaker's) or met in the store. */
  remember(planId: string, target: string, reason: string): void {
    this.stops.set(`${planId}\n${target}`, { reason, at: Date.now() });
  }
}

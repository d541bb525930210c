/**
 * Whether a cycle stopped sending to a target (a rejected credential), as this worker knows it. A
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

  constructor(private readonly store: CycleStore) {}

  /** Why the cycle stopped sending to the target, or null when it did not. */
  async reason(planId: string, target: string): Promise<string | null> {
    const key = `${planId}\n${target}`;
    const known = this.stops.get(key);
    if (known && (known.reason !== null || Date.now() - known.at < STOP_RECHECK_MS)) return known.reason;
    const reason = await this.store.stopped(planId, target);
    if (this.stops.size >= REMEMBERED) this.stops.clear();
    this.stops.set(key, { reason, at: Date.now() });
    return reason;
  }

  /** A stop this worker recorded or met in the store. */
  remember(planId: string, target: string, reason: string): void {
    this.stops.set(`${planId}\n${target}`, { reason, at: Date.now() });
  }
}

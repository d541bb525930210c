/**
 * Longest wait before what a feed asked for that left a target out (a full reconcile, a batch of
 * people) is asked for again. Every poll (5 s by default) asking again would run a whole cycle
 * against the healthy targets, or the same people through them, every poll for as long as one
 * target stays in quarantine (hours); the wait doubles from the poll interval up to this instead, so
 * a change reaches the others within about a minute and costs a cycle a minute.
 */
export const MAX_RETRY_WAIT_MS = 60_000;

/**
 * A change tried again this long without applying is left to the full cycles, and said so: a server
 * that keeps refusing one person with a 5xx for hours gets the full cycles' report and the
 * provisioning log from here, not a request every few minutes (nor a feed position held for ever).
 */
export const GIVE_UP_AFTER_MS = 6 * 3_600_000;

/** When what was asked for and did not reach every target is asked for again: after a doubling wait. */
export class RetryWait {
  private dueAt = 0;
  private waitMs: number;

  /** `maxMs`: the longest wait (the feeds': MAX_RETRY_WAIT_MS). */
  constructor(
    private readonly intervalMs: number,
    private readonly maxMs = MAX_RETRY_WAIT_MS,
  ) {
    this.waitMs = intervalMs;
  }

  /** Asked for before, and not due again yet. */
  waiting(): boolean {
    return Date.now() < this.dueAt;
  }

  /** It did not reach every target: the wait (ms) before it is asked for again; the next one is longer. */
  missed(): number {
    const wait = this.waitMs;
    this.dueAt = Date.now() + wait;
    this.waitMs = Math.min(wait * 2, this.maxMs);
    return wait;
  }

  /** The wait (ms) until it is due, without lengthening the next one. */
  remainingMs(): number {
    return Math.max(0, this.dueAt - Date.now());
  }

  reached(): void {
    this.dueAt = 0;
    this.waitMs = this.intervalMs;
  }
}

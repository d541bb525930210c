/**
 * The request budget of one target: a token bucket shared by every request this process sends to
 * it (listing, lookups, writes, retries). `requests` tokens; a request holds one while it is in
 * flight, and the token comes back `perMs` after the request ended. Counting from the end rather
 * than the start means that however the network delays requests, the server never sees more than
 * `requests` arrivals in any window of `perMs` (a bucket refilled at a steady rate can let twice
 * that through a window, burst plus refill).
 *
 * A 429 slows the target down: every request waits out the server's Retry-After; without one,
 * everything waits a second and the budget is halved for a minute.
 */
import type { RateLimit } from '../../config/profiles.js';

/** Wait after a 429 that named no Retry-After, ms. */
const HOLD_WITHOUT_RETRY_AFTER_MS = 1000;
/** How long a budget halved by a 429 stays halved, ms. */
const SLOWDOWN_MS = 60_000;

export type Release = () => void;

export class RequestBudget {
  private inFlight = 0;
  /** When spent tokens come back, ascending. */
  private returns: number[] = [];
  private readonly waiters: (() => void)[] = [];
  private holdUntil = 0;
  private slowedUntil = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limit: RateLimit | null,
    private readonly now: () => number = Date.now,
  ) {}

  /** The budget in force: halved (at least 1) while slowed down after a 429. */
  private capacity(at: number): number {
    if (!this.limit) return Infinity;
    return at < this.slowedUntil ? Math.max(1, Math.floor(this.limit.requests / 2)) : this.limit.requests;
  }

  /** A token now, without waiting, when one is free and nobody queues before us; else undefined. */
  tryAcquire(): Release | undefined {
    if (this.waiters.length > 0 || this.now() < this.holdUntil) return undefined;
    if (this.limit) {
      const at = this.now();
      const inWindow = this.returns.length - this.returns.filter((t) => t <= at).length;
      if (this.inFlight + inWindow >= this.capacity(at)) return undefined;
    }
    this.inFlight++;
    return this.releaser();
  }

  /** Resolves when the request may be sent; call the returned function when it has ended. */
  acquire(): Promise<Release> {
    return new Promise<Release>((resolve) => {
      this.waiters.push(() => resolve(this.releaser()));
      this.pump();
    });
  }

  /** A 429 (or a 503 with Retry-After): hold every request, and without Retry-After also halve the budget. */
  penalise(retryAfterMs: number | undefined): void {
    const at = this.now();
    this.holdUntil = Math.max(this.holdUntil, at + (retryAfterMs ?? HOLD_WITHOUT_RETRY_AFTER_MS));
    if (retryAfterMs === undefined) this.slowedUntil = at + SLOWDOWN_MS;
  }

  private releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
      if (this.limit) {
        const back = this.now() + this.limit.perMs;
        // Requests end in almost ascending order: insert from the back.
        let i = this.returns.length;
        while (i > 0 && this.returns[i - 1]! > back) i--;
        this.returns.splice(i, 0, back);
      }
      this.pump();
    };
  }

  private pump(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    for (;;) {
      if (this.waiters.length === 0) return;
      const at = this.now();
      let returned = 0;
      while (returned < this.returns.length && this.returns[returned]! <= at) returned++;
      if (returned > 0) this.returns.splice(0, returned);
      if (at < this.holdUntil) return this.wakeAt(this.holdUntil);
      if (this.inFlight + this.returns.length >= this.capacity(at)) {
        // Nothing free: the next token back, or a request ending (which pumps again).
        const next = this.returns[0];
        if (next !== undefined) this.wakeAt(next);
        return;
      }
      this.inFlight++;
      this.waiters.shift()!();
    }
  }

  private wakeAt(time: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, Math.max(0, time - this.now()));
  }
}

const shared = new Map<string, { limit: RateLimit | null; budget: RequestBudget }>();

/**
 * The one budget of a target in this process (`key` names the target and its URL): clients made
 * for the same target by successive commands or cycles share it, so back-to-back runs together
 * stay within the limit. A changed limit starts a new budget.
 */
export function sharedBudget(key: string, limit: RateLimit | null): RequestBudget {
  const known = shared.get(key);
  if (known && known.limit?.requests === limit?.requests && known.limit?.perMs === limit?.perMs) return known.budget;
  const budget = new RequestBudget(limit);
  shared.set(key, { limit, budget });
  return budget;
}

/**
 * The request budget of one target: a token bucket shared by every request this process sends to
 * it (listing, lookups, writes, retries). `requests` tokens; a request holds one while it is in
 * flight, and the token comes back `perMs` after the request ended. Counting from the end rather
 * than the start means that however the network delays requests, the server never sees more than
 * `requests` arrivals in any window of `perMs` (a bucket refilled at a steady rate can let twice
 * that through a window, burst plus refill).
 *
 * A 429 slows the target down: every request waits out the server's Retry-After; without one,
 * everything waits a second and the budget is halved for a minute. A Retry-After longer than the
 * caller will wait (its retry policy's maxRetryAfterMs) is not waited out: holding every request
 * that long would freeze the target, and the process with it, behind one answer. Until that time
 * the budget refuses instead (BudgetRefused), the requests already waiting and every new one, for
 * MAX_REFUSAL_MS at most: the budget lives as long as the process, and a long-running one (`serve`)
 * must not give a target up for good on one answer (a date in 9999), so then the server is asked again.
 */
import type { RateLimit } from '../../config/profiles.js';

/** Wait after a 429 that named no Retry-After, ms. */
const HOLD_WITHOUT_RETRY_AFTER_MS = 1000;
/** How long a budget halved by a 429 stays halved, ms. */
const SLOWDOWN_MS = 60_000;
/** Longest a far Retry-After refuses requests before the server is asked again, ms (an hour). */
export const MAX_REFUSAL_MS = 3_600_000;

/**
 * Longest delay a Node timer takes (2^31-1 ms, about 24.8 days): a longer one fires at once, so an
 * unclamped far wake-up would re-arm itself every millisecond.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A delay a timer can be armed with: at most MAX_TIMER_MS (a caller that must wait longer wakes and waits again). */
export function timerDelay(ms: number): number {
  return Math.min(MAX_TIMER_MS, Math.max(0, ms));
}

export type Release = () => void;

/** The budget refuses requests until `until` (epoch ms): what the server asked, at most MAX_REFUSAL_MS from its answer. */
export class BudgetRefused extends Error {
  constructor(
    readonly until: number,
    /** What the server asked for, ms. */
    readonly retryAfterMs: number,
  ) {
    super('the target asked for a pause longer than requests are held');
  }
}

export class RequestBudget {
  private inFlight = 0;
  /** When spent tokens come back, ascending. */
  private returns: number[] = [];
  private readonly waiters: { grant: () => void; refuse: (error: BudgetRefused) => void }[] = [];
  private holdUntil = 0;
  /** Set while the server's Retry-After is past what any caller waits: requests are refused until then. */
  private refusal: BudgetRefused | undefined;
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
    if (this.waiters.length > 0 || this.now() < this.holdUntil || this.refused()) return undefined;
    if (this.limit) {
      const at = this.now();
      const inWindow = this.returns.length - this.returns.filter((t) => t <= at).length;
      if (this.inFlight + inWindow >= this.capacity(at)) return undefined;
    }
    this.inFlight++;
    return this.releaser();
  }

  /**
   * Resolves when the request may be sent; call the returned function when it has ended. Rejects
   * with BudgetRefused while the server's pause is longer than requests are held, and with the
   * signal's reason once `signal` aborts (the request gives its place up and is not to be sent).
   */
  acquire(signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const refusal = this.refused();
    if (refusal) return Promise.reject(refusal);
    return new Promise<Release>((resolve, reject) => {
      const leave = () => {
        const at = this.waiters.indexOf(waiter);
        if (at < 0) return;
        this.waiters.splice(at, 1);
        reject(signal!.reason);
        // Nobody left waiting: no timer keeps the process up for a hold no request waits out.
        this.pump();
      };
      const waiter = {
        grant: () => {
          signal?.removeEventListener('abort', leave);
          resolve(this.releaser());
        },
        refuse: (error: BudgetRefused) => {
          signal?.removeEventListener('abort', leave);
          reject(error);
        },
      };
      signal?.addEventListener('abort', leave, { once: true });
      this.waiters.push(waiter);
      this.pump();
    });
  }

  /**
   * A 429 (or a 503 with Retry-After): hold every request, and without Retry-After also halve the
   * budget. A Retry-After past `maxHoldMs` holds nothing: the waiting requests and every new one
   * are refused until that time, or for MAX_REFUSAL_MS if it is further.
   */
  penalise(retryAfterMs: number | undefined, maxHoldMs = Infinity): void {
    const at = this.now();
    if (retryAfterMs !== undefined && retryAfterMs > maxHoldMs) {
      const until = at + Math.min(retryAfterMs, MAX_REFUSAL_MS);
      if (!this.refusal || until > this.refusal.until) this.refusal = new BudgetRefused(until, retryAfterMs);
      for (const waiter of this.waiters.splice(0)) waiter.refuse(this.refusal);
      return;
    }
    this.holdUntil = Math.max(this.holdUntil, at + (retryAfterMs ?? HOLD_WITHOUT_RETRY_AFTER_MS));
    if (retryAfterMs === undefined) this.slowedUntil = at + SLOWDOWN_MS;
  }

  /** The refusal in force now, if any; one whose time has passed is dropped. */
  private refused(): BudgetRefused | undefined {
    if (this.refusal && this.now() >= this.refusal.until) this.refusal = undefined;
    return this.refusal;
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
      this.waiters.shift()!.grant();
    }
  }

  private wakeAt(time: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, timerDelay(time - this.now()));
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

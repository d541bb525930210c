/**
 * The request budget under fake timers: for a limit, a request duration and what the server said,
 * the exact times at which queued requests are let through.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RateLimit } from '../../src/config/profiles.js';
import { BudgetRefused, MAX_REFUSAL_MS, MAX_TIMER_MS, RequestBudget, sharedBudget } from '../../src/targets/http/request-budget.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

const clock = () => Date.now();

interface Case {
  name: string;
  limit: RateLimit | null;
  requests: number;
  /** How long each request is in flight, ms. */
  durationMs: number;
  /** A 429 at time 0 before the requests: its Retry-After in ms, or undefined for none. */
  penalty?: { retryAfterMs: number | undefined };
  /** When each request is let through, ms from the start. */
  want: number[];
}

const cases: Case[] = [
  { name: 'no limit: everything at once', limit: null, requests: 4, durationMs: 50, want: [0, 0, 0, 0] },
  { name: 'limit 2 per second, instant requests', limit: { requests: 2, perMs: 1000 }, requests: 5, durationMs: 0, want: [0, 0, 1000, 1000, 2000] },
  {
    name: 'the window counts from the end of a request, not its start',
    limit: { requests: 2, perMs: 1000 },
    requests: 5,
    durationMs: 300,
    want: [0, 0, 1300, 1300, 2600],
  },
  { name: 'exactly the limit: no wait', limit: { requests: 3, perMs: 1000 }, requests: 3, durationMs: 10, want: [0, 0, 0] },
  { name: 'a 429 with Retry-After holds everything that long', limit: { requests: 4, perMs: 1000 }, requests: 5, durationMs: 0, penalty: { retryAfterMs: 3000 }, want: [3000, 3000, 3000, 3000, 4000] },
  {
    name: 'a 429 without Retry-After: a second, then half the budget',
    limit: { requests: 4, perMs: 1000 },
    requests: 5,
    durationMs: 0,
    penalty: { retryAfterMs: undefined },
    want: [1000, 1000, 2000, 2000, 3000],
  },
  {
    name: 'halving never goes below one request',
    limit: { requests: 1, perMs: 500 },
    requests: 3,
    durationMs: 0,
    penalty: { retryAfterMs: undefined },
    want: [1000, 1500, 2000],
  },
  { name: 'a 429 on an unlimited target still holds it', limit: null, requests: 2, durationMs: 0, penalty: { retryAfterMs: 250 }, want: [250, 250] },
];

describe('request budget', () => {
  it.each(cases)('$name', async (c) => {
    const budget = new RequestBudget(c.limit, clock);
    if (c.penalty) budget.penalise(c.penalty.retryAfterMs);
    const granted: number[] = [];
    const done = Array.from({ length: c.requests }, () =>
      budget.acquire().then((release) => {
        granted.push(Date.now());
        // A 0 ms timer fires after 1 ms: an instant request ends at once.
        if (c.durationMs === 0) release();
        else setTimeout(release, c.durationMs);
      }),
    );
    await vi.advanceTimersByTimeAsync(10_000);
    await Promise.all(done);
    expect(granted).toEqual(c.want);
  });

  it('tryAcquire: a token while one is free, none at the limit, one again when the window has passed', async () => {
    const budget = new RequestBudget({ requests: 2, perMs: 1000 }, clock);
    const first = budget.tryAcquire();
    const second = budget.tryAcquire();
    expect([first, second].every((r) => typeof r === 'function')).toBe(true);
    expect(budget.tryAcquire()).toBeUndefined();
    first!();
    first!(); // releasing twice gives back one token only
    await vi.advanceTimersByTimeAsync(999);
    expect(budget.tryAcquire()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    const third = budget.tryAcquire();
    expect(third).toBeTypeOf('function');
    expect(budget.tryAcquire()).toBeUndefined();
  });

  it('tryAcquire gives way to requests already queued, and to a 429 hold', async () => {
    const budget = new RequestBudget({ requests: 1, perMs: 100 }, clock);
    const held = budget.tryAcquire()!;
    const queued = budget.acquire();
    held();
    expect(budget.tryAcquire()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(100);
    (await queued)();
    await vi.advanceTimersByTimeAsync(100);
    budget.penalise(500);
    expect(budget.tryAcquire()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(500);
    expect(budget.tryAcquire()).toBeTypeOf('function');
  });

  it('halved for a minute after a 429 without Retry-After, then whole again', async () => {
    const budget = new RequestBudget({ requests: 4, perMs: 10 }, clock);
    budget.penalise(undefined);
    await vi.advanceTimersByTimeAsync(1000);
    const during = [budget.tryAcquire(), budget.tryAcquire(), budget.tryAcquire()];
    expect(during.map((r) => r !== undefined)).toEqual([true, true, false]);
    for (const r of during) r?.();
    await vi.advanceTimersByTimeAsync(59_000);
    const after = [budget.tryAcquire(), budget.tryAcquire(), budget.tryAcquire(), budget.tryAcquire(), budget.tryAcquire()];
    expect(after.map((r) => r !== undefined)).toEqual([true, true, true, true, false]);
  });

  it('one budget per target in the process; a changed limit starts a new one', () => {
    const a = sharedBudget('test-budget-a https://a/', { requests: 5, perMs: 1000 });
    expect(sharedBudget('test-budget-a https://a/', { requests: 5, perMs: 1000 })).toBe(a);
    expect(sharedBudget('test-budget-b https://b/', { requests: 5, perMs: 1000 })).not.toBe(a);
    const changed = sharedBudget('test-budget-a https://a/', { requests: 6, perMs: 1000 });
    expect(changed).not.toBe(a);
    expect(sharedBudget('test-budget-a https://a/', null)).not.toBe(changed);
  });

  it('a Retry-After past what callers wait holds nothing: waiting and new requests are refused until then', async () => {
    const budget = new RequestBudget({ requests: 1, perMs: 100 }, clock);
    const inFlight = budget.tryAcquire()!;
    const waiting = budget.acquire();
    budget.penalise(3_000_000, 300_000);
    await expect(waiting).rejects.toBeInstanceOf(BudgetRefused);
    await expect(waiting).rejects.toMatchObject({ until: 3_000_000, retryAfterMs: 3_000_000 });
    inFlight();
    await vi.advanceTimersByTimeAsync(1000);
    expect(budget.tryAcquire()).toBeUndefined();
    await expect(budget.acquire()).rejects.toBeInstanceOf(BudgetRefused);
    // A shorter pause asked for later does not end the longer refusal.
    budget.penalise(400_000, 300_000);
    await vi.advanceTimersByTimeAsync(400_000);
    expect(budget.tryAcquire()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(3_000_000 - 401_000);
    expect(budget.tryAcquire()).toBeTypeOf('function');
  });

  it('a refusal lasts an hour at most, however far the Retry-After: then requests go again', async () => {
    const budget = new RequestBudget(null, clock);
    const year = 365 * 86_400_000;
    budget.penalise(year, 300_000);
    await expect(budget.acquire()).rejects.toMatchObject({ until: MAX_REFUSAL_MS, retryAfterMs: year });
    await vi.advanceTimersByTimeAsync(MAX_REFUSAL_MS - 1);
    expect(budget.tryAcquire()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(budget.tryAcquire()).toBeTypeOf('function');
    expect(MAX_REFUSAL_MS).toBe(3_600_000);
  });

  it('a Retry-After within what callers wait is held as before', async () => {
    const budget = new RequestBudget(null, clock);
    budget.penalise(300_000, 300_000);
    const waiting = budget.acquire();
    await vi.advanceTimersByTimeAsync(299_999);
    expect(budget.tryAcquire()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    await expect(waiting).resolves.toBeTypeOf('function');
  });

  it('a hold past what a timer takes (2^31-1 ms) arms timers within it, and wakes no earlier', async () => {
    const budget = new RequestBudget(null, clock);
    const armed = vi.spyOn(globalThis, 'setTimeout');
    budget.penalise(40 * 86_400_000);
    let granted = false;
    void budget.acquire().then(() => (granted = true));
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 1000);
    expect(granted).toBe(false);
    // One timer to the clamp, one after it: not one a millisecond.
    expect(armed.mock.calls.length).toBeLessThanOrEqual(3);
    expect(armed.mock.calls.every(([, ms]) => (ms ?? 0) <= MAX_TIMER_MS)).toBe(true);
    await vi.advanceTimersByTimeAsync(40 * 86_400_000);
    expect(granted).toBe(true);
    armed.mockRestore();
  });

  it('a waiting request whose signal aborts gives its place up at once; the others keep theirs', async () => {
    const budget = new RequestBudget({ requests: 1, perMs: 100 }, clock);
    budget.penalise(25_000);
    const stop = new AbortController();
    const first = budget.acquire(stop.signal);
    const second = budget.acquire();
    stop.abort(new Error('stopped'));
    await expect(first).rejects.toThrow('stopped');
    // Already aborted: refused without queueing.
    await expect(budget.acquire(stop.signal)).rejects.toThrow('stopped');
    // The one that did not heed the signal still gets the first token when the hold ends.
    await vi.advanceTimersByTimeAsync(25_000);
    await expect(second).resolves.toBeTypeOf('function');
  });

  it('the last waiter leaving takes the hold\'s timer with it: nothing keeps a stopped process up', async () => {
    const budget = new RequestBudget(null, clock);
    budget.penalise(25_000);
    const stop = new AbortController();
    const waiting = budget.acquire(stop.signal);
    expect(vi.getTimerCount()).toBe(1);
    stop.abort(new Error('stopped'));
    await expect(waiting).rejects.toThrow('stopped');
    expect(vi.getTimerCount()).toBe(0);
  });
});


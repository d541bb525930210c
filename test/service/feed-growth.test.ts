/**
 * While one target is in quarantine every change-driven batch is "not applied", so the feed keeps
 * its position and each poll hands out everyone changed since it. Syncing that whole set at every
 * poll naming someone new made the work grow with the square of the changes (100 polls adding one
 * person each: 5,050 person-syncs). The feed loop now syncs at once only who is new or changed
 * again (feed-people.ts).
 *
 * The feeds here wake the loop when the test says (ChangeFeed.changed), with a poll interval of a
 * minute, so no retry wait comes due unless a test means it to: each poll is one step.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runFeed, type FeedStatus } from '../../src/service/feed-loop.js';
import type { ReconcileLane } from '../../src/service/reconcile-lane.js';
import type { BatchOutcome, FastLane, SyncRequest } from '../../src/service/fast-lane.js';
import type { ChangeBatch, ChangeFeed } from '../../src/sources/change-feed.js';
import { Metrics } from '../../src/telemetry/metrics.js';

/** A feed handing out everyone changed since its position (with a mark per person), polled when woken. */
class StepFeed implements ChangeFeed {
  readonly description = 'steps';
  /** Key -> mark (a version of their record) of everyone changed since the position. */
  changes = new Map<string, string>();
  withMarks = true;
  polls = 0;
  committed = 0;
  private wake: (() => void) | undefined;
  /** Stepped while the loop was not waiting: its next wait ends at once. */
  private woken = false;

  poll(): Promise<ChangeBatch | null> {
    this.polls++;
    if (this.changes.size === 0) return Promise.resolve(null);
    const handed = new Map(this.changes);
    return Promise.resolve({
      keys: [...handed.keys()],
      ...(this.withMarks ? { marks: handed } : {}),
      description: `${handed.size} changed`,
      commit: async () => {
        this.committed++;
        for (const [k, mark] of handed) if (this.changes.get(k) === mark) this.changes.delete(k);
      },
    });
  }

  /** The next poll runs now (the test's step). */
  step(): void {
    const wake = this.wake;
    this.wake = undefined;
    if (wake) wake();
    else this.woken = true;
  }

  /** The loop is waiting for the next step: what it was doing is done. */
  get idle(): boolean {
    return this.wake !== undefined;
  }

  changed(signal: AbortSignal): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.wake = resolve;
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A fast lane that leaves `crm` out (in quarantine) until `reach` is set, or fails the people of `failing` for a passing reason; records each request and what reached crm. */
class Lane {
  requests: string[][] = [];
  reach = false;
  failing = new Set<string>();
  /** Key -> how many times it reached crm. */
  crm = new Map<string, number>();

  get personSyncs(): number {
    return this.requests.reduce((n, r) => n + r.length, 0);
  }

  sync(request: SyncRequest): Promise<BatchOutcome> {
    this.requests.push([...request.keys]);
    const failures = request.keys.filter((k) => this.failing.has(k)).map((k) => ({ externalId: k, code: 'TRANSIENT', message: `503 for ${k}` }));
    if (this.reach) for (const k of request.keys) if (!this.failing.has(k)) this.crm.set(k, (this.crm.get(k) ?? 0) + 1);
    const report = { planId: 'p', startedAt: '', finishedAt: '', targets: [{ target: 'app', counts: {}, failures, skips: [] }] };
    const leftOut = this.reach ? {} : { leftOut: [{ target: 'crm', why: 'skipped: quarantined since 2026-11-30T10:00:00Z' }] };
    return Promise.resolve({ keys: request.keys, report, ...leftOut } as unknown as BatchOutcome);
  }
}

function start(feed: StepFeed, lane: Lane, intervalMs = 60_000): { lines: string[]; stop: () => Promise<void> } {
  const lines: string[] = [];
  const abort = new AbortController();
  const status: FeedStatus = { name: 'src', description: feed.description };
  const deps = { fast: lane as unknown as FastLane, reconcile: {} as ReconcileLane, metrics: new Metrics({ process: false }), intervalMs, log: (l: string) => lines.push(l) };
  const running = runFeed('src', feed, status, deps, abort.signal);
  return {
    lines,
    stop: async () => {
      abort.abort();
      await running;
    },
  };
}

/** Wakes the loop for one more poll and waits until that poll has been taken and handled. */
async function step(feed: StepFeed): Promise<void> {
  const polls = feed.polls;
  feed.step();
  await expect.poll(() => feed.polls > polls && feed.idle, { timeout: 5_000, interval: 1 }).toBe(true);
}

describe('a feed that keeps naming new people while a target is in quarantine', () => {
  it('syncs each new person once, not everyone since the position at every poll; once the quarantine lifts everyone reaches the target and the position commits', async () => {
    const feed = new StepFeed();
    const lane = new Lane();
    const loop = start(feed, lane);
    try {
      // The loop's first poll (nothing changed yet) is taken at start.
      await expect.poll(() => feed.idle, { timeout: 5_000, interval: 1 }).toBe(true);
      expect(feed.polls).toBe(1);
      for (let i = 1; i <= 100; i++) {
        feed.changes.set(`E${i}`, 'v1');
        await step(feed);
      }
      // One person-sync per change: the old loop made 1 + 2 + ... + 100 = 5,050.
      expect(lane.personSyncs).toBe(100);
      expect(lane.requests.every((r, i) => r.length === 1 && r[0] === `E${i + 1}`)).toBe(true);
      expect(feed.committed).toBe(0);
      expect(loop.lines.filter((l) => l.startsWith('feed src: not applied, handed out again and tried in '))).toHaveLength(100);

      // The quarantine lifts: the next new person reaches crm, and so the people waiting are due at
      // the poll after it, which reaches crm with all of them and commits.
      lane.reach = true;
      feed.changes.set('E101', 'v1');
      await step(feed);
      expect(lane.requests[100]).toEqual(['E101']);
      await step(feed);
      expect(lane.requests[101]).toHaveLength(100);
      expect(feed.committed).toBe(1);
      expect(lane.crm.size).toBe(101);
      expect([...lane.crm.values()].every((n) => n === 1)).toBe(true);
      // 101 new people, each synced once while left out, and once more to reach crm.
      expect(lane.personSyncs).toBe(201);
    } finally {
      await loop.stop();
    }
  });

  it('waits the doubling wait for the people not applied, a bounded number of retries, however many polls', async () => {
    const feed = new StepFeed();
    const lane = new Lane();
    // 5 ms polls, and the feed naming someone new at every one of them.
    let n = 0;
    const poll = feed.poll.bind(feed);
    feed.poll = () => (feed.changes.set(`E${++n}`, 'v1'), poll());
    const started = Date.now();
    const loop = start(feed, lane, 5);
    try {
      await expect.poll(() => feed.polls, { timeout: 10_000, interval: 5 }).toBeGreaterThanOrEqual(100);
    } finally {
      await loop.stop();
    }
    const elapsed = Date.now() - started;
    const retries = lane.requests.filter((r) => r.length > 1).length;
    // Each person is synced once when new, and again with everyone waiting at each retry; the
    // retries wait 5, 10, 20, ... ms, so `elapsed` ms hold at most log2(elapsed / 5) + 1 of them.
    expect(retries).toBeLessThanOrEqual(Math.log2(elapsed / 5) + 1);
    expect(lane.personSyncs).toBeLessThanOrEqual(n + retries * n);
    // The old loop: n (n + 1) / 2, every poll syncing everyone since the position.
    expect(lane.personSyncs).toBeLessThan((n * (n + 1)) / 8);
    expect(feed.committed).toBe(0);
  });
});

describe('a person applied while others keep the position', () => {
  it('is synced again when the feed says they changed again, and not otherwise', async () => {
    const feed = new StepFeed();
    const lane = new Lane();
    lane.reach = true;
    lane.failing.add('E2');
    const loop = start(feed, lane);
    try {
      await expect.poll(() => feed.idle, { timeout: 5_000, interval: 1 }).toBe(true);
      expect(feed.polls).toBe(1);
      feed.changes.set('E1', 'v1');
      feed.changes.set('E2', 'v1');
      await step(feed);
      expect(lane.requests).toEqual([['E1', 'E2']]);
      expect(feed.committed).toBe(0);
      // E1 applied, unchanged: a poll runs nothing (E2 waits for its retry).
      await step(feed);
      expect(lane.requests).toHaveLength(1);
      // E1 changes again: synced at once, alone.
      feed.changes.set('E1', 'v2');
      await step(feed);
      expect(lane.requests[1]).toEqual(['E1']);
      expect(lane.crm.get('E1')).toBe(2);
      expect(feed.committed).toBe(0);
    } finally {
      await loop.stop();
    }
  });

  it('without marks from the feed, is synced again with the retries, so in the round that commits the position', async () => {
    const feed = new StepFeed();
    feed.withMarks = false;
    const lane = new Lane();
    lane.reach = true;
    lane.failing.add('E2');
    const loop = start(feed, lane, 10);
    try {
      feed.changes.set('E1', 'v1');
      feed.changes.set('E2', 'v1');
      await expect.poll(() => lane.requests.length, { timeout: 5_000, interval: 1 }).toBe(1);
      lane.failing.clear();
      await expect.poll(() => feed.committed, { timeout: 5_000, interval: 1 }).toBe(1);
      // E2 retried after its wait, and E1 with it (applied before, and the feed cannot say whether it
      // changed since: a leaver the accesslog names so is not held behind E2), in the round that commits.
      expect(lane.requests).toEqual([['E1', 'E2'], ['E1', 'E2']]);
    } finally {
      await loop.stop();
    }
  });
});

describe('a person whose sync keeps failing for a passing reason', () => {
  afterEach(() => void vi.useRealTimers());

  it('is let go after six hours of retries, said so, and the position moves: held, the feed re-read everything since it at every poll for ever', async () => {
    // Only the clock is faked: the loop's waits are real, its Date.now is the test's.
    vi.useFakeTimers({ toFake: ['Date'] });
    const t0 = new Date('2026-12-01T08:00:00Z').getTime();
    vi.setSystemTime(t0);
    const feed = new StepFeed();
    const lane = new Lane();
    lane.reach = true;
    lane.failing.add('E1');
    const loop = start(feed, lane);
    try {
      await expect.poll(() => feed.idle, { timeout: 5_000, interval: 1 }).toBe(true);
      feed.changes.set('E1', 'v1');
      feed.changes.set('E2', 'v1');
      await step(feed);
      expect(lane.requests).toEqual([['E1', 'E2']]);
      // Five hours on: still tried again, the position held.
      vi.setSystemTime(t0 + 5 * 3_600_000);
      await step(feed);
      expect(lane.requests).toEqual([['E1', 'E2'], ['E1']]);
      expect(feed.committed).toBe(0);
      // Six hours after the first miss: let go, not tried again, and the position commits.
      vi.setSystemTime(t0 + 6 * 3_600_000 + 1_000);
      await step(feed);
      expect(loop.lines).toContain('feed src: 1 tried again for 6 hours without applying, left to the full cycles: E1');
      expect(lane.requests).toEqual([['E1', 'E2'], ['E1']]);
      expect(feed.committed).toBe(1);
      // Named again with a new change: synced as anyone, and its six hours start again.
      feed.changes.set('E1', 'v2');
      await step(feed);
      expect(lane.requests).toEqual([['E1', 'E2'], ['E1'], ['E1']]);
      expect(feed.committed).toBe(1);
    } finally {
      await loop.stop();
    }
  });

  it('without marks to tell by (the LDAP accesslog), is let go all the same: not synced again at the poll that lets them go, and the position moves', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const t0 = new Date('2026-12-01T08:00:00Z').getTime();
    vi.setSystemTime(t0);
    const feed = new StepFeed();
    feed.withMarks = false;
    const lane = new Lane();
    lane.reach = true;
    lane.failing.add('E1');
    const loop = start(feed, lane);
    try {
      await expect.poll(() => feed.idle, { timeout: 5_000, interval: 1 }).toBe(true);
      feed.changes.set('E1', 'v1');
      await step(feed);
      expect(lane.requests).toEqual([['E1']]);
      vi.setSystemTime(t0 + 6 * 3_600_000 + 1_000);
      await step(feed);
      expect(loop.lines).toContain('feed src: 1 tried again for 6 hours without applying, left to the full cycles: E1');
      expect(lane.requests).toEqual([['E1']]);
      expect(feed.committed).toBe(1);
    } finally {
      await loop.stop();
    }
  });
});

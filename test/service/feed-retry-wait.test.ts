/**
 * A full reconcile a feed asked for that left a target out is asked for again after a wait that
 * doubles (feed-loop.ts), not at every poll: with one target in quarantine for hours, every poll
 * asking again ran a whole cycle of the healthy targets every 5 s.
 */
import { describe, expect, it } from 'vitest';
import { runFeed, type FeedStatus } from '../../src/service/feed-loop.js';
import type { CycleOutcome, ReconcileLane } from '../../src/service/reconcile-lane.js';
import type { BatchOutcome, FastLane, SyncRequest } from '../../src/service/fast-lane.js';
import type { ChangeBatch, ChangeFeed } from '../../src/sources/change-feed.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { FullReconcileFeed } from '../support/service.js';

/** A reconcile lane whose cycles leave `crm` out until `reach` is set; counts the cycles asked for. */
class LeavingOut {
  cycles = 0;
  reach = false;
  request(reason: string): Promise<CycleOutcome> {
    this.cycles++;
    const now = new Date();
    const leftOut = this.reach ? [] : [{ target: 'crm', why: 'skipped: quarantined' }];
    return Promise.resolve({ reason, startedAt: now, finishedAt: now, leftOut, result: { kind: 'quarantined', skipped: new Map() } } as unknown as CycleOutcome);
  }
}

describe('a feed whose full reconcile left a target out', () => {
  it('asks again after a doubling wait, not every poll, and commits once every target is reached', async () => {
    const feed = new FullReconcileFeed();
    const lane = new LeavingOut();
    const lines: string[] = [];
    const stop = new AbortController();
    const status: FeedStatus = { name: 'groups', description: feed.description };
    const deps = { fast: {} as FastLane, reconcile: lane as unknown as ReconcileLane, metrics: new Metrics({ process: false }), intervalMs: 10, log: (l: string) => lines.push(l) };
    const running = runFeed('groups', feed, status, deps, stop.signal);
    try {
      // 10 ms polls: about 60 of them in the time the waits 10, 20, 40, 80, 160 ms allow 6 cycles.
      await expect.poll(() => feed.polls, { timeout: 10_000, interval: 5 }).toBeGreaterThanOrEqual(40);
      expect(feed.committed).toBe(0);
      expect(lane.cycles).toBeGreaterThanOrEqual(2);
      expect(lane.cycles).toBeLessThan(feed.polls / 4);
      expect(lines.filter((l) => l.includes('asked again in'))).toHaveLength(lane.cycles);
      lane.reach = true;
      await expect.poll(() => feed.committed, { timeout: 30_000, interval: 5 }).toBe(1);
    } finally {
      stop.abort();
      await running;
    }
  });
});

/** A fast lane whose batches leave `crm` out (in quarantine) until `reach` is set; each batch's people and the poll it came from. */
class QuarantinedLane {
  batches: { keys: readonly string[]; poll: number }[] = [];
  reach = false;
  constructor(private readonly feed: PeopleFeed) {}
  sync(request: SyncRequest): Promise<BatchOutcome> {
    this.batches.push({ keys: request.keys, poll: this.feed.polls });
    const report = { planId: 'p', startedAt: '', finishedAt: '', targets: [{ target: 'app', counts: {}, failures: [], skips: [] }] };
    return Promise.resolve({ keys: request.keys, report, ...(this.reach ? {} : { leftOut: [{ target: 'crm', why: 'skipped: quarantined since 2026-11-30T10:00:00Z' }] }) });
  }
}

/** A feed naming `keys` at every poll until its position is committed. */
class PeopleFeed implements ChangeFeed {
  readonly description = 'people';
  keys = ['E1001'];
  polls = 0;
  committed = 0;
  poll(): Promise<ChangeBatch | null> {
    this.polls++;
    if (this.committed > 0) return Promise.resolve(null);
    return Promise.resolve({ keys: [...this.keys], description: `${this.keys.length} changed`, commit: async () => void this.committed++ });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

describe('a feed whose people were left out of a target in quarantine', () => {
  it('keeps its position, runs them again after a doubling wait, not every poll; someone new runs at once; commits once every target is reached', async () => {
    const feed = new PeopleFeed();
    const lane = new QuarantinedLane(feed);
    const lines: string[] = [];
    const stop = new AbortController();
    const status: FeedStatus = { name: 'source', description: feed.description };
    const deps = { fast: lane as unknown as FastLane, reconcile: {} as ReconcileLane, metrics: new Metrics({ process: false }), intervalMs: 10, log: (l: string) => lines.push(l) };
    const running = runFeed('source', feed, status, deps, stop.signal);
    try {
      await expect.poll(() => feed.polls, { timeout: 10_000, interval: 5 }).toBeGreaterThanOrEqual(40);
      expect(feed.committed).toBe(0);
      expect(lane.batches.length).toBeGreaterThanOrEqual(2);
      expect(lane.batches.length).toBeLessThan(feed.polls / 4);
      expect(lines.filter((l) => l.startsWith('feed source: not applied, handed out again and tried in 1 s: target crm skipped: quarantined since'))).toHaveLength(lane.batches.length);
      // A new leaver is not held up by the wait: the first poll naming them runs a batch of them
      // (and only them: E1001 waits for its retry, see feed-growth.test.ts).
      const before = lane.batches.length;
      const at = feed.polls;
      feed.keys.push('E1002');
      await expect.poll(() => lane.batches.length, { timeout: 10_000, interval: 5 }).toBeGreaterThan(before);
      expect(lane.batches[before]).toEqual({ keys: ['E1002'], poll: at + 1 });
      lane.reach = true;
      await expect.poll(() => feed.committed, { timeout: 30_000, interval: 5 }).toBe(1);
    } finally {
      stop.abort();
      await running;
    }
  });
});

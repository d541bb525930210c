/**
 * A full reconcile a feed asked for that left a target out is asked for again after a wait that
 * doubles (feed-loop.ts), not at every poll: with one target in quarantine for hours, every poll
 * asking again ran a whole cycle of the healthy targets every 5 s.
 */
import { describe, expect, it } from 'vitest';
import { runFeed, type FeedStatus } from '../../src/service/feed-loop.js';
import type { CycleOutcome, ReconcileLane } from '../../src/service/reconcile-lane.js';
import type { FastLane } from '../../src/service/fast-lane.js';
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

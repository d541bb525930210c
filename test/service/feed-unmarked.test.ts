/**
 * A person applied with a mark, then named without one (LDAP timestamp mode: the accesslog names a
 * deleted or moved-out entry, or a group removal, without a mark), is synced again while another
 * person of the position keeps failing: a leaver is not held behind someone else's 503 for hours.
 */
import { expect, it } from 'vitest';
import { runFeed, type FeedStatus } from '../../src/service/feed-loop.js';
import type { ReconcileLane } from '../../src/service/reconcile-lane.js';
import type { BatchOutcome, FastLane, SyncRequest } from '../../src/service/fast-lane.js';
import type { ChangeBatch, ChangeFeed } from '../../src/sources/change-feed.js';
import { Metrics } from '../../src/telemetry/metrics.js';

/** Everyone changed since the position; `marks` per key, a key absent from it has no mark (accesslog). */
class Feed implements ChangeFeed {
  readonly description = 'ldap-like';
  keys = new Set<string>();
  marks = new Map<string, string>();
  committed = 0;
  poll(): Promise<ChangeBatch | null> {
    if (this.keys.size === 0) return Promise.resolve(null);
    const keys = [...this.keys];
    const marks = new Map([...this.marks].filter(([k]) => this.keys.has(k)));
    return Promise.resolve({ keys, marks, description: `${keys.length} changed`, commit: async () => void this.committed++ });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Every target reached, but E2's operation fails with a 503 (TRANSIENT) every time. */
class Lane {
  requests: string[][] = [];
  sync(request: SyncRequest): Promise<BatchOutcome> {
    this.requests.push([...request.keys]);
    const failures = request.keys.filter((k) => k === 'E2').map((k) => ({ externalId: k, code: 'TRANSIENT', message: `503 for ${k}` }));
    const report = { planId: 'p', startedAt: '', finishedAt: '', targets: [{ target: 'app', counts: {}, failures, skips: [] }] };
    return Promise.resolve({ keys: request.keys, report } as unknown as BatchOutcome);
  }
}

it('a leaver named without a mark after being applied is synced again at once (not held behind someone else failing)', async () => {
  const feed = new Feed();
  const lane = new Lane();
  feed.keys = new Set(['E1', 'E2']);
  feed.marks = new Map([
    ['E1', 'csn-1'],
    ['E2', 'csn-1'],
  ]);
  const abort = new AbortController();
  const status: FeedStatus = { name: 'src', description: feed.description };
  const lines: string[] = [];
  const deps = { fast: lane as unknown as FastLane, reconcile: {} as ReconcileLane, metrics: new Metrics({ process: false }), intervalMs: 5, log: (l: string) => lines.push(l) };
  const running = runFeed('src', feed, status, deps, abort.signal);
  try {
    await expect.poll(() => lane.requests.length, { timeout: 5_000, interval: 1 }).toBeGreaterThanOrEqual(1);
    expect(lane.requests[0]).toEqual(['E1', 'E2']);
    // E1 is deleted in the directory: its entry is gone, the accesslog names it, with no mark.
    feed.marks.delete('E1');
    const before = lane.requests.length;
    // Synced again while E2 keeps failing (its retries at 5, 10, 20, ... ms), not held until E2 settles.
    await expect.poll(() => lane.requests.slice(before).some((r) => r.includes('E1')), { timeout: 10_000, interval: 5 }).toBe(true);
    expect(feed.committed).toBe(0);
  } finally {
    abort.abort();
    await running;
  }
});

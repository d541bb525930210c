/**
 * The due-change timer over a real due-changes file, with a stand-in for the fast lane that never
 * applies: changes kept to try again wait for their doubling wait whatever wakes the timer, so a
 * long outage or quarantine with events arriving does not sync every kept change again at each
 * event's pass; a future-dated change that falls due is synced at once, alone.
 */
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { DueTimer, RETRY_SUFFIX } from '../../src/service/due-timer.js';
import type { BatchOutcome, FastLane, SyncRequest } from '../../src/service/fast-lane.js';
import { FileDueChanges } from '../../src/state/due-changes.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs('scim-sync-due-');
let stop: AbortController;
beforeEach(() => {
  stop = new AbortController();
});
afterEach(() => {
  stop.abort();
  vi.useRealTimers();
});
const neverApplied = { sync: (r: SyncRequest): Promise<BatchOutcome> => Promise.resolve({ keys: r.keys, error: new Error('target app is down') }) };

it('changes kept to try again are not synced again by each pass a new change wakes, only when their wait is over', async () => {
  const due = new FileDueChanges(tempDir());
  const synced: string[][] = [];
  // Never applied: a target down, or in quarantine, for hours.
  const fast = { sync: (r: SyncRequest): Promise<BatchOutcome> => (synced.push([...r.keys].sort()), Promise.resolve({ keys: r.keys, error: new Error('target app is down') })) };
  const timer = new DueTimer(due, fast as unknown as FastLane, () => undefined, stop.signal);
  const now = new Date();
  const kept = (eventId: string, key: string) => ({ endpoint: 'hr', eventId: `${eventId}${RETRY_SUFFIX}`, key, effectiveAt: now });

  await due.add([kept('e1', 'E1')]);
  timer.wake();
  await timer.idle();
  expect(synced).toEqual([['E1']]);

  // More events fail and are kept while the wait runs: their passes sync nothing again.
  for (const [id, key] of [['e2', 'E2'], ['e3', 'E3']] as const) {
    await due.add([kept(id, key)]);
    timer.wake();
    await timer.idle();
  }
  expect(synced).toEqual([['E1']]);

  // A future-dated change falling due is synced at once, without the kept ones.
  await due.add([{ endpoint: 'hr', eventId: 'e4', key: 'E4', effectiveAt: now }]);
  timer.wake();
  await timer.idle();
  expect(synced).toEqual([['E1'], ['E4']]);
  // Tried and kept, it waits with the others from then on.
  await due.add([kept('e5', 'E5')]);
  timer.wake();
  await timer.idle();
  expect(synced).toEqual([['E1'], ['E4']]);
  // Nothing is lost: every change is still kept, to try again.
  expect((await due.due(new Date())).map((c) => c.key).sort()).toEqual(['E1', 'E2', 'E3', 'E4', 'E5']);
});

it('a kept change its sender moved to a later date waits for that date, without a pass a millisecond meanwhile', async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  const due = new FileDueChanges(tempDir());
  let passes = 0;
  const counted: typeof due = Object.assign(Object.create(due) as typeof due, { due: (now: Date) => (passes++, due.due(now)) });
  const timer = new DueTimer(counted, neverApplied as unknown as FastLane, () => undefined, stop.signal);
  const t0 = Date.now();
  // A termination effective now, tried and not applied: kept.
  await due.add([{ endpoint: 'hr', eventId: 'term-E1', key: 'E1', effectiveAt: new Date(t0) }]);
  timer.wake();
  await timer.idle();
  // The sender sends the same event again, its date corrected to next week.
  await due.add([{ endpoint: 'hr', eventId: 'term-E1', key: 'E1', effectiveAt: new Date(t0 + 7 * 86_400_000) }]);
  await vi.advanceTimersByTimeAsync(61_000);
  await timer.idle();
  const before = passes;
  // Up to a minute before the new date: nothing is due, so no pass (a timer re-armed at 0 ms would
  // run thousands).
  await vi.advanceTimersByTimeAsync(7 * 86_400_000 - 61_000 - 60_000);
  await timer.idle();
  expect(passes - before).toBe(0);
  // At the date, it is tried.
  await vi.advanceTimersByTimeAsync(120_000);
  await timer.idle();
  expect(passes - before).toBe(1);
});

it('a future-dated change tried at its instant and failing for six hours is left to the full cycles, as an event kept to try again is', async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  const due = new FileDueChanges(tempDir());
  const synced: string[][] = [];
  const fast = { sync: (r: SyncRequest): Promise<BatchOutcome> => (synced.push([...r.keys]), neverApplied.sync(r)) };
  const lines: string[] = [];
  const timer = new DueTimer(due, fast as unknown as FastLane, (l) => lines.push(l), stop.signal);
  await due.add([{ endpoint: 'hr', eventId: 'term-E1', key: 'E1', effectiveAt: new Date() }]);
  timer.wake();
  await timer.idle();
  // Six hours of tries, a wait doubling to 15 minutes between them.
  await vi.advanceTimersByTimeAsync(6 * 3_600_000 + 16 * 60_000);
  await timer.idle();
  const tries = synced.length;
  expect(tries).toBeGreaterThan(5);
  expect(tries).toBeLessThan(40);
  expect(lines).toContain('due: 1 change tried again for 6 hours without applying, left to the full cycles: E1');
  expect(await due.due(new Date())).toEqual([]);
  // No more tries.
  await vi.advanceTimersByTimeAsync(3_600_000);
  expect(synced).toHaveLength(tries);
});

it('a change failing while the kept ones wait joins them: their next try is not put off', async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  const due = new FileDueChanges(tempDir());
  const synced: string[][] = [];
  const fast = { sync: (r: SyncRequest): Promise<BatchOutcome> => (synced.push([...r.keys].sort()), neverApplied.sync(r)) };
  const timer = new DueTimer(due, fast as unknown as FastLane, () => undefined, stop.signal);
  await due.add([{ endpoint: 'hr', eventId: `e1${RETRY_SUFFIX}`, key: 'E1', effectiveAt: new Date() }]);
  timer.wake();
  await timer.idle();
  // Half-way through E1's minute, a future-dated change falls due and fails.
  await vi.advanceTimersByTimeAsync(30_000);
  await due.add([{ endpoint: 'hr', eventId: 'e2', key: 'E2', effectiveAt: new Date() }]);
  timer.wake();
  await timer.idle();
  expect(synced).toEqual([['E1'], ['E2']]);
  // At the end of E1's minute, both are tried together.
  await vi.advanceTimersByTimeAsync(31_000);
  await timer.idle();
  expect(synced).toEqual([['E1'], ['E2'], ['E1', 'E2']]);
});

/**
 * The due-change timer over a real due-changes file, with a stand-in for the fast lane that never
 * applies: changes kept to try again wait for their doubling wait whatever wakes the timer, so a
 * long outage or quarantine with events arriving does not sync every kept change again at each
 * event's pass; a future-dated change that falls due is synced at once, alone.
 */
import { afterEach, expect, it } from 'vitest';
import { DueTimer, RETRY_SUFFIX } from '../../src/service/due-timer.js';
import type { BatchOutcome, FastLane, SyncRequest } from '../../src/service/fast-lane.js';
import { FileDueChanges } from '../../src/state/due-changes.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs('scim-sync-due-');
const stop = new AbortController();
afterEach(() => stop.abort());

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

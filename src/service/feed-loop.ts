/**
 * One change feed's loop in the service: poll, hand the keys to the fast lane (or ask for a full
 * reconcile), commit the feed's position once that is applied everywhere, wait for the interval or the
 * feed's own wake-up, again. A poll that fails is logged and tried again at the next interval; the
 * feed is reported unhealthy by /readyz meanwhile.
 */
import { describeError } from '../errors.js';
import { unreached } from '../execution/run-report.js';
import type { ChangeFeed } from '../sources/change-feed.js';
import { notApplied, type FastLane } from './fast-lane.js';
import type { Metrics } from '../telemetry/metrics.js';
import { cycleLeftOut, type CycleOutcome, type ReconcileLane } from './reconcile-lane.js';
import { FeedPeople, type PollView } from './feed-people.js';
import { GIVE_UP_AFTER_MS, RetryWait } from './retry-wait.js';

export interface FeedStatus {
  name: string;
  description: string;
  lastPoll?: string;
  lastChange?: string;
  /** The last poll's failure, until a poll succeeds. */
  error?: string;
  /** What the last poll that succeeded found wrong and worked around (ChangeFeed.warnings). */
  warnings?: string[];
}

export interface FeedLoopDeps {
  fast: FastLane;
  reconcile: ReconcileLane;
  metrics: Metrics;
  intervalMs: number;
  log(line: string): void;
}

/** Waits `ms`, or less when the feed says something changed or `signal` aborts. */
async function pause(feed: ChangeFeed, ms: number, signal: AbortSignal): Promise<void> {
  const done = new AbortController();
  const both = AbortSignal.any([signal, done.signal]);
  const timer = new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    both.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
  try {
    await Promise.race([timer, feed.changed ? feed.changed(both).catch(() => undefined) : timer]);
  } finally {
    done.abort();
  }
}

/** The promise's value, or undefined as soon as `signal` aborts (the promise is left to settle alone). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.resolve(undefined);
  }
  return new Promise<T | undefined>((resolve, reject) => {
    const stop = () => resolve(undefined);
    signal.addEventListener('abort', stop, { once: true });
    promise.then(
      (value) => (signal.removeEventListener('abort', stop), resolve(value)),
      (error: unknown) => (signal.removeEventListener('abort', stop), reject(error)),
    );
  });
}

export { MAX_RETRY_WAIT_MS } from './retry-wait.js';

/** Keeps the feed's warnings in its status (for /readyz), logging each when it first appears. */
function noteWarnings(name: string, feed: ChangeFeed, status: FeedStatus, log: (line: string) => void): void {
  const warnings = feed.warnings?.() ?? [];
  for (const w of warnings) if (!status.warnings?.includes(w)) log(`feed ${name}: warning: ${w}`);
  if (warnings.length > 0) status.warnings = [...warnings];
  else delete status.warnings;
}

export async function runFeed(name: string, feed: ChangeFeed, status: FeedStatus, deps: FeedLoopDeps, signal: AbortSignal): Promise<void> {
  const full = new RetryWait(deps.intervalMs);
  // Who was handed out since the position, synced, and applied or not: a poll syncs at once only
  // the new and the changed again (a new leaver is not held up by a quarantine), the rest after the
  // doubling wait; the position is committed once everyone is applied.
  const people = new FeedPeople(deps.intervalMs);

  /** Syncs `keys` of the poll `view` (`retrying`: some were synced before and not applied). */
  const sync = async (view: PollView, keys: readonly string[], retrying: boolean): Promise<void> => {
    const waitingBefore = people.waiting;
    const outcome = await deps.fast.sync({ keys, initiator: 'event', by: `feed ${name}` });
    // A batch that did not reach every target for a passing reason (the source unreadable, a
    // target down or in quarantine, a 503 on a leaver's deactivation) is handed out again by
    // the next polls and tried again after the wait: committed, it waited for the next full
    // cycle, and without a schedule for a restart.
    const left = notApplied(outcome);
    people.synced(view, keys, left?.keys);
    if (left === undefined) {
      if (!people.reachedAfterWholesaleMiss() && !people.waiting) people.retry.reached();
      return;
    }
    // People who were waiting keep their time: someone new missing does not put them off.
    const wait = retrying || !waitingBefore ? people.retry.missed() : people.retry.remainingMs();
    deps.log(`feed ${name}: not applied, handed out again and tried in ${Math.ceil(wait / 1000)} s: ${left.why}`);
  };

  while (!signal.aborted) {
    try {
      // A poll waiting out a source's backoff (Google asks for up to minutes) must not hold the
      // service's stop: abandoned, it has taken nothing (the position moves only on commit).
      const batch = await untilAborted(feed.poll(signal), signal);
      if (signal.aborted) break;
      status.lastPoll = new Date().toISOString();
      delete status.error;
      noteWarnings(name, feed, status, deps.log);
      const view = batch && !batch.full ? people.view(batch) : undefined;
      const given = view ? people.giveUp() : [];
      if (given.length > 0) deps.log(`feed ${name}: ${given.length} tried again for ${GIVE_UP_AFTER_MS / 3_600_000} hours without applying, left to the full cycles: ${given.join(', ')}`);
      const due = view ? people.due(view) : undefined;
      if (!batch) deps.metrics.feedPolls.inc({ feed: name, result: 'none' });
      else if (batch.full ? full.waiting() : due!.keys.length === 0 && people.waiting) {
        // Asked for before and not due again: the position stays, and nothing runs.
        deps.metrics.feedPolls.inc({ feed: name, result: batch.full ? 'full' : 'changes' });
      } else {
        const noticed = Date.now();
        status.lastChange = status.lastPoll;
        deps.log(`feed ${name}: ${batch.description}`);
        if (batch.full) {
          deps.metrics.feedPolls.inc({ feed: name, result: 'full' });
          const outcome = await deps.reconcile.request(`feed ${name}: ${batch.full}`, { awaitApply: true });
          const why = cycleLeftOut(outcome);
          if (why === undefined) {
            await batch.commit();
            full.reached();
            // The cycle read and applied everyone, after this poll.
            people.clear();
          } else deps.log(`feed ${name}: the full reconcile it asked for did not reach every target, asked again in ${Math.ceil(full.missed() / 1000)} s: ${why}`);
        } else {
          deps.metrics.feedPolls.inc({ feed: name, result: 'changes' });
          if (due!.keys.length > 0) await sync(view!, due!.keys, due!.retrying);
          const unconfirmed = people.unconfirmed(view!);
          if (unconfirmed.length > 0) {
            deps.log(`feed ${name}: ${unconfirmed.length} applied before, synced once more before the position moves (the feed cannot tell whether they changed since)`);
            await sync(view!, unconfirmed, false);
          }
          if (people.settled(view!)) {
            await batch.commit();
            people.clear();
            deps.metrics.propagation.observe((Date.now() - noticed) / 1000);
          }
        }
      }
    } catch (error) {
      if (signal.aborted) break;
      status.error = describeError(error);
      deps.metrics.feedPolls.inc({ feed: name, result: 'error' });
      deps.log(`feed ${name}: ${status.error}`);
    }
    await pause(feed, deps.intervalMs, signal);
  }
}

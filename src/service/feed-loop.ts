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

export interface FeedStatus {
  name: string;
  description: string;
  lastPoll?: string;
  lastChange?: string;
  /** The last poll's failure, until a poll succeeds. */
  error?: string;
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

/**
 * Longest wait before what a feed asked for that left a target out (a full reconcile, a batch of
 * people) is asked for again. Every poll (5 s by default) asking again would run a whole cycle
 * against the healthy targets, or the same people through them, every poll for as long as one
 * target stays in quarantine (hours); the wait doubles from the poll interval up to this instead, so
 * a change reaches the others within about a minute and costs a cycle a minute.
 */
export const MAX_RETRY_WAIT_MS = 60_000;

/** When what a feed asked for and did not get everywhere is asked for again: after a doubling wait. */
class RetryWait {
  private dueAt = 0;
  private waitMs: number;

  constructor(private readonly intervalMs: number) {
    this.waitMs = intervalMs;
  }

  /** Asked for before, and not due again yet. */
  waiting(): boolean {
    return Date.now() < this.dueAt;
  }

  /** It did not reach every target: the wait (ms) before it is asked for again; the next one is longer. */
  missed(): number {
    const wait = this.waitMs;
    this.dueAt = Date.now() + wait;
    this.waitMs = Math.min(wait * 2, MAX_RETRY_WAIT_MS);
    return wait;
  }

  reached(): void {
    this.dueAt = 0;
    this.waitMs = this.intervalMs;
  }
}

export async function runFeed(name: string, feed: ChangeFeed, status: FeedStatus, deps: FeedLoopDeps, signal: AbortSignal): Promise<void> {
  const full = new RetryWait(deps.intervalMs);
  const people = new RetryWait(deps.intervalMs);
  // The people of the last batch that did not reach every target: a poll naming only them waits
  // with `people`; one naming someone else runs at once (a new leaver is not held up by a quarantine).
  let missedKeys: ReadonlySet<string> = new Set();
  while (!signal.aborted) {
    try {
      // A poll waiting out a source's backoff (Google asks for up to minutes) must not hold the
      // service's stop: abandoned, it has taken nothing (the position moves only on commit).
      const batch = await untilAborted(feed.poll(signal), signal);
      if (signal.aborted) break;
      status.lastPoll = new Date().toISOString();
      delete status.error;
      if (!batch) deps.metrics.feedPolls.inc({ feed: name, result: 'none' });
      else if (batch.full ? full.waiting() : people.waiting() && batch.keys.every((k) => missedKeys.has(k))) {
        // Asked for before and not due again: the position stays, and nothing runs.
        deps.metrics.feedPolls.inc({ feed: name, result: batch.full ? 'full' : 'changes' });
      } else {
        const noticed = Date.now();
        status.lastChange = status.lastPoll;
        deps.log(`feed ${name}: ${batch.description}`);
        if (batch.full) {
          deps.metrics.feedPolls.inc({ feed: name, result: 'full' });
          const outcome = await deps.reconcile.request(`feed ${name}: ${batch.full}`);
          const why = cycleLeftOut(outcome);
          if (why === undefined) {
            await batch.commit();
            full.reached();
          } else deps.log(`feed ${name}: the full reconcile it asked for did not reach every target, asked again in ${Math.ceil(full.missed() / 1000)} s: ${why}`);
        } else {
          deps.metrics.feedPolls.inc({ feed: name, result: 'changes' });
          const outcome = await deps.fast.sync({ keys: batch.keys, initiator: 'event', by: `feed ${name}` });
          // A batch that did not reach every target for a passing reason (the source unreadable, a
          // target down or in quarantine, a 503 on a leaver's deactivation) is handed out again by
          // the next polls and tried again after the wait: committed, it waited for the next full
          // cycle, and without a schedule for a restart.
          const left = notApplied(outcome);
          if (left === undefined) {
            await batch.commit();
            people.reached();
            missedKeys = new Set();
            deps.metrics.propagation.observe((Date.now() - noticed) / 1000);
          } else {
            missedKeys = new Set(batch.keys);
            deps.log(`feed ${name}: not applied, handed out again and tried in ${Math.ceil(people.missed() / 1000)} s: ${left.why}`);
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

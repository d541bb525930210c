/**
 * What a sync tells whoever watches it while it runs: the progress display of `run`, `plan` and
 * `apply`, and the Prometheus metrics of every command that keeps them. Events are facts, told once
 * as they happen; an observer must not throw and must not block (it is called on the hot path of
 * the executor), so it only counts and remembers.
 *
 * Who tells what: the engine the source read and the targets' listings, the executors (inline, and
 * the BullMQ workers) each operation's outcome and each retry, the cycle's caller how a cycle ended
 * per target. The HTTP requests themselves come from targets/http/request-events.ts.
 */

export type SyncEvent =
  /** The source read begins (`records` so far, where the adapter counts them as it reads), or ended with `people` records (and `groups`). */
  | { type: 'source'; state: 'reading'; records?: number }
  | { type: 'source'; state: 'done'; people: number; groups: number }
  /** A page of a target's listing arrived: `listed` resources of the type so far, in `pages` pages; `done` after the last. */
  | { type: 'listing'; target: string; resource: 'Users' | 'Groups'; listed: number; pages: number; done: boolean }
  /** A target's apply begins: `total` operations in all its phases. */
  | { type: 'apply'; target: string; total: number }
  /** One operation ended (ok, partial, unchanged, skipped, failed). */
  | { type: 'operation'; target: string; kind: string; outcome: string }
  /** An operation is tried again after `delayMs`: the server asked (429, Retry-After) or the error was transient. */
  | { type: 'retry'; target: string; reason: 'rate-limited' | 'transient'; delayMs: number }
  /**
   * Distributed mode, a command waiting for the workers: `done` of the target's `total` operations
   * have an outcome recorded in Redis, as last read; `unreachableSince` (ms): Redis has not answered since.
   */
  | { type: 'queued'; target: string; total: number; done: number; unreachableSince?: number }
  /** A target's apply is over (every phase done, or stopped). */
  | { type: 'applied'; target: string }
  /** A full cycle ended for a target: `ok` when it read, applied and nothing failed; its duration. */
  | { type: 'cycle'; target: string; ok: boolean; seconds: number; endedAt: Date };

export type SyncObserver = (event: SyncEvent) => void;

/** Tells each observer given (none: nothing). */
export function observeAll(...observers: (SyncObserver | undefined)[]): SyncObserver | undefined {
  const present = observers.filter((o): o is SyncObserver => o !== undefined);
  if (present.length <= 1) return present[0];
  return (event) => {
    for (const o of present) o(event);
  };
}

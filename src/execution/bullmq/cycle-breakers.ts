/**
 * The failure breaker (failure-breaker.ts) of a cycle's target in a worker process: the same count as
 * the inline executor's, over every answer this process receives from the target while it runs
 * chunks of the cycle. A cycle's chunks come one after another (a phase's, then the next phase's):
 * the count goes on across them rather than starting again with each, which would let a target
 * that fails everything take `stopAfterFailures` per chunk. One cycle per target at a time (its
 * lock): the count of an earlier cycle is dropped when a newer one's chunk starts.
 *
 * When it trips, the cycle stops for the target as after a refused credential (kind `unavailable`):
 * this worker knows at once (StopTracker), its requests and retries that wait give up (`signal`),
 * and the stop is recorded in Redis, where the other workers find it and the cycle's report reads it
 * (the chunk completes only once it is recorded: `recorded`). Each worker process counts what it
 * sends; the first to trip stops the cycle for all.
 */
import type { TargetRuntime } from '../executor.js';
import { FailureCount, breakerReason, countFailures } from '../failure-breaker.js';
import type { TargetStop } from '../run-report.js';
import type { CycleStore } from './cycle-store.js';
import type { StopTracker } from './stop-tracker.js';

interface CycleBreaker {
  planId: string;
  target: string;
  count: FailureCount;
  /** Chunks of the cycle running in this process: answers are counted while there is one. */
  chunks: number;
  unwatch?: () => void;
  /** Aborted when the breaker trips. */
  tripped: AbortController;
  stop?: TargetStop;
  /** The stop's write to Redis, once begun; cleared when it failed, so that the next chunk's end writes it again. */
  writing?: Promise<void>;
}

/** What a chunk holds of its cycle's breaker. */
export interface ChunkBreaker {
  /** Aborted when the cycle's breaker trips in this process. */
  signal: AbortSignal;
  /** The chunk's operations are over: its answers are no longer counted (unless another chunk of the cycle runs). */
  release(): void;
  /** Resolves once a trip of the cycle's breaker in this process is recorded in Redis (at once when it did not trip). */
  recorded(): Promise<void>;
}

export class CycleBreakers {
  private readonly cycles = new Map<string, CycleBreaker>();

  constructor(
    private readonly store: CycleStore,
    private readonly stops: StopTracker,
    private readonly runtimes: ReadonlyMap<string, TargetRuntime>,
  ) {}

  /** The breaker of this cycle's target, counting from now until the chunk releases it. */
  open(planId: string, target: string): ChunkBreaker {
    const cycle = this.cycle(planId, target);
    if (cycle.chunks++ === 0) cycle.unwatch = countFailures(target, cycle.count);
    let released = false;
    return {
      signal: cycle.tripped.signal,
      release: () => {
        if (released) return;
        released = true;
        if (--cycle.chunks === 0) cycle.unwatch?.();
      },
      recorded: () => this.record(cycle),
    };
  }

  private cycle(planId: string, target: string): CycleBreaker {
    const key = `${planId}\n${target}`;
    const known = this.cycles.get(key);
    if (known) return known;
    // An earlier cycle of the target is over here (the lock holds one at a time) once none of its chunks runs.
    for (const [k, c] of this.cycles) if (c.target === target && c.chunks === 0) this.cycles.delete(k);
    const limit = this.runtimes.get(target)!.stopAfterFailures;
    const cycle: CycleBreaker = {
      planId,
      target,
      chunks: 0,
      tripped: new AbortController(),
      count: new FailureCount(limit, (n, last) => {
        const stop: TargetStop = { kind: 'unavailable', reason: breakerReason(target, n, last) };
        cycle.stop = stop;
        // Before the next operation of this process starts: it is skipped, not sent.
        this.stops.remember(planId, target, stop.reason);
        cycle.tripped.abort(new Error(stop.reason));
        // Begun now for the other workers; a failure is met again (and the write retried) at the chunk's end.
        this.record(cycle).catch(() => undefined);
      }),
    };
    this.cycles.set(key, cycle);
    return cycle;
  }

  private record(cycle: CycleBreaker): Promise<void> {
    const { planId, target, stop } = cycle;
    if (!stop) return Promise.resolve();
    cycle.writing ??= this.store.stop(planId, target, stop).then(
      (recorded) => {
        // Another stop came first (a refused credential): that one is the cycle's.
        if (!recorded.first) this.stops.remember(planId, target, recorded.reason);
      },
      (error: unknown) => {
        cycle.writing = undefined;
        throw error;
      },
    );
    return cycle.writing;
  }
}

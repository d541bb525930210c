/**
 * How distributed mode lays its work out on BullMQ queues, shared by the enqueuer, workers,
 * scheduler, `status` and `retry`. The queue names and every other Redis key are built in
 * state/redis-keys.ts.
 *
 * - Queue `target-<name>` per target: one job per chunk of a phase's operations (chunkSize below;
 *   concurrency, rate limit and 429 pauses are per target, so one app never stalls another). A
 *   worker runs a chunk's operations side by side, each with its own retries, outcome, link changes
 *   and dead letter (chunk-jobs.ts), and records their outcomes in a few Redis calls per chunk
 *   instead of several per operation.
 * - Queue `control`: one `phase` job per target and phase with operations. Phase i's job makes phase
 *   i+1's job with one child, a `feed` job, which puts phase i's operations on the target's queue in
 *   chunks, as further children of phase i+1's job. BullMQ starts that job only when every child has
 *   finished (completed or failed for good): a phase completes before the next starts, whichever
 *   worker runs what. A phase job passes over phases with no operations itself (phase i+1's job
 *   goes on with phase i+3 when i+1 and i+2 have none). The job after the last phase writes the
 *   report and releases the target's lock.
 * - Queue `schedule`: the job scheduler's ticks and the cycles they start.
 *
 * Job ids are `<planId>_p<phase>_<first>_<count>` (a chunk: its first operation's index in the phase
 * and how many it holds), `<planId>_<target>_p<phase>` and `_f<phase>`: deterministic, so enqueueing a
 * plan again adds nothing twice; never containing ':' (BullMQ's key separator) nor a plain integer.
 * A chunk's id says how many operations it holds, so `status` counts operations from BullMQ's id
 * lists without loading the jobs.
 */
import type { JobsOptions } from 'bullmq';
import type { RateLimit } from '../../config/profiles.js';
import type { Operation, TargetFingerprint } from '../../model/plan.js';

export const chunkJobId = (planId: string, phase: number, first: number, count: number): string => `${planId}_p${phase}_${first}_${count}`;
export const phaseJobId = (planId: string, target: string, phase: number): string => `${planId}_${target}_p${phase}`;
export const feedJobId = (planId: string, target: string, phase: number): string => `${planId}_${target}_f${phase}`;

/** How many operations the job with this id holds (chunkJobId); 1 for an id of another shape. */
export function operationsInJob(jobId: string): number {
  const count = /_\d+_(\d+)$/.exec(jobId)?.[1];
  return count === undefined ? 1 : Number(count);
}

/** What every chunk job says of its cycle, whichever way it names its operations. */
interface ChunkJobCycle {
  planId: string;
  target: string;
  /** Token of the target's cycle lock, renewed as the cycle progresses. */
  lockToken: string;
  phase: number;
  /** PlanMeta.guardedSince: look at the people's clock before writing (the service's cycles). */
  guardedSince?: number;
  /** PlanMeta.binding: the worker writes only when its own config points the target at the same server as the same identity. */
  binding?: TargetFingerprint;
  /** PlanMeta.recreateAllowance: the cycle's re-creates at run time, counted in Redis across workers (absent: none). */
  recreateAllowance?: number;
  /**
   * Set by a worker that stopped (SIGTERM) with operations of the chunk not done, before it put the
   * chunk back: the attempt it stopped in, and the operations whose earlier attempt may have been
   * committed by the server (timeout, reset). The next worker trusts this only when it takes the
   * chunk right after that attempt; after anything else (a worker died), every operation without a
   * recorded outcome may have been sent: creates look before posting again.
   */
  handedBack?: { attempt: number; ambiguous: string[] };
}

/**
 * A chunk: `count` consecutive operations of the phase from its `first`, each run, retried and
 * recorded on its own. They are the stored plan's part `part` of the phase (the planner stores a
 * phase in parts of one chunk each: CycleStore.chunkOperations): a job holds no value the
 * operations write, so a phase's data is in Redis once (not again in every job, completed ones
 * kept for retentionHours), and putting a phase on the queue parses, checks and writes none of it.
 */
export type ChunkJobData = ChunkJobCycle & { first: number; count: number; part: number };

/** A chunk job an earlier version put on the queue: its operations in the job itself. */
export type HeldChunkJobData = ChunkJobCycle & { ops: Operation[] };

/** A chunk job of either kind, as a worker, `status` or `retry` may find it on the queue. */
export type AnyChunkJobData = ChunkJobData | HeldChunkJobData;

/** What a chunk job returns (kept with the completed job). */
export interface ChunkJobResult {
  operations: number;
}

export interface PhaseJobData {
  planId: string;
  target: string;
  lockToken: string;
  /** Phase to start; equal to the number of phases: the cycle is done. */
  phase: number;
  /** Feed jobs: operations per chunk, fixed when the feed job is made so that a retried feed cuts the same chunks. */
  chunk?: number;
}

/** Retries of control and chunk jobs: only Redis errors make them fail (operations retry inside a chunk). */
export const CONTROL_ATTEMPTS = 10;

/** A job whose worker died is given to another worker this many times; after that it fails. */
export const MAX_STALLED_COUNT = 2;

/** Operations per chunk per request in flight: a chunk keeps a worker's slots busy for a few round trips of the target. */
const CHUNK_PER_SLOT = 4;
/** The largest chunk: bounds what a dead worker's successor re-checks and how unevenly a phase's last chunks spread over workers. */
const MAX_CHUNK = 64;
/** A rate-limited target's chunk holds at most this share of its window's budget (at least one operation). */
const RATE_WINDOW_SHARE = 10;

/**
 * Operations per chunk for a target: `CHUNK_PER_SLOT` per request it may have in flight, at most
 * `MAX_CHUNK`. With a rate limit, at most a tenth of the requests its window allows, and no more
 * than its slots: the limiter counts chunks (limiterOf), a chunk's operations all start as soon as
 * it is let through (chunksInFlight), and a window is still spread over ten chunks or more. A
 * target allowed fewer than 20 requests a window gets chunks of one operation, paced as before.
 */
export function chunkSize(concurrency: number, rateLimit: RateLimit | null): number {
  const bySlots = Math.max(1, Math.min(MAX_CHUNK, concurrency * CHUNK_PER_SLOT));
  return rateLimit ? Math.max(1, Math.min(concurrency, bySlots, Math.floor(rateLimit.requests / RATE_WINDOW_SHARE))) : bySlots;
}

/**
 * Chunks a worker process holds at once for a target. Without a rate limit: enough to fill its
 * `concurrency` slots, and one more whose operations take the slots the previous chunk's last ones
 * leave free (no slot idles while a finished chunk is recorded and the next one fetched). With a
 * rate limit: only as many as its slots run at once, so that no operation of a chunk the limiter
 * let through waits for a slot into the next window.
 */
export function chunksInFlight(concurrency: number, chunk: number, rateLimited: boolean): number {
  return rateLimited ? Math.max(1, Math.floor(concurrency / chunk)) : Math.ceil(concurrency / chunk) + 1;
}

/**
 * BullMQ's limiter for a target: its `rateLimit` in chunks, shared by every worker of the queue
 * (`requests / chunk` chunks per window, so as many operations as the window allows). Each worker's
 * own request budget (targets/http/request-budget.ts) holds the limit for its requests on top. BullMQ
 * honours a manual rate limit (our 429 pause) only on a queue that has a limiter, so a target without
 * `rateLimit` gets one no run can reach.
 */
export function limiterOf(rateLimit: RateLimit | null, chunk = 1): { max: number; duration: number } {
  return rateLimit ? { max: Math.max(1, Math.floor(rateLimit.requests / chunk)), duration: rateLimit.perMs } : { max: 1_000_000_000, duration: 1000 };
}

/** Options of every control job: retried on Redis trouble, kept a while, failures kept. */
export function controlJobOptions(retentionHours: number): JobsOptions {
  return {
    attempts: CONTROL_ATTEMPTS,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { age: retentionHours * 3600 },
    removeOnFail: false,
  };
}

/**
 * The job that puts a phase's operations on the queue: a failure (Redis gone for long) must not
 * block the cycle (ignoreDependencyOnFailure: the next phase's job goes on, as inline; the
 * operations it did not put on the queue become failed operations when the cycle finishes).
 */
export function feedJobOptions(retentionHours: number): JobsOptions {
  return { ...controlJobOptions(retentionHours), ignoreDependencyOnFailure: true };
}

/** Failed chunk jobs kept per target queue at most (BullMQ drops the oldest beyond). */
export const FAILED_CHUNKS_KEPT = 1000;

/**
 * A chunk job: as a feed job, a failure (a chunk whose workers kept dying, Redis refusing its
 * writes) does not block the cycle. A failed chunk stays until its cycle finishes (its operations
 * without an outcome become dead letters then, and the job is removed), and at most
 * `failedRetentionHours`, the newest FAILED_CHUNKS_KEPT of them, whatever becomes of the cycle (one
 * an earlier version made holds its operations, with what they would write: personal data).
 */
export function chunkJobOptions(retentionHours: number, failedRetentionHours: number): JobsOptions {
  return { ...feedJobOptions(retentionHours), removeOnFail: { age: failedRetentionHours * 3600, count: FAILED_CHUNKS_KEPT } };
}

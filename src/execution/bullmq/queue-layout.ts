/**
 * How distributed mode lays its work out on BullMQ queues, shared by the enqueuer, workers,
 * scheduler, `status` and `retry`. The queue names and every other Redis key are built in
 * state/redis-keys.ts.
 *
 * - Queue `target-<name>` per target: one job per plan operation (concurrency, rate limit and 429
 *   pauses are per target, so one app never stalls another).
 * - Queue `control`: one `phase` job per target and phase. Phase i's job makes phase i+1's job with one
 *   child, a `feed` job, which puts phase i's operations on the target's queue as further children of
 *   phase i+1's job. BullMQ starts that job only when every child has finished (completed or failed
 *   for good): a phase completes before the next starts, whichever worker runs what. Phase i+1's job
 *   first records phase i's results (OpJobResult). The job after the last phase writes the report
 *   and releases the target's lock.
 * - Queue `schedule`: the job scheduler's ticks and the cycles they start.
 *
 * Job ids are `<planId>_<opId>`, `<planId>_<target>_p<phase>` and `_f<phase>`: deterministic, so enqueueing a
 * plan again adds nothing twice; never containing ':' (BullMQ's key separator) nor a plain integer.
 */
import type { JobsOptions } from 'bullmq';
import type { RateLimit } from '../../config/profiles.js';
import type { Operation, OperationKind } from '../../model/plan.js';
import type { LinkWrite } from '../../state/redis-link-store.js';

export const opJobId = (planId: string, opId: string): string => `${planId}_${opId}`;
export const phaseJobId = (planId: string, target: string, phase: number): string => `${planId}_${target}_p${phase}`;
export const feedJobId = (planId: string, target: string, phase: number): string => `${planId}_${target}_f${phase}`;

export interface OpJobData {
  planId: string;
  target: string;
  /** Token of the target's cycle lock, renewed as the cycle progresses. */
  lockToken: string;
  op: Operation;
  /** An earlier attempt may have been committed by the server (timeout, reset): look before writing again. */
  ambiguous?: boolean;
  /** PlanMeta.guardedSince: look at the person's clock before writing (the service's cycles). */
  guardedSince?: number;
}

/**
 * What an operation job returns. BullMQ stores it in the next phase's job with the completion itself
 * (one Redis call), and that job records the phase's outcomes and link changes in bulk before the
 * next phase starts, so each operation costs one Redis round trip fewer.
 */
export type OpJobResult = { outcome: 'ok'; opId: string; kind: OperationKind; links: LinkWrite[]; adopted?: true } | { outcome: 'skipped' | 'recorded' };

export interface PhaseJobData {
  planId: string;
  target: string;
  lockToken: string;
  /** Phase to start; equal to the number of phases: the cycle is done. */
  phase: number;
}

/** Retries of control jobs (only Redis errors make them fail). */
export const CONTROL_ATTEMPTS = 10;

/** BullMQ's name for our backoff strategy (retry-policy.ts behind it). */
export const BACKOFF_TYPE = 'scim-sync';

/** A job whose worker died is given to another worker this many times; after that it fails. */
export const MAX_STALLED_COUNT = 2;

/**
 * BullMQ's limiter for a target: its `rateLimit`, shared by every worker of the queue. BullMQ honours
 * a manual rate limit (our 429 pause) only on a queue that has a limiter, so a target without
 * `rateLimit` gets one no run can reach.
 */
export function limiterOf(rateLimit: RateLimit | null): { max: number; duration: number } {
  return rateLimit ? { max: rateLimit.requests, duration: rateLimit.perMs } : { max: 1_000_000_000, duration: 1000 };
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

/** The job that puts a phase's operations on the queue: a failure (Redis gone for long) must not block the cycle. */
export function feedJobOptions(retentionHours: number): JobsOptions {
  return { ...controlJobOptions(retentionHours), ignoreDependencyOnFailure: true };
}

/**
 * Options of an operation job: `attempts` from the target's retry policy, our backoff strategy, kept
 * when it fails for good (the dead letters `status` shows and `retry` re-queues), and a failure
 * never blocks the next phase (ignoreDependencyOnFailure: the phase job goes on, as inline).
 */
export function operationJobOptions(retentionHours: number, attempts: number): JobsOptions {
  return {
    attempts,
    backoff: { type: BACKOFF_TYPE },
    removeOnComplete: { age: retentionHours * 3600 },
    removeOnFail: false,
    ignoreDependencyOnFailure: true,
  };
}

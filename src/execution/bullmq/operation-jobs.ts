/**
 * The processor of operation jobs (one queue per target). A job is one attempt of one plan operation
 * through the shared runOperation(), with a client this worker built from its own config (plans
 * carry no credential). Its error decides what BullMQ does next, through retry-policy.ts like the
 * inline executor:
 * - retryable (timeout, reset, 5xx): thrown as is; BullMQ retries it after retryDelay() (our backoff
 *   strategy), up to the target's `retries`;
 * - 429: the target's whole queue pauses for what the server asked (queue.rateLimit), across every
 *   worker, and the job goes back to wait;
 * - anything else, or retries used up: the outcome is recorded, then UnrecoverableError fails the job
 *   at once; it stays in the failed set with its reason (a dead letter) until `scim-sync retry`.
 * A success returns its outcome and link changes (OpJobResult), which BullMQ stores with the
 * completion in the same Redis call; the next phase's job records them in bulk before that phase
 * starts. A final failure's outcome is written before the job fails. So a worker killed at any point
 * only makes another worker redo an idempotent operation (a create re-checks before posting again).
 */
import { UnrecoverableError, Worker, type Job, type MinimalJob } from 'bullmq';
import { AuthError, DependencyError, RateLimitedError, TransientError, describeError } from '../../errors.js';
import { DEFAULT_RETRY_POLICY, retryDelay, type RetryPolicy } from '../../targets/http/retry-policy.js';
import { recordFailedCreate } from '../dependencies.js';
import type { TargetRuntime } from '../executor.js';
import {
  errorDetail,
  operationAuditRecord,
  operationFailure,
  operationSkip,
  resultDetail,
  resultOutcome,
} from '../operation-outcome.js';
import { personOf, supersededReason } from '../../state/person-clock.js';
import { runOperation, type AttemptState } from '../run-operation.js';
import { settleChecks } from '../write-checks.js';
import { OperationLinks } from './operation-links.js';
import { BACKOFF_TYPE, type OpJobData, type OpJobResult } from './queue-layout.js';
import type { WorkerContext } from './worker-context.js';

type JobAttempts = { data: OpJobData; opts: { attempts?: number } };

function policyOf(runtimes: ReadonlyMap<string, TargetRuntime>, job: JobAttempts): RetryPolicy {
  const policy = runtimes.get(job.data.target)?.retry ?? DEFAULT_RETRY_POLICY;
  // The job's own attempts bound BullMQ's retries: never promise one BullMQ will not make.
  return { ...policy, maxAttempts: Math.min(policy.maxAttempts, job.opts.attempts ?? 1) };
}

/** BullMQ's backoff strategy for operation jobs: the target's retry policy (-1: no retry). */
export function operationBackoff(runtimes: ReadonlyMap<string, TargetRuntime>) {
  return (attemptsMade: number, type?: string, error?: Error, job?: MinimalJob<OpJobData>): number =>
    type === BACKOFF_TYPE && job ? (retryDelay(error, attemptsMade, policyOf(runtimes, job)) ?? -1) : -1;
}

export function operationProcessor(ctx: WorkerContext): (job: Job<OpJobData>) => Promise<OpJobResult> {
  const { store, links, audit } = ctx;
  const told = (target: string, kind: string, outcome: string) => ctx.observer?.({ type: 'operation', target, kind, outcome });

  /** `dependency`: skipped because something it needs does not exist (listed in the report), not because the target stopped. */
  const skip = async (job: Job<OpJobData>, reason: string, dependency = false) => {
    const { planId, target, op } = job.data;
    await store.recordOutcome(planId, target, op, 'skipped', dependency ? { skip: operationSkip(op, 'skipped', reason) } : {});
    audit.record(operationAuditRecord(planId, target, op, 'skipped', job.attemptsStarted - 1, { note: reason }));
    told(target, op.kind, 'skipped');
    return { outcome: 'skipped' } satisfies OpJobResult;
  };

  return async (job) => {
    const started = Date.now();
    const { planId, target, lockToken, op } = job.data;
    const runtime = ctx.runtimes.get(target)!;
    await ctx.locks.keep(target, lockToken);
    const stopped = await ctx.stops.reason(planId, target);
    if (stopped) return skip(job, stopped);
    const person = job.data.guardedSince !== undefined ? personOf(op) : undefined;
    const newer = person !== undefined ? supersededReason(person, await ctx.personClock.decidedAt(person), job.data.guardedSince!) : undefined;
    if (newer) return skip(job, newer, true);
    const state: AttemptState = {};
    // Started before without finishing (its worker died, or it was lost to a timeout): the server may
    // have committed that attempt.
    if (job.data.ambiguous || job.attemptsStarted > job.attemptsMade + 1) {
      state.previousAmbiguous = new TransientError('an earlier attempt may have been committed', { target, resource: op.externalId }, true);
    }
    const opLinks = new OperationLinks(links, ctx.keys);
    const failed = store.failedIdentities(planId, target);
    const writes = await ctx.writeChecks(planId, target);
    try {
      const result = await runOperation(op, { target, client: runtime.client, links: opLinks, failed, ...(writes ? { writes } : {}) }, state);
      const outcome = resultOutcome(result);
      audit.record(operationAuditRecord(planId, target, op, outcome, job.attemptsStarted, { ...resultDetail(result), durationMs: Date.now() - started }));
      told(target, op.kind, outcome);
      await settleChecks(writes, op);
      const adopted = result.adopted ? { adopted: true as const } : {};
      const notices = result.notices ? { notices: result.notices } : {};
      if (outcome === 'ok' && !result.notices) return { outcome: 'ok', opId: op.id, kind: op.kind, links: opLinks.changes(), ...adopted } satisfies OpJobResult;
      await store.recordOutcome(planId, target, op, outcome, {
        ...(result.partial ? { skip: operationSkip(op, 'partial', result.partial) } : result.unchanged && result.note ? { skip: operationSkip(op, 'unchanged', result.note) } : {}),
        ...adopted,
        ...notices,
      }, opLinks.changes());
      return { outcome: 'recorded' } satisfies OpJobResult;
    } catch (error) {
      if (error instanceof DependencyError) return skip(job, error.message, true);
      if (error instanceof AuthError) {
        // The first rejection stops the cycle for this target; later ones are the stop's consequence.
        // The workers hold their own copy of the config: say whose credential the target refused.
        const reason = await store.stop(planId, target, `stopped: ${error.message} (the credential in the workers' config, ${ctx.loaded.file})`);
        ctx.stops.remember(planId, target, reason.reason);
        if (!reason.first) return skip(job, reason.reason);
      }
      const policy = policyOf(ctx.runtimes, job);
      // A 429 re-run does not count as a BullMQ attempt; attemptsStarted does count it.
      const attempt = error instanceof RateLimitedError ? job.attemptsStarted : job.attemptsMade + 1;
      const delay = error instanceof AuthError ? null : retryDelay(error, attempt, policy);
      if (delay === null) {
        // Before the job fails: the next phase, which may need what this one was to create, starts after.
        await recordFailedCreate(failed, op);
        const parked = await settleChecks(writes, op, error);
        await store.recordOutcome(planId, target, op, 'failed', { failure: operationFailure(op, error), ...(parked ? { notices: [parked] } : {}) }, opLinks.changes());
        audit.record(
          operationAuditRecord(planId, target, op, 'failed', job.attemptsStarted, { ...errorDetail(error), ...(parked ? { note: parked } : {}), durationMs: Date.now() - started }),
        );
        told(target, op.kind, 'failed');
        throw new UnrecoverableError(describeError(error));
      }
      ctx.observer?.({ type: 'retry', target, reason: error instanceof RateLimitedError ? 'rate-limited' : 'transient', delayMs: delay });
      // What the attempt learnt stays learnt (a stale link it dropped), as inline.
      await links.apply(opLinks.changes());
      if (error instanceof RateLimitedError) {
        await ctx.queueOf(target).rateLimit(delay);
        throw Worker.RateLimitError();
      }
      if (error instanceof TransientError && error.ambiguous && !job.data.ambiguous) await job.updateData({ ...job.data, ambiguous: true });
      throw error;
    }
  };
}

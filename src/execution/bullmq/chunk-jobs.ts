/**
 * The processor of chunk jobs (one queue per target; queue-layout.ts). A chunk is a run of one
 * phase's operations. The worker runs them side by side in its slots for the target (its
 * `concurrency`, shared by the chunks it holds), each through the shared runOperation() with a
 * client this worker built from its own config (plans carry no credential), and each with its own
 * retries, as the inline executor runs them (retry-policy.ts):
 * - retryable (timeout, reset, 5xx): the operation waits retryDelay() out of its slot and runs
 *   again, up to the target's `retries`;
 * - 429: the same, and the target's whole queue pauses for what the server asked (queue.rateLimit):
 *   no worker takes a further chunk meanwhile, and this worker's request budget holds every request;
 * - anything else, or retries used up: the operation fails, and its dead letter (dead-letters.ts)
 *   keeps it with its reason until `scim-sync retry` (or a later cycle that does it, or the
 *   retention); the chunk goes on with the rest.
 * What the chunk needs from Redis is read once for all its operations (the operations themselves,
 * its part of the stored plan; their links, their people's clock), and each operation's outcome,
 * link changes and dead letter are recorded together with the others' (chunk-outcomes.ts): a few
 * Redis calls per chunk instead of several per operation.
 * The chunk completes once the last is recorded; the next phase starts after every chunk of this one.
 *
 * A target that answers too many requests in a row with 429, a 5xx or nothing stops the cycle for
 * it, as inline (the failure breaker, counted per worker process: cycle-breakers.ts): the operations
 * then in flight end and those that failed are failed (dead letters), the rest are skipped with the
 * breaker's reason, and the requests and retries that wait give up.
 *
 * A worker whose config points the target elsewhere (or as another identity, or with another
 * secret) than the planner's stops the target for the cycle before its first write
 * (worker-binding.ts): every operation is then skipped with that reason, as after a rejected
 * credential, and no link is touched.
 *
 * A cycle whose target lock expired or was taken by another cycle writes nothing more: the lock is
 * checked before each operation (lock-keeper.ts: asked again after a second) and with each write of
 * outcomes, and one lost stops the target for the cycle.
 *
 * A worker killed at any point leaves its chunks to another (BullMQ's stalled-job check), which runs
 * only the operations without a recorded outcome, each as one whose earlier attempt may have been
 * committed (a create looks before posting again). A worker starts an operation only while it holds
 * the chunk (chunk-lease.ts). A worker stopping (SIGTERM) starts no further operation, lets those in
 * flight end and records them, and puts the chunk back for the next worker.
 */
import { WaitingError, type Job } from 'bullmq';
import { prepareCredentialDigests } from '../../config/target-fingerprint.js';
import { AuthError, DependencyError, RateLimitedError, StoppedError, TransientError, describeError } from '../../errors.js';
import type { Operation } from '../../model/plan.js';
import { supersededOperations } from '../../state/person-clock.js';
import { targetQueueName } from '../../state/redis-keys.js';
import { retryDelay } from '../../targets/http/retry-policy.js';
import { sleepUnlessAborted } from '../abortable-sleep.js';
import { recordFailedCreate } from '../dependencies.js';
import { errorDetail, operationAuditRecord, operationFailure, operationSkip, resultDetail, resultOutcome } from '../operation-outcome.js';
import { runOperation, type AttemptState, type OperationResult } from '../run-operation.js';
import { settleChecks } from '../write-checks.js';
import { ChunkLease } from './chunk-lease.js';
import { ChunkLinks } from './chunk-links.js';
import { ChunkOutcomes } from './chunk-outcomes.js';
import { clearsDeadLetter, deadLetterId, deadLetterKey } from './dead-letters.js';
import { OperationLinks } from './operation-links.js';
import { chunkSize, limiterOf, type AnyChunkJobData, type ChunkJobResult } from './queue-layout.js';
import { takeWindowPlace } from './retry-window.js';
import { bindingMismatch } from './worker-binding.js';
import type { WorkerContext } from './worker-context.js';

/** What one attempt came to. */
type Step =
  /** Not started: this worker is stopping, or lost the chunk. */
  | { step: 'halt' }
  /** Not started: the cycle stopped sending to the target (`listed`: false), or a newer sync superseded it. */
  | { step: 'skip'; reason: string; listed: boolean }
  | { step: 'done'; result: OperationResult }
  /** `stoppedBefore`: a rejected credential, after another operation's rejection stopped the cycle (its consequence). */
  | { step: 'error'; error: unknown; stoppedBefore?: string };

export function chunkProcessor(ctx: WorkerContext): (job: Job<AnyChunkJobData>, token?: string) => Promise<ChunkJobResult> {
  const { store, audit } = ctx;

  return async (job, token) => {
    const { planId, target, lockToken } = job.data;
    const runtime = ctx.runtimes.get(target)!;
    const rateLimit = runtime.rateLimit;
    // The cycle's digest of this worker's credential (scrypt, tens of milliseconds on libuv's pool;
    // once per cycle) is taken while Redis is asked what the chunk needs, and compared before any write.
    const digests = prepareCredentialDigests([ctx.loaded.config.targets[target]!], planId);
    digests.catch(() => undefined);
    // Its part of the stored plan, checked: a part damaged or gone fails the job (BullMQ tries it
    // again; failed for good, its operations become failed operations when the cycle finishes).
    const ops = await store.chunkOperations(job.data);
    // A lock lost (expired, or another cycle's now) stops the target for the cycle: every operation is skipped below.
    await ctx.locks.keep(planId, target, lockToken);
    // Taken before (a worker died or stopped, or Redis failed a write): what was recorded is done.
    const retaken = job.attemptsStarted > 1;
    const recorded = retaken ? await store.recorded(planId, target, ops.map((op) => op.id)) : new Set<string>();
    const pending = ops.filter((op) => !recorded.has(op.id));
    const handedBack = job.data.handedBack?.attempt === job.attemptsStarted - 1 ? job.data.handedBack : undefined;
    const ambiguous = new Set(retaken ? (handedBack?.ambiguous ?? pending.map((op) => op.id)) : []);
    const [superseded, links, writes] = await Promise.all([
      job.data.guardedSince !== undefined ? supersededOperations(ctx.personClock, pending, job.data.guardedSince) : new Map<string, string>(),
      ChunkLinks.prefetch(ctx.links, target, pending),
      ctx.writeChecks(planId, target),
    ]);
    await digests;
    const mismatch = bindingMismatch(planId, target, job.data.binding, ctx.loaded.config.targets[target]!, ctx.loaded.file);
    if (mismatch) ctx.stops.remember(planId, target, (await store.stop(planId, target, { kind: 'config-differs', reason: mismatch })).reason);
    const failed = store.failedIdentities(planId, target);
    const recreates = store.recreateBudget(planId, target, job.data.recreateAllowance ?? 0);
    const outcomes = new ChunkOutcomes(store, planId, target, ctx.locks.outcomeLock(planId, target, lockToken));
    const lease = new ChunkLease(job, token, ctx.q.lockDurationMs);
    const slots = ctx.slots(target);
    const members = ctx.memberWrites(target);
    // Released once every operation of the chunk has ended (below).
    const breaker = ctx.breakers.open(planId, target);
    /** A retry's wait ends early when this process stops, or when the cycle's breaker trips (the retry will not happen). */
    const wake = AbortSignal.any([ctx.closing, breaker.signal]);
    /** Not done when this worker stopped (and of them, those whose earlier attempt may have been committed). */
    const left: string[] = [];
    const leftAmbiguous: string[] = [];

    const skip = async (op: Operation, attempts: number, reason: string, listed: boolean, opLinks: OperationLinks): Promise<void> => {
      outcomes.add(op.id, { kind: op.kind, outcome: 'skipped', ...(listed ? { skip: operationSkip(op, 'skipped', reason) } : {}) });
      audit.record(operationAuditRecord(planId, target, op, 'skipped', attempts, { note: reason }));
      ctx.observer?.({ type: 'operation', target, kind: op.kind, outcome: 'skipped' });
      await members?.undone(op, attempts > 0, opLinks);
    };

    const succeed = async (op: Operation, attempts: number, result: OperationResult, opLinks: OperationLinks, started: number): Promise<void> => {
      const outcome = resultOutcome(result);
      audit.record(operationAuditRecord(planId, target, op, outcome, attempts, { ...resultDetail(result), durationMs: Date.now() - started }));
      ctx.observer?.({ type: 'operation', target, kind: op.kind, outcome });
      await members?.done(result.members);
      await settleChecks(writes, op);
      const skipped = result.partial ? operationSkip(op, 'partial', result.partial) : result.unchanged && result.note ? operationSkip(op, 'unchanged', result.note) : undefined;
      outcomes.add(
        op.id,
        {
          kind: op.kind,
          outcome,
          ...(skipped ? { skip: skipped } : {}),
          ...(result.adopted ? { adopted: true as const } : {}),
          ...(result.recreated ? { recreated: true as const } : {}),
          ...(result.notices ? { notices: result.notices } : {}),
        },
        opLinks.changes(),
        // Done now: an earlier cycle's failure of the same operation is over.
        clearsDeadLetter(outcome) ? { done: deadLetterKey(op), at: Date.now() } : undefined,
      );
    };

    const fail = async (op: Operation, attempts: number, error: unknown, opLinks: OperationLinks, started: number): Promise<void> => {
      // Before the chunk completes: the next phase, which may need what this one was to create, starts after.
      await recordFailedCreate(failed, op);
      await members?.undone(op, true, opLinks);
      const parked = await settleChecks(writes, op, error);
      const at = new Date().toISOString();
      outcomes.add(
        op.id,
        { kind: op.kind, outcome: 'failed', failure: operationFailure(op, error), ...(parked ? { notices: [parked] } : {}) },
        opLinks.changes(),
        { dead: { id: deadLetterId(job.id!, op.id), key: deadLetterKey(op), planId, op, attempts, at, reason: describeError(error) } },
      );
      audit.record(operationAuditRecord(planId, target, op, 'failed', attempts, { ...errorDetail(error), ...(parked ? { note: parked } : {}), durationMs: Date.now() - started }));
      ctx.observer?.({ type: 'operation', target, kind: op.kind, outcome: 'failed' });
    };

    const attempt = async (op: Operation, n: number, state: AttemptState, opLinks: OperationLinks): Promise<Step> => {
      if (ctx.closing.aborted) return { step: 'halt' };
      // Each of these answers at once most of the time: awaited only when it had to ask Redis.
      const held = lease.held();
      if (held !== true && !(await held)) return { step: 'halt' };
      // Before the stop is read: a cycle that lost its lock is stopped by this (LockKeeper).
      const kept = ctx.locks.keep(planId, target, lockToken);
      if (kept instanceof Promise) await kept;
      const asked = ctx.stops.reason(planId, target);
      const stopped = asked instanceof Promise ? await asked : asked;
      if (stopped) return { step: 'skip', reason: stopped, listed: false };
      const newer = n === 1 ? superseded.get(op.id) : undefined;
      if (newer) return { step: 'skip', reason: newer, listed: true };
      try {
        const client = runtime.client.stoppedBy(breaker.signal);
        return { step: 'done', result: await runOperation(op, { target, client, links: opLinks, failed, recreates, ...(writes ? { writes } : {}) }, state) };
      } catch (error) {
        // The breaker tripped before this attempt changed anything: as if it had not started.
        if (error instanceof StoppedError) return { step: 'skip', reason: ctx.stops.known(planId, target) ?? error.message, listed: false };
        if (!(error instanceof AuthError)) return { step: 'error', error };
        // The first rejection stops the cycle for this target, before the slot goes to the next
        // operation. The workers hold their own copy of the config: say whose credential the target refused.
        const stop = await store.stop(planId, target, { kind: 'auth', reason: `stopped: ${error.message} (the credential in the workers' config, ${ctx.loaded.file})` });
        ctx.stops.remember(planId, target, stop.reason);
        return { step: 'error', error, ...(stop.first ? {} : { stoppedBefore: stop.reason }) };
      }
    };

    const run = async (op: Operation): Promise<void> => {
      const started = Date.now();
      const state: AttemptState = ambiguous.has(op.id)
        ? { previousAmbiguous: new TransientError('an earlier attempt may have been committed', { target, resource: op.externalId }, true) }
        : {};
      const opLinks = new OperationLinks(links, ctx.keys);
      for (let n = 1; ; n++) {
        const step = await slots.run(() => attempt(op, n, state, opLinks));
        if (step.step === 'halt') {
          left.push(op.id);
          if (state.previousAmbiguous) leftAmbiguous.push(op.id);
          // Left to another worker, after an attempt that may have been carried out.
          await members?.undone(op, state.previousAmbiguous !== undefined, opLinks);
          return;
        }
        if (step.step === 'skip') return skip(op, n - 1, step.reason, step.listed, opLinks);
        if (step.step === 'done') return succeed(op, n, step.result, opLinks, started);
        const { error } = step;
        if (error instanceof DependencyError) return skip(op, n - 1, error.message, true, opLinks);
        if (step.stoppedBefore) return skip(op, n - 1, step.stoppedBefore, false, opLinks);
        // As inline: once the cycle stopped for the target, an operation that failed is not tried again.
        const delay = error instanceof AuthError || ctx.stops.known(planId, target) !== undefined ? null : retryDelay(error, n, runtime.retry);
        if (delay === null) return fail(op, n, error, opLinks, started);
        ctx.observer?.({ type: 'retry', target, reason: error instanceof RateLimitedError ? 'rate-limited' : 'transient', delayMs: delay });
        // What the attempt learnt stays learnt (a stale link it dropped), as inline.
        outcomes.learned(opLinks.changes());
        if (error instanceof RateLimitedError) await ctx.queueOf(target).rateLimit(delay);
        if (error instanceof TransientError && error.ambiguous) state.previousAmbiguous = error;
        await sleepUnlessAborted(delay, wake);
        if (rateLimit && ctx.stops.known(planId, target) === undefined) await takeWindowPlace(ctx.redis, ctx.keys.limiter(targetQueueName(target)), limiterOf(rateLimit, chunkSize(runtime.concurrency, rateLimit)), ctx.closing);
      }
    };

    // Every operation ends (recorded, or left) before the chunk does, even when one throws.
    const ended = await Promise.allSettled(pending.map(run));
    breaker.release();
    await outcomes.close();
    // The cycle's report (written once every chunk completed) reads the breaker's stop from Redis.
    await breaker.recorded();
    const thrown = ended.find((e): e is PromiseRejectedResult => e.status === 'rejected');
    if (thrown) throw thrown.reason;
    if (left.length > 0) {
      if (lease.lost) {
        ctx.log(`chunk ${job.id} of ${target}: its lock was lost (Redis away, or this process stalled): ${left.length} operations left to the worker that takes it over`);
        return { operations: ops.length - left.length };
      }
      // Stopping: back on the queue, for the next worker to run what is left.
      await job.updateData({ ...job.data, handedBack: { attempt: job.attemptsStarted, ambiguous: leftAmbiguous } });
      await job.moveToWait(token);
      throw new WaitingError();
    }
    return { operations: ops.length };
  };
}

/**
 * The embedded executor: runs the plan in this process, one set of lanes per target (lanes.ts) (targets proceed in
 * parallel, so one app's rate limit never stalls another). Retries follow retry-policy.ts; the pace
 * of requests (and the pause of the whole target after a 429) is the client's request budget; a
 * rejected credential stops the target, and so do too many failed answers in a row (failure-breaker.ts). On targets that use /Bulk, user writes go in batches first
 * (bulk-apply.ts) and what a batch does not settle runs here one by one.
 *
 * `stop` (the operator's signal, or a state write that failed) ends the run early: no operation
 * starts after it, those in flight finish, and the rest are reported and audited as skipped with
 * the reason. The link store is not flushed here: whoever opened it closes it (engine/state.ts).
 */
import type { AuditSink } from '../audit/audit-sink.js';
import { AuthError, DependencyError, RateLimitedError, StoppedError, TransientError } from '../errors.js';
import type { Operation, Plan, TargetPlan } from '../model/plan.js';
import type { LinkStore } from '../state/link-store.js';
import type { SyncObserver } from '../telemetry/sync-events.js';
import type { WriteMemory } from '../state/write-memory.js';
import { WriteChecks, settleChecks } from './write-checks.js';
import type { MemberMemory } from '../state/member-memory.js';
import { memberWrites } from './member-writes.js';
import type { Executor, Superseded, TargetRuntime } from './executor.js';
import { FailedIdentitySet, recordFailedCreate } from './dependencies.js';
import { RecreateCount } from './recreate-budget.js';
import type { SafetyConfig } from '../config/schema/index.js';
import { recreateAllowance, type RecentChanges } from '../planning/safety.js';
import {
  errorDetail,
  operationAuditRecord,
  operationFailure,
  operationSkip,
  resultDetail,
  resultOutcome,
  targetFailedRecord,
  type OutcomeDetail,
} from './operation-outcome.js';
import { retryDelay } from '../targets/http/retry-policy.js';
import { sleepUnlessAborted } from './abortable-sleep.js';
import { runOperation, type AttemptState, type OperationResult } from './run-operation.js';
import { bulkBatches, isBulkable, sendBulk, type BulkableOp, type BulkOutcome } from './bulk-apply.js';
import { Lanes } from './lanes.js';
import { breakerReason, watchFailures } from './failure-breaker.js';
import { Unrecorded } from './unrecorded.js';
import type { OperationContext } from './operation-context.js';
import { NOT_CONFIGURED, addNotice, count, countAdopted, countRecreated, emptyTargetReport, stoppedTargetReport, type Outcome, type RunReport, type TargetReport, type TargetStop } from './run-report.js';

export interface InlineExecutorOptions {
  links: LinkStore;
  audit: AuditSink;
  /** Aborted: start no further operation (its reason, an Error, says why in the report). */
  stop?: AbortSignal;
  /** Why an operation must not start after all (a newer change of its person was applied meanwhile), if so. */
  superseded?: Superseded;
  /** Learned PATCH shapes and parked changes (absent: updates are not read back). */
  memory?: WriteMemory;
  /** Group members remembered on targets whose server returns them nowhere (absent: not kept). */
  members?: MemberMemory;
  /** Told each target's total, each operation's outcome and each retry (progress, metrics). */
  observer?: SyncObserver;
  /** The safety rules: the limits on re-creates hold for those an apply makes when it runs. */
  safety: SafetyConfig;
  /** What the service's change-driven batches did within the safety window: their re-creates count against this apply's. */
  recent?: RecentChanges;
}

export class InlineExecutor implements Executor {
  constructor(private readonly options: InlineExecutorOptions) {}

  async execute(plan: Plan, targets: ReadonlyMap<string, TargetRuntime>): Promise<RunReport> {
    const startedAt = new Date().toISOString();
    // Read before the first write to any target: a state file that cannot be read stops the run whole.
    const checks = new Map<string, WriteChecks>();
    const { memory } = this.options;
    for (const tp of plan.targets) {
      const settings = targets.get(tp.target)?.writeChecks;
      if (memory && settings && !tp.error) checks.set(tp.target, await WriteChecks.open(memory, tp.target, plan.id, settings));
    }
    const unrecorded = new Unrecorded(plan.id, this.options.audit);
    try {
      const reports = await Promise.all(
        plan.targets.map((tp) => {
          const runtime = targets.get(tp.target);
          if (tp.error) return emptyTargetReport(tp.target, tp.error);
          if (!runtime) return stoppedTargetReport(tp.target, NOT_CONFIGURED);
          return this.runTarget(plan.id, tp, runtime, checks.get(tp.target), unrecorded);
        }),
      );
      return { planId: plan.id, startedAt, finishedAt: new Date().toISOString(), targets: reports };
    } finally {
      unrecorded.close();
    }
  }

  /** `unrecorded`: each operation is in it from its start to its record. */
  private async runTarget(planId: string, tp: TargetPlan, runtime: TargetRuntime, writes: WriteChecks | undefined, unrecorded: Unrecorded): Promise<TargetReport> {
    const report = emptyTargetReport(tp.target);
    const queue = new Lanes(runtime.concurrency);
    const observer = this.options.observer;
    observer?.({ type: 'apply', target: tp.target, total: tp.phases.reduce((n, p) => n + p.operations.length, 0) });
    let stopped: TargetStop | undefined;

    const failed = new FailedIdentitySet();
    const members = memberWrites(this.options.members, tp.target, runtime.membersNowhere);
    const recreates = new RecreateCount(recreateAllowance(tp, this.options.safety, this.options.recent));
    const ctx = { target: tp.target, client: runtime.client, links: this.options.links, failed, recreates, ...(writes ? { writes } : {}) };
    const stop = this.options.stop;
    /**
     * Aborted when the target stops (the operator's stop, a refused credential, too many failures
     * in a row): its operations' requests that wait (for the budget, a Retry-After, a retry) give
     * up, and are not sent.
     */
    const targetStop = new AbortController();
    const stopTarget = (why: TargetStop, cause?: unknown): void => {
      // A refused credential says the most about the target (quarantine judges it).
      if (!stopped || why.kind === 'auth') stopped = why;
      targetStop.abort(cause ?? new Error(why.reason));
    };
    const onStop = () => stopTarget({ kind: 'interrupted', reason: `stopped: ${stop!.reason instanceof Error ? stop!.reason.message : String(stop!.reason)}` }, stop!.reason);
    if (stop?.aborted) onStop();
    else stop?.addEventListener('abort', onStop, { once: true });
    const unwatch = watchFailures(tp.target, runtime.stopAfterFailures, (n, last) => stopTarget({ kind: 'unavailable', reason: breakerReason(tp.target, n, last) }));
    /** Why no further operation starts on this target, if it is so. */
    const halted = (): string | undefined => stopped?.reason;
    /** The client for one operation (or /Bulk request): stopped with the target. */
    const stoppable = (): OperationContext => ({ ...ctx, client: runtime.client.stoppedBy(targetStop.signal) });

    /** `started`: when the operation's first attempt (or its /Bulk request) began, for the record's duration. */
    const succeed = (op: Operation, attempts: number, result: OperationResult, started: number): void => {
      const outcome = resultOutcome(result);
      count(report, op.kind, outcome);
      observer?.({ type: 'operation', target: tp.target, kind: op.kind, outcome });
      if (result.adopted) countAdopted(report, op.kind);
      if (result.recreated) countRecreated(report, op.kind);
      if (result.partial) report.skips.push(operationSkip(op, 'partial', result.partial));
      if (result.unchanged && result.note) report.skips.push(operationSkip(op, 'unchanged', result.note));
      for (const notice of result.notices ?? []) addNotice(report, notice);
      this.audit(planId, tp.target, op, outcome, attempts, resultDetail(result), started, unrecorded);
    };

    /** `listed`: skipped because something it needs failed; the skips of a stop are summed up by `stopped`. */
    const skip = (op: Operation, attempts: number, reason: string, listed: boolean, started: number): void => {
      count(report, op.kind, 'skipped');
      observer?.({ type: 'operation', target: tp.target, kind: op.kind, outcome: 'skipped' });
      if (listed) report.skips.push(operationSkip(op, 'skipped', reason));
      this.audit(planId, tp.target, op, 'skipped', attempts, { note: reason }, started, unrecorded);
    };

    const fail = async (op: Operation, attempts: number, error: unknown, started: number): Promise<void> => {
      count(report, op.kind, 'failed');
      observer?.({ type: 'operation', target: tp.target, kind: op.kind, outcome: 'failed' });
      report.failures.push(operationFailure(op, error));
      const parked = await settleChecks(writes, op, error);
      addNotice(report, parked);
      const detail = errorDetail(error);
      this.audit(planId, tp.target, op, 'failed', attempts, parked ? { ...detail, note: parked } : detail, started, unrecorded);
      await recordFailedCreate(failed, op);
      await members?.undone(op, true, ctx.links);
    };

    /** `first`: attempts already made (in a /Bulk request) count towards the limit. */
    const attempt = async (op: Operation, first = 1, state: AttemptState = {}, started = Date.now()): Promise<void> => {
      unrecorded.begin(tp.target, op);
      const newer = first === 1 ? this.options.superseded?.(tp.target, op) : undefined;
      if (newer) {
        skip(op, 0, newer, true, started);
        return;
      }
      for (let n = first; ; n++) {
        const why = halted();
        if (why) {
          skip(op, n - 1, why, false, started);
          await members?.undone(op, n > 1, ctx.links);
          return;
        }
        try {
          const result = await runOperation(op, stoppable(), state);
          succeed(op, n, result, started);
          await members?.done(result.members);
          await settleChecks(writes, op);
          return;
        } catch (error) {
          if (error instanceof DependencyError) {
            skip(op, n - 1, error.message, true, started);
            await members?.undone(op, n > 1, ctx.links);
            return;
          }
          if (error instanceof StoppedError) {
            // Stopped before this attempt changed anything: as if it had not started.
            skip(op, n - 1, halted() ?? error.message, false, started);
            await members?.undone(op, n > 1, ctx.links);
            return;
          }
          if (error instanceof AuthError) stopTarget({ kind: 'auth', reason: `stopped: ${error.message}` });
          const delay = halted() ? null : retryDelay(error, n, runtime.retry);
          if (delay !== null) {
            observer?.({ type: 'retry', target: tp.target, reason: error instanceof RateLimitedError ? 'rate-limited' : 'transient', delayMs: delay });
            if (error instanceof TransientError && error.ambiguous) state.previousAmbiguous = error;
            await sleepUnlessAborted(delay, targetStop.signal);
            continue;
          }
          await fail(op, n, error, started);
          return;
        }
      }
    };

    /** One /Bulk request; what it did not settle goes on in single requests. */
    const bulk = async (batch: BulkableOp[]): Promise<void> => {
      let outcomes: BulkOutcome[];
      const state: AttemptState = {};
      const started = Date.now();
      for (const op of batch) unrecorded.begin(tp.target, op);
      try {
        outcomes = halted() ? batch.map((op) => ({ op, single: undefined })) : await sendBulk(batch, stoppable());
      } catch (error) {
        if (error instanceof AuthError) stopTarget({ kind: 'auth', reason: `stopped: ${error.message}` });
        // The request may have been carried out before its answer was lost: creates look first.
        if (error instanceof TransientError && error.ambiguous) state.previousAmbiguous = error;
        outcomes = batch.map((op) => ({ op, single: undefined }));
      }
      for (const o of outcomes) {
        if ('done' in o) {
          succeed(o.op, 1, o.done, started);
          await members?.done(o.done.members);
        } else if ('failed' in o) await fail(o.op, 1, o.failed, started);
        else {
          // A result that may have been carried out (a 5xx, a create no result names, an answer naming another resource): creates look first.
          const ambiguous = o.single instanceof TransientError && o.single.ambiguous ? { previousAmbiguous: o.single } : {};
          queue.add(() => attempt(o.op, 2, { ...state, ...ambiguous }, started));
        }
      }
    };

    const limits = await runtime.client.bulkLimits();
    for (const phase of tp.phases) {
      // A superseded operation goes the single way, where it is skipped and reported.
      const bulkable = (op: Operation): op is BulkableOp => isBulkable(op) && !this.options.superseded?.(tp.target, op);
      const viaBulk = limits ? phase.operations.filter(bulkable) : [];
      const single = limits ? phase.operations.filter((op) => !bulkable(op)) : phase.operations;
      const batches = limits ? bulkBatches(viaBulk, limits, (op) => JSON.stringify(op).length) : [];
      for (const b of batches) queue.add(() => bulk(b));
      for (const op of single) queue.add(() => attempt(op));
      await queue.idle();
    }
    stop?.removeEventListener('abort', onStop);
    unwatch();
    if (stopped) {
      report.stopped = stopped.reason;
      report.stopKind = stopped.kind;
      this.options.audit.record(targetFailedRecord(planId, tp.target, stopped.reason));
    }
    observer?.({ type: 'applied', target: tp.target });
    return report;
  }

  /** `detail`: made for this record alone (it gets the duration). */
  private audit(planId: string, target: string, op: Operation, outcome: Outcome, attempts: number, detail: OutcomeDetail, started: number, unrecorded: Unrecorded): void {
    detail.durationMs = Date.now() - started;
    this.options.audit.record(operationAuditRecord(planId, target, op, outcome, attempts, detail));
    unrecorded.end(op);
  }
}

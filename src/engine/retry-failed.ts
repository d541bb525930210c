/**
 * `scim-sync retry` (distributed mode): the failed operations of each target, checked against a
 * fresh read (stale ones dropped), run again as a cycle of their own, in phase order. Re-queuing each dead letter where it lay would run a membership
 * change before the create of the person it adds; a new cycle runs the creates first, and its
 * report is what `status` shows as the target's last cycle.
 */
import { randomUUID } from 'node:crypto';
import type { LoadedConfig } from '../config/load.js';
import { CycleStore } from '../execution/bullmq/cycle-store.js';
import { failedOperations, removeFailedOperations, type FailedOperation } from '../execution/bullmq/failed-operations.js';
import { closeAbandonedCycles, type AbandonedCycle } from '../execution/bullmq/queue-status.js';
import { createTargetRuntime } from '../execution/target-runtime.js';
import type { RunReport } from '../execution/run-report.js';
import { PHASE_OF, PHASES, PLAN_FORMAT, PLAN_VERSION, operationsOf, type Operation, type Plan, type TargetPlan } from '../model/plan.js';
import { connectRedis } from '../state/redis-connection.js';
import { redisStep } from '../state/redis-errors.js';
import { targetFingerprint } from '../config/target-fingerprint.js';
import { decisionsNow, verifySavedPlan, type SkippedOperation } from './verify-plan.js';
import type { RunState } from './run-state.js';

export interface RetryOutcome {
  planId: string;
  /** Failed operations put in the retry cycle, per target (each counted once). */
  operations: Map<string, number>;
  /**
   * Cycles left behind by a failed control job, not resumed (they no longer hold their lock, so
   * would send nothing) but closed: their operations without an outcome are failed operations,
   * re-queued in this retry's cycle with the rest.
   */
  abandoned: AbandonedCycle[];
  /** Failed operations not re-queued: stale (the source or the account changed since) or already in place; their dead letters are gone. */
  skipped: SkippedOperation[];
  /** Targets whose failed operations could not be checked against a fresh read: kept as failed, not re-queued. */
  unchecked: Map<string, string>;
  report: RunReport;
}

/**
 * One target's failed operations as a plan of their own, phase by phase. The same person's (or
 * group's) operation of one kind failed in several cycles is kept once, the latest: `failed` is
 * oldest first. Member changes are the exception: one group's change is split into several
 * operations, each kept. Ids are renumbered, since two cycles' ids can collide.
 */
export function retryTargetPlan(target: string, failed: readonly Operation[]): TargetPlan {
  const latest = new Map<string, Operation>();
  for (const op of failed) latest.set(`${op.kind}\n${op.externalId}${op.kind === 'patchGroupMembers' ? `\n${op.id}` : ''}`, op);
  let n = 0;
  const phases = PHASES.map((name) => ({
    name,
    operations: [...latest.values()].filter((op) => PHASE_OF[op.kind] === name).map((op) => ({ ...op, id: `r${(++n).toString(36)}-${op.id}` })),
  }));
  return { target, managedUsers: 0, actualUsers: 0, phases, warnings: [] };
}

export async function retryFailed(loaded: LoadedConfig, state: RunState, targets: readonly string[], now = new Date()): Promise<RetryOutcome> {
  const q = loaded.config.queue!;
  const redis = await connectRedis(q.redis, { commandTimeoutMs: q.commandTimeoutMs });
  try {
    const store = CycleStore.of(redis, q);
    // First: what those cycles did not do becomes failed operations, read below with the others.
    const abandoned = await redisStep(q.redis, 'closing the cycles of failed control jobs', () => closeAbandonedCycles(redis, q, store, targets));
    for (const cycle of abandoned) {
      if (cycle.closed) state.audit.record({ time: now.toISOString(), planId: cycle.planId, target: cycle.target, action: 'cycle.end', outcome: 'info', note: `closed by scim-sync retry: a control job failed for good; ${cycle.closed.failed} operations without an outcome are failed operations now` });
    }
    const failed = new Map<string, FailedOperation[]>();
    for (const target of targets) failed.set(target, (await redisStep(q.redis, `reading the failed operations of ${target}`, () => failedOperations(redis, q, store, target))).list);
    // Targets with nothing failed get no cycle: their last cycle in `status` stays the real one.
    const targetPlans = targets
      .map((t) => retryTargetPlan(t, (failed.get(t) ?? []).map((f) => f.op)))
      .filter((tp) => tp.phases.some((p) => p.operations.length > 0));
    const id = `plan-retry-${randomUUID()}`;
    const planned: Plan = {
      format: PLAN_FORMAT,
      version: PLAN_VERSION,
      id,
      createdAt: now.toISOString(),
      expiresAt: now.toISOString(),
      binding: {
        source: { type: 'retry', location: 'failed operations', readAt: now.toISOString(), contentHash: '' },
        targets: Object.fromEntries(targetPlans.map((tp) => [tp.target, targetFingerprint(loaded.config.targets[tp.target]!)])),
      },
      config: loaded.file,
      source: { description: 'failed operations of earlier cycles', users: 0, activeUsers: 0, recordsRead: 0, invalidRecords: 0, issues: [] },
      targets: targetPlans,
    };
    const runtimes = new Map(targetPlans.map((tp) => [tp.target, createTargetRuntime(tp.target, loaded.config.targets[tp.target]!)]));
    // A dead letter may be days old: checked against the source and the target as they are now, as a
    // saved plan is before apply. A deactivation of someone back in the source since, or an update the
    // source has taken back, is stale and dropped, never replayed over a later cycle's decision.
    const verified = targetPlans.length > 0 ? await verifySavedPlan(loaded, planned, runtimes, state.links, state.members, await decisionsNow(state)) : { plan: planned, skipped: [] };
    const unchecked = new Map(verified.plan.targets.flatMap((tp) => (tp.error ? [[tp.target, tp.error] as const] : [])));
    const checked = verified.plan.targets.filter((tp) => !tp.error);
    const plan: Plan = { ...verified.plan, targets: checked.filter((tp) => tp.phases.some((p) => p.operations.length > 0)) };
    const operations = new Map(targets.map((t) => [t, operationsIn(plan.targets.find((tp) => tp.target === t))]));
    const done = async (report: RunReport): Promise<RetryOutcome> => {
      // In the new cycle now, or stale: the dead letters go, so they are neither listed as failed nor retried twice.
      for (const tp of checked) await removeFailedOperations(redis, q, store, tp.target, failed.get(tp.target) ?? []);
      return { planId: id, operations, abandoned, skipped: verified.skipped, unchecked, report };
    };
    if (plan.targets.length === 0) return await done({ planId: id, startedAt: now.toISOString(), finishedAt: now.toISOString(), targets: [] });
    state.audit.record({ time: now.toISOString(), planId: id, target: '*', action: 'apply.start', outcome: 'info', note: 'retry of failed operations' });
    const report = await state.executor({ wait: false }).execute(plan, runtimes);
    // As `run` records it in distributed mode: the apply ends once the plan is on the queue; the workers record each operation.
    state.audit.record({ time: new Date().toISOString(), planId: id, target: '*', action: 'apply.end', outcome: 'info', note: 'enqueued for the workers' });
    return await done(report);
  } finally {
    redis.disconnect();
  }
}

function operationsIn(plan: TargetPlan | undefined): number {
  return plan ? operationsOf(plan).length : 0;
}

/** What a retry left out of its cycle for `target`, a line each: stale or already in place (the first few named), or not checked. */
export function retryLeftOut(retry: Pick<RetryOutcome, 'skipped' | 'unchecked'>, target: string): string[] {
  const lines: string[] = [];
  const unchecked = retry.unchecked.get(target);
  if (unchecked) lines.push(`${target}: the failed operations stay failed, not re-queued: ${unchecked}`);
  const skipped = retry.skipped.filter((s) => s.target === target);
  if (skipped.length > 0) {
    const named = skipped.slice(0, 5).map((s) => `${s.op.kind} ${s.op.label}: ${s.note}`);
    const more = skipped.length > named.length ? `; and ${skipped.length - named.length} more` : '';
    lines.push(`${target}: ${skipped.length} failed operation${skipped.length === 1 ? '' : 's'} dropped, not re-queued (the next cycle plans afresh what is still needed): ${named.join('; ')}${more}`);
  }
  return lines;
}

/**
 * `scim-sync retry` (distributed mode): the failed operations of each target, checked against a
 * fresh read (stale ones dropped), run again as a cycle of their own, in phase order. Re-queuing each dead letter where it lay would run a membership
 * change before the create of the person it adds; a new cycle runs the creates first, and its
 * report is what `status` shows as the target's last cycle. The cycle is applied as `run` applies a
 * plan (apply-plan.ts): the fresh read and the retry's operations pass the safety check first, so a
 * read that `run` refuses (an empty export) does not decide which failed deactivations still hold.
 */
import { randomUUID } from 'node:crypto';
import type { LoadedConfig } from '../config/load.js';
import { CycleStore } from '../execution/bullmq/cycle-store.js';
import { failedOperations, removeFailedOperations, type FailedOperation } from '../execution/bullmq/failed-operations.js';
import { retryFailedControlJobs } from '../execution/bullmq/queue-status.js';
import { createTargetRuntime } from '../execution/target-runtime.js';
import type { RunReport } from '../execution/run-report.js';
import { PHASE_OF, PHASES, PLAN_FORMAT, PLAN_VERSION, operationsOf, type Operation, type Plan, type TargetPlan } from '../model/plan.js';
import type { LinkCounts } from '../state/link-store.js';
import { connectRedis } from '../state/redis-connection.js';
import { applyPlan } from './apply-plan.js';
import { targetBindings } from './plan-binding.js';
import { decisionsNow, verifySavedPlan, type SkippedOperation } from './verify-plan.js';
import type { RunState } from './run-state.js';

export interface RetryOutcome {
  planId: string;
  /** Failed operations put in the retry cycle, per target (each counted once). */
  operations: Map<string, number>;
  /** Failed control jobs re-queued, per target. */
  controlJobs: Map<string, number>;
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

/**
 * The bases the safety check judges a retry's changes against: the accounts and groups scim-sync
 * manages in the target (its links). The memberships it manages are not counted without reading
 * every group: a retry removing more than safety.alwaysAllowMembershipRemovals is stopped (the next
 * cycle plans them against the target as it is).
 */
function withBases(tp: TargetPlan, counts: LinkCounts | undefined): TargetPlan {
  return { ...tp, managedUsers: counts?.users ?? 0, managedGroups: counts?.groups ?? 0 };
}

/** What a stopped retry tells the operator instead of staging anything. */
const stoppedRetry = (sourceInDoubt: boolean): string =>
  `The failed operations stay failed (scim-sync status lists them), none re-queued: ${
    sourceInDoubt ? 'fix the source, then retry' : 'review them; retry --override-safety re-queues them anyway (the override is audited)'
  }. The next cycle plans afresh whatever is still needed.`;

export async function retryFailed(loaded: LoadedConfig, state: RunState, targets: readonly string[], options: { overrideSafety?: boolean; now?: Date } = {}): Promise<RetryOutcome> {
  const now = options.now ?? new Date();
  const q = loaded.config.queue!;
  const redis = await connectRedis(q.redis);
  try {
    const store = new CycleStore(redis, q.prefix, q.retentionHours * 3_600_000);
    const failed = new Map<string, FailedOperation[]>();
    for (const target of targets) failed.set(target, (await failedOperations(redis, q, store, target)).list);
    const controlJobs = await retryFailedControlJobs(redis, q, targets);
    // Targets with nothing failed get no cycle: their last cycle in `status` stays the real one.
    const targetPlans = targets
      .map((t) => retryTargetPlan(t, (failed.get(t) ?? []).map((f) => f.op)))
      .filter((tp) => tp.phases.some((p) => p.operations.length > 0));
    const id = `plan-retry-${randomUUID()}`;
    const emptyReport: RunReport = { planId: id, startedAt: now.toISOString(), finishedAt: now.toISOString(), targets: [] };
    if (targetPlans.length === 0) return { planId: id, operations: new Map(targets.map((t) => [t, 0])), controlJobs, skipped: [], unchecked: new Map(), report: emptyReport };
    const source: Plan['source'] = { description: 'failed operations of earlier cycles', users: 0, activeUsers: 0, recordsRead: 0, invalidRecords: 0, issues: [] };
    const planned: Plan = {
      format: PLAN_FORMAT,
      version: PLAN_VERSION,
      id,
      createdAt: now.toISOString(),
      expiresAt: now.toISOString(),
      binding: {
        source: { type: 'retry', location: 'failed operations', readAt: now.toISOString(), contentHash: '' },
        targets: targetBindings(
          loaded,
          targetPlans.map((tp) => tp.target),
          id,
        ),
      },
      config: loaded.file,
      source,
      targets: targetPlans,
    };
    const runtimes = new Map(targetPlans.map((tp) => [tp.target, createTargetRuntime(tp.target, loaded.config.targets[tp.target]!)]));
    // A dead letter may be days old: checked against the source and the target as they are now, as a
    // saved plan is before apply. A deactivation of someone back in the source since, or an update the
    // source has taken back, is stale and dropped, never replayed over a later cycle's decision.
    const verified = await verifySavedPlan(loaded, planned, runtimes, state.links, state.members, await decisionsNow(state));
    const unchecked = new Map(verified.plan.targets.flatMap((tp) => (tp.error ? [[tp.target, tp.error] as const] : [])));
    const checked = verified.plan.targets.filter((tp) => !tp.error);
    const counts = await state.links.linkedTargets();
    const plan: Plan = {
      ...verified.plan,
      // What the safety check's rules about the source judge: the read that decided what is stale.
      source: { ...source, ...verified.source, description: 'failed operations of earlier cycles, checked against the source as read now' },
      targets: checked.filter((tp) => tp.phases.some((p) => p.operations.length > 0)).map((tp) => withBases(tp, counts.get(tp.target))),
    };
    // Applied as `run` applies a plan: a stop re-queues nothing and removes no dead letter.
    const report = checked.length > 0 ? await applyPlan(loaded, plan, runtimes, state, state.executor({ wait: false }), { overrideSafety: !!options.overrideSafety, skipped: verified.skipped, unstaged: stoppedRetry }) : emptyReport;
    // In the new cycle now, or stale: the dead letters go, so they are neither listed as failed nor retried twice.
    for (const tp of checked) await removeFailedOperations(redis, q, tp.target, failed.get(tp.target) ?? []);
    const operations = new Map(targets.map((t) => [t, operationsIn(plan.targets.find((tp) => tp.target === t))]));
    return { planId: id, operations, controlJobs, skipped: verified.skipped, unchecked, report };
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

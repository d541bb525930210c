/**
 * `scim-sync retry` (distributed mode): the failed operations of each target, checked against a
 * fresh read (stale ones dropped), run again as a cycle of their own, in phase order. Re-queuing each dead letter where it lay would run a membership
 * change before the create of the person it adds; a new cycle runs the creates first, and its
 * report is what `status` shows as the target's last cycle. The cycle is applied as `run` applies a
 * plan (apply-plan.ts): the fresh read and the retry's operations pass the safety check first, so a
 * read that `run` refuses (an empty export) does not decide which failed deactivations still hold.
 * A target in quarantine is left out as `run` leaves it out: nothing is read from it or sent to it,
 * and its failed operations (and the cycles its failed control jobs left behind) stay as they are,
 * to be retried once it is released.
 */
import { randomUUID } from 'node:crypto';
import type { LoadedConfig } from '../config/load.js';
import { CycleStore } from '../execution/bullmq/cycle-store.js';
import { failedOperations, removeFailedOperations, type FailedOperation } from '../execution/bullmq/failed-operations.js';
import { closeAbandonedCycles, type AbandonedCycle } from '../execution/bullmq/queue-status.js';
import { createTargetRuntime } from '../execution/target-runtime.js';
import type { RunReport } from '../execution/run-report.js';
import { PHASE_OF, PHASES, PLAN_FORMAT, PLAN_VERSION, operationsOf, type Operation, type Plan, type TargetPlan } from '../model/plan.js';
import type { LinkCounts } from '../state/link-store.js';
import { connectRedis } from '../state/redis-connection.js';
import { redisStep } from '../state/redis-errors.js';
import { applyPlan } from './apply-plan.js';
import { markFirstSyncs } from './first-sync.js';
import { partitionTargets, quarantinedTargets } from './quarantine.js';
import { targetBindings } from './plan-binding.js';
import { decisionsNow, verifySavedPlan, type SkippedOperation } from './verify-plan.js';
import type { RunState } from './run-state.js';
import { joined } from '../model/joined-lists.js';

export interface RetryOutcome {
  planId: string;
  /** Failed operations put in the retry cycle, per target retried (each counted once); quarantined targets are not in it. */
  operations: Map<string, number>;
  /** Targets left out in quarantine: their status (why, next try) and how many failed operations they keep. */
  quarantined: Map<string, { status: string; failed: number }>;
  /**
   * Cycles left behind by a failed control job, not resumed (they no longer hold their lock, so
   * would send nothing) but closed: their operations without an outcome are failed operations,
   * re-queued in this retry's cycle with the rest.
   */
  abandoned: AbandonedCycle[];
  /**
   * Failed operations not re-queued: stale (the source or the account changed since) or already in
   * place, whose dead letters are gone; held (the fresh read cannot decide them now), which stay
   * failed; superseded by the same operation failed later, which go with that one.
   */
  skipped: SkippedOperation[];
  /** Targets whose failed operations could not be checked against a fresh read: kept as failed, not re-queued. */
  unchecked: Map<string, string>;
  report: RunReport;
}

/** One target's failed operations as a plan of their own, and the failed operations each of its operations stands for. */
export interface RetryTarget {
  plan: TargetPlan;
  /** By the retry's operation id: the failed operation it sends again, then those of the same operation it supersedes (older). */
  standsFor: Map<string, FailedOperation[]>;
}

/**
 * The same operation failed in several cycles: the same kind on the same person's (or group's) same
 * account. A leaver with two accounts carrying their key has two deprovisions, one per account, and
 * both are sent again. Member changes are never the same: one group's change is split into several
 * operations, each kept (named by their cycle, since two cycles' operation ids can collide).
 */
function sameOperation(f: FailedOperation): string {
  const op = f.op;
  if (op.kind === 'patchGroupMembers') return `${op.kind}\n${f.planId}\n${op.id}`;
  return `${op.kind}\n${op.externalId}\n${'scimId' in op ? (op.scimId ?? '') : ''}`;
}

/**
 * One target's failed operations as a plan of their own, phase by phase: the same operation failed
 * in several cycles is sent once, the latest (`failed` is oldest first). Ids are renumbered, since two
 * cycles' ids can collide.
 */
export function retryTargetPlan(target: string, failed: readonly FailedOperation[]): RetryTarget {
  const latest = new Map<string, FailedOperation[]>();
  for (const f of failed) {
    const key = sameOperation(f);
    latest.set(key, [f, ...(latest.get(key) ?? [])]);
  }
  let n = 0;
  const standsFor = new Map<string, FailedOperation[]>();
  const phases = PHASES.map((name) => ({
    name,
    operations: [...latest.values()]
      .filter(([f]) => PHASE_OF[f!.op.kind] === name)
      .map((all) => {
        const op: Operation = { ...all[0]!.op, id: `r${(++n).toString(36)}-${all[0]!.op.id}` };
        standsFor.set(op.id, all);
        return op;
      }),
  }));
  return { plan: { target, managedUsers: 0, actualUsers: 0, phases, warnings: [] }, standsFor };
}

/** What became of a retry's operation: re-queued, dropped (decided by the fresh read) or kept failed (the read cannot decide it now). */
type Fate = 'requeued' | 'dropped' | 'kept';

const SUPERSEDED: Record<Fate, string> = {
  requeued: 're-queued in its place',
  dropped: 'dropped with it',
  kept: 'which stays failed, and this with it',
};

/** The older failures of each operation: reported skipped, their dead letters going as the latest's goes. */
function superseded(target: string, standsFor: ReadonlyMap<string, FailedOperation[]>, fate: (opId: string) => Fate): SkippedOperation[] {
  return [...standsFor].flatMap(([opId, [latest, ...older]]) =>
    older.map((f) => ({
      target,
      op: f.op,
      outcome: 'skipped' as const,
      note: `superseded: the same operation failed again later (${latest!.planId}), ${SUPERSEDED[fate(opId)]}`,
      ...(fate(opId) === 'kept' ? { held: true as const } : {}),
    })),
  );
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

export async function retryFailed(loaded: LoadedConfig, state: RunState, asked: readonly string[], options: { overrideSafety?: boolean; now?: Date } = {}): Promise<RetryOutcome> {
  const now = options.now ?? new Date();
  const q = loaded.config.queue!;
  const { run: targets, skipped: quarantinedStatus } = partitionTargets(asked, await quarantinedTargets(state.quarantine, loaded.config.quarantine), now);
  const redis = await connectRedis(q.redis, { commandTimeoutMs: q.commandTimeoutMs });
  try {
    const store = CycleStore.of(redis, q);
    // Counted only: a quarantined target's dead letters are neither checked, re-queued nor dropped.
    const quarantined = new Map<string, { status: string; failed: number }>();
    for (const [target, status] of quarantinedStatus) {
      const failed = (await redisStep(q.redis, `reading the failed operations of ${target}`, () => failedOperations(redis, q, store, target))).list.length;
      quarantined.set(target, { status, failed });
    }
    // First: what those cycles did not do becomes failed operations, read below with the others.
    const abandoned = await redisStep(q.redis, 'closing the cycles of failed control jobs', () => closeAbandonedCycles(redis, q, store, targets));
    for (const cycle of abandoned) {
      if (cycle.closed) state.audit.record({ time: now.toISOString(), planId: cycle.planId, target: cycle.target, action: 'cycle.end', outcome: 'info', note: `closed by scim-sync retry: a control job failed for good; ${cycle.closed.failed} operations without an outcome are failed operations now` });
    }
    const failed = new Map<string, FailedOperation[]>();
    for (const target of targets) failed.set(target, (await redisStep(q.redis, `reading the failed operations of ${target}`, () => failedOperations(redis, q, store, target))).list);
    // Targets with nothing failed get no cycle: their last cycle in `status` stays the real one.
    const retries = targets.map((t) => retryTargetPlan(t, failed.get(t) ?? [])).filter((r) => r.plan.phases.some((p) => p.operations.length > 0));
    const id = `plan-retry-${randomUUID()}`;
    const emptyReport: RunReport = { planId: id, startedAt: now.toISOString(), finishedAt: now.toISOString(), targets: [] };
    if (retries.length === 0) return { planId: id, operations: new Map(targets.map((t) => [t, 0])), quarantined, abandoned, skipped: [], unchecked: new Map(), report: emptyReport };
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
          retries.map((r) => r.plan.target),
          id,
        ),
      },
      config: loaded.file,
      source,
      targets: retries.map((r) => r.plan),
    };
    const runtimes = new Map(retries.map((r) => [r.plan.target, createTargetRuntime(r.plan.target, loaded.config.targets[r.plan.target]!)]));
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
      // Failed creates of a first sync cut short are the rest of it, judged as a cycle would judge them.
      targets: await markFirstSyncs(
        state.firstSyncs,
        checked.filter((tp) => tp.phases.some((p) => p.operations.length > 0)).map((tp) => withBases(tp, counts.get(tp.target))),
      ),
    };
    const requeued = new Set(joined(plan.targets.map((tp) => operationsOf(tp).map((op) => op.id))));
    const held = new Set(verified.skipped.filter((s) => s.held).map((s) => s.op.id));
    const fate = (opId: string): Fate => (requeued.has(opId) ? 'requeued' : held.has(opId) ? 'kept' : 'dropped');
    const standsFor = new Map(retries.map((r) => [r.plan.target, r.standsFor]));
    const skipped = [...verified.skipped, ...checked.flatMap((tp) => superseded(tp.target, standsFor.get(tp.target)!, fate))];
    // Applied as `run` applies a plan: a stop re-queues nothing and removes no dead letter.
    const report = checked.length > 0 ? await applyPlan(loaded, plan, runtimes, state, state.executor({ wait: false }), { overrideSafety: !!options.overrideSafety, skipped, unstaged: stoppedRetry }) : emptyReport;
    // Re-queued, or decided by the fresh read (stale, already in place, an operator's decision): their
    // dead letters go, so they are neither listed as failed nor retried twice. What the read cannot
    // decide now stays failed, with the older failures of the same operation.
    for (const tp of checked) {
      const done = [...standsFor.get(tp.target)!].flatMap(([opId, all]) => (fate(opId) === 'kept' ? [] : all));
      await removeFailedOperations(redis, q, store, tp.target, done);
    }
    const operations = new Map(targets.map((t) => [t, operationsIn(plan.targets.find((tp) => tp.target === t))]));
    return { planId: id, operations, quarantined, abandoned, skipped, unchecked, report };
  } finally {
    redis.disconnect();
  }
}

function operationsIn(plan: TargetPlan | undefined): number {
  return plan ? operationsOf(plan).length : 0;
}

/**
 * What a retry left out of its cycle for `target`, a line each (the first few named): all of it (the
 * target is in quarantine), dropped (stale, already in place, superseded), kept failed (the fresh read
 * cannot decide them now), or not checked.
 */
export function retryLeftOut(retry: Pick<RetryOutcome, 'skipped' | 'unchecked' | 'quarantined'>, target: string): string[] {
  const lines: string[] = [];
  const quarantined = retry.quarantined.get(target);
  if (quarantined) {
    const n = quarantined.failed;
    const kept = n === 0 ? 'it has no failed operations' : `its ${n} failed operation${n === 1 ? ' is' : 's are'} kept for when it is released`;
    lines.push(`${target}: nothing sent, ${quarantined.status}; ${kept}`);
  }
  const unchecked = retry.unchecked.get(target);
  if (unchecked) lines.push(`${target}: the failed operations stay failed, not re-queued: ${unchecked}`);
  const named = (skipped: readonly SkippedOperation[]) => {
    const first = skipped.slice(0, 5).map((s) => `${s.op.kind} ${s.op.label}: ${s.note}`);
    return `${first.join('; ')}${skipped.length > first.length ? `; and ${skipped.length - first.length} more` : ''}`;
  };
  const operations = (n: number) => `${n} failed operation${n === 1 ? '' : 's'}`;
  const mine = retry.skipped.filter((s) => s.target === target);
  const dropped = mine.filter((s) => !s.held);
  const kept = mine.filter((s) => s.held);
  if (dropped.length > 0) lines.push(`${target}: ${operations(dropped.length)} dropped, not re-queued (the next cycle plans afresh what is still needed): ${named(dropped)}`);
  if (kept.length > 0) lines.push(`${target}: ${operations(kept.length)} kept failed, not re-queued (the source as read now cannot decide them): ${named(kept)}`);
  return lines;
}

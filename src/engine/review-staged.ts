/**
 * Approving or rejecting a staged change set (state/staged-store.ts), from any machine in
 * distributed mode: the set and the rejections are where every cycle reads them. Approve is `apply` of the
 * set: its binding checked, every operation re-checked against a fresh read of the source and the
 * targets (verify-plan.ts), so a person back in the source since is reported stale and not
 * deactivated; the safety check is overridden, the approval being the operator's decision, and
 * the override is audited. Reject keeps each person's deprovision out of later plans while their
 * source record is unchanged (planning/rejections.ts).
 */
import type { LoadedConfig } from '../config/load.js';
import { selectTargets } from '../config/select-targets.js';
import { PlanError } from '../errors.js';
import type { TargetRuntime } from '../execution/executor.js';
import type { RunReport } from '../execution/run-report.js';
import { createTargetRuntime } from '../execution/target-runtime.js';
import { operationsOf } from '../model/plan.js';
import { applyPlan } from './apply-plan.js';
import { checkBinding } from './plan-binding.js';
import type { RunState } from './run-state.js';
import type { StagedSet } from '../state/staged-store.js';
import { verifySavedPlan, type SkippedOperation } from './verify-plan.js';

/** The runtimes of the set's targets; refused when the config no longer points them where the set was made for. */
export function stagedRuntimes(loaded: LoadedConfig, set: StagedSet, where: string): Map<string, TargetRuntime> {
  const configured = new Map(selectTargets(loaded));
  const unknown = set.plan.targets.filter((t) => !configured.has(t.target)).map((t) => t.target);
  if (unknown.length > 0) throw new PlanError(`staged set ${set.id} has targets not enabled in ${loaded.file}: ${unknown.join(', ')}; reject it`);
  // Not its age: every operation is checked against a fresh read before it is applied, so a staged
  // set stays valid until approved or rejected. Only where it points is checked.
  checkBinding(set.plan, loaded, where, new Date(set.plan.createdAt));
  return new Map(set.plan.targets.map((t) => [t.target, createTargetRuntime(t.target, configured.get(t.target)!)]));
}

export interface Approval {
  report: RunReport;
  stale: SkippedOperation[];
  /** Why the set stays staged, to approve again: what could not be decided now. */
  kept?: string;
}

export async function approveStaged(
  loaded: LoadedConfig,
  set: StagedSet,
  runtimes: ReadonlyMap<string, TargetRuntime>,
  state: RunState,
  by: string,
  signal?: AbortSignal,
): Promise<Approval> {
  // Taken before anything is checked or applied: a reject (or another approve) meanwhile finds no
  // set, instead of recording a decision the deactivations then contradict.
  await state.staged.take(set.id);
  let settled = false;
  try {
    const { plan, skipped, unsettled } = await verifySavedPlan(loaded, set.plan, runtimes, state.links);
    if (signal?.aborted) throw signal.reason;
    const go = plan.targets.reduce((n, t) => n + operationsOf(t).length, 0);
    state.audit.record({
      time: new Date().toISOString(),
      planId: set.plan.id,
      target: '*',
      action: 'staged.approve',
      outcome: 'info',
      note: `staged set ${set.id} approved by ${by}: ${go} to apply, ${skipped.length} no longer holding`,
    });
    const report = await applyPlan(loaded, plan, runtimes, state, state.executor({ wait: true, ...(signal ? { signal } : {}) }), {
      overrideSafety: true,
      skipped,
      ...(signal ? { signal } : {}),
    });
    const stopped = signal?.aborted ? 'the approve was interrupted' : state.halted.aborted ? 'the state could not be written' : undefined;
    const why = [...unsettled, ...(stopped ? [stopped] : [])];
    settled = why.length === 0;
    return { report, stale: skipped.filter((s) => s.outcome === 'skipped' && !s.held), ...(settled ? {} : { kept: why.join('; ') }) };
  } finally {
    // What could not be settled now stays staged, to approve again (what was done then reads as in place).
    if (!settled) await state.staged.restore(set);
  }
}

export async function rejectStaged(id: string, state: RunState, by: string): Promise<number> {
  // Taken first, as approve takes it: of the two racing, one decides.
  const set = await state.staged.take(id);
  try {
    return await recordRejection(set, state, by);
  } catch (error) {
    await state.staged.restore(set);
    throw error;
  }
}

async function recordRejection(set: StagedSet, state: RunState, by: string): Promise<number> {
  const at = new Date().toISOString();
  const entries = set.plan.targets.flatMap((t) =>
    operationsOf(t).map((op) => ({ target: t.target, key: op.externalId, op, entry: { digest: op.pre?.source ?? null, stagedId: set.id, at, by } })),
  );
  await state.rejections.add(entries);
  for (const { target, op } of entries) {
    state.audit.record({
      time: at,
      planId: set.plan.id,
      target,
      action: 'staged.reject',
      externalId: op.externalId,
      label: op.label,
      ...(op.kind === 'deprovisionUser' ? { scimId: op.scimId } : {}),
      outcome: 'info',
      note: `staged set ${set.id} rejected by ${by}: not planned again until the source record changes`,
    });
  }
  return entries.length;
}

/**
 * Approving or rejecting a staged change set (state/staged-store.ts), from any machine in
 * distributed mode: the set and the rejections are where every cycle reads them. Approve is `apply` of the
 * set: its binding checked, every operation re-checked against a fresh read of the source and the
 * targets (verify-plan.ts), so a person back in the source since is reported stale and not
 * deactivated; the safety check is overridden, the approval being the operator's decision, and
 * the override is audited, but not the rules about the source read itself (minSourceUsers,
 * maxInvalidRecordsPercent): a fresh read that fails them refuses the approve and keeps the set.
 * Reject keeps each person's deprovision out of later plans while their source record is unchanged
 * (planning/rejections.ts).
 */
import type { LoadedConfig } from '../config/load.js';
import { selectTargets } from '../config/select-targets.js';
import { PlanError, SafetyError, describeError } from '../errors.js';
import type { TargetRuntime } from '../execution/executor.js';
import type { RunReport } from '../execution/run-report.js';
import { createTargetRuntime } from '../execution/target-runtime.js';
import { operationsOf } from '../model/plan.js';
import { sourceViolations } from '../planning/source-checks.js';
import { applyPlan } from './apply-plan.js';
import { checkBinding } from './plan-binding.js';
import type { RunState } from './run-state.js';
import type { StagedClaim, StagedSet } from '../state/staged-store.js';
import { recoverStaged } from './staged-sets.js';
import { decisionsNow, verifySavedPlan, type SkippedOperation } from './verify-plan.js';

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
  const claim = await state.staged.take(set.id);
  let approval: Approval & { rest?: StagedSet };
  try {
    approval = await approveTaken(claim.set, { loaded, runtimes, state, by, ...(signal ? { signal } : {}) });
  } catch (error) {
    // Nothing settled: the whole set goes back, and a failure to put it back is told with the first.
    await putBackAfter(claim, error);
    throw error;
  }
  const { rest, ...told } = approval;
  if (told.kept === undefined) await claim.done();
  else await claim.putBack(rest);
  return told;
}

interface Approving {
  loaded: LoadedConfig;
  runtimes: ReadonlyMap<string, TargetRuntime>;
  state: RunState;
  by: string;
  signal?: AbortSignal;
}

/** The approve of a set already taken: checked, applied, and what is left to decide, if anything. */
async function approveTaken(set: StagedSet, { loaded, runtimes, state, by, signal }: Approving): Promise<Approval & { rest?: StagedSet }> {
  const { plan, skipped, unsettled, undecided, source } = await verifySavedPlan(loaded, set.plan, runtimes, state.links, state.members, await decisionsNow(state));
  if (signal?.aborted) throw signal.reason;
  // The override below is for the number of deprovisions, never for a source in doubt: an empty or
  // broken read now would make every deprovision of the set look confirmed.
  const doubts = sourceViolations(source, loaded.config.safety);
  if (doubts.length > 0) {
    state.audit.record({ time: new Date().toISOString(), planId: set.plan.id, target: '*', action: 'safety.stop', outcome: 'info', note: `staged set ${set.id} not approved: ${doubts.join('; ')}` });
    throw new SafetyError(doubts, {
      sourceInDoubt: true,
      next: `Staged set ${set.id} was not approved and stays staged: the source as it reads now is in doubt, so whom it lacks says nothing about who left. Fix the source, then approve again; or reject ${set.id}.`,
    });
  }
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
  const stale = skipped.filter((s) => s.outcome === 'skipped' && !s.held);
  // Stopped midway: which operations took effect is the log's to say; the whole set goes back (what
  // was done reads as already in place when approved again).
  const stopped = signal?.aborted ? 'the approve was interrupted' : state.halted.aborted ? 'the state could not be written' : undefined;
  if (stopped) return { report, stale, kept: [...unsettled, stopped].join('; ') };
  if (unsettled.length === 0) return { report, stale };
  // Only what could not be decided now stays staged: what was applied is not offered again (a
  // reject of it would record a decision its deactivation contradicts).
  const rest: StagedSet = {
    ...set,
    plan: {
      ...set.plan,
      targets: set.plan.targets
        .filter((t) => undecided.has(t.target))
        .map((t) => ({ ...t, phases: t.phases.map((p) => ({ ...p, operations: p.operations.filter((op) => undecided.get(t.target)!.has(op.id)) })) })),
    },
  };
  return { report, stale, kept: unsettled.join('; '), rest };
}

export async function rejectStaged(id: string, state: RunState, by: string): Promise<number> {
  // A set whose taker died is back to decide; taken first, as approve takes it: of the two racing, one decides.
  await recoverStaged(state);
  const claim = await state.staged.take(id);
  let n: number;
  try {
    n = await recordRejection(claim.set, state, by);
  } catch (error) {
    await putBackAfter(claim, error);
    throw error;
  }
  await claim.done();
  return n;
}

/** Puts a claimed set back after `error`; should that fail too, the error says so rather than hide the first. */
async function putBackAfter(claim: StagedClaim, error: unknown): Promise<void> {
  try {
    await claim.putBack();
  } catch (failed) {
    if (error instanceof Error) error.message += `; and staged set ${claim.set.id} could not be put back: ${describeError(failed)}`;
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

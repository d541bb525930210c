/**
 * The planning half of a cycle, the same for `run`, a scheduled cycle and the service's: read and
 * plan (leaving parked changes out), and forget the parked changes the source no longer asks for;
 * first, put back the staged sets whose approve or reject died midway (staged-sets.ts).
 * Once the plan has passed the safety check, forgetOvertaken forgets the emergency holds and
 * rejections the source read overtook (the person's record changed since they were set), so a
 * record that later changes back revives neither. Not before: a read the safety check stops (an
 * export with its columns shifted changes everyone's record) must not lift them, or the fired
 * person comes back once the export is fixed.
 */
import type { LoadedConfig } from '../config/load.js';
import { forgetLiftedHolds } from './lifted-holds.js';
import { forgetSettledParked } from './parked-changes.js';
import { makePlan, type PlanningResult } from './make-plan.js';
import type { RunState } from './run-state.js';
import { forgetChangedRejections, recoverStaged } from './staged-sets.js';
import type { SyncObserver } from '../telemetry/sync-events.js';

export interface PlanCycleOptions {
  /** The plan's id (a scheduled cycle derives it from its job id, so a retried cycle plans under the same one). */
  planId?: string;
  /** The operator's stop: checked once the reads are done, before anything is written. */
  signal?: AbortSignal;
  /** Plan parked changes again (`run --retry-parked`). */
  retryParked?: boolean;
  /** Check every group's members in full, whatever the member memory holds (`run --verify-members`). */
  verifyMembers?: boolean;
  /** Told the source read and the targets' listings (progress). */
  observer?: SyncObserver;
}

export async function planCycle(loaded: LoadedConfig, state: Pick<RunState, 'links' | 'holds' | 'rejections' | 'staged' | 'audit' | 'memory' | 'members' | 'firstSyncs'>, targets: readonly string[], options: PlanCycleOptions = {}): Promise<PlanningResult> {
  // A staged set whose approve or reject died midway is back on the list before this cycle can stop
  // on the same deprovisions: it is named again, not staged a second time, and shown in the console.
  await recoverStaged(state);
  const planning = await makePlan(loaded, state, targets, {
    memory: state.memory,
    retryParked: !!options.retryParked,
    // A cycle holds its targets' locks: what it reads of group members is remembered.
    members: { memory: state.members, record: true },
    verifyMembers: !!options.verifyMembers,
    ...(options.planId ? { planId: options.planId } : {}),
    ...(options.observer ? { observer: options.observer } : {}),
  });
  // Stopped while reading: nothing was written, and no operation need be listed as skipped.
  if (options.signal?.aborted) throw options.signal.reason;
  await forgetSettledParked(state.memory, planning.plan);
  return planning;
}

/** After the safety check passed: the holds and rejections the read overtook are forgotten (see above). */
export async function forgetOvertaken(state: Pick<RunState, 'holds' | 'rejections' | 'audit'>, planning: Pick<PlanningResult, 'snapshot' | 'plan'>): Promise<void> {
  await forgetLiftedHolds(state.holds, planning.snapshot, state.audit, planning.plan.id);
  await forgetChangedRejections(state.rejections, planning.snapshot, state.audit, planning.plan.id);
}

/**
 * A safety stop's deprovisions, saved for review as a staged change set (state/staged-store.ts: the
 * state directory, or Redis in distributed mode), each recorded in the audit log as
 * `staged.create`. Staging never turns a stop into another failure: a set that cannot be saved is
 * said in the stop message instead. A stop on the source read itself (planning/source-checks.ts) is
 * not staged (apply-plan.ts): its deprovisions are the outage's, not leavers to approve.
 */
import { describeError, type SafetyError } from '../errors.js';
import { operationsOf, type Plan } from '../model/plan.js';
import { safetyStopEvent, stagedEvent, type Notifier } from '../notify/notifier.js';
import { stagedDeprovisions } from '../planning/staged-deprovisions.js';
import type { RunState } from './run-state.js';
import { recoverStaged, stagedContent } from './staged-sets.js';

export async function stageStop(plan: Plan, reasons: readonly string[], state: Pick<RunState, 'staged' | 'rejections' | 'audit'>): Promise<{ id: string } | { problem: string } | undefined> {
  const part = stagedDeprovisions(plan);
  if (!part) return undefined;
  let id: string;
  try {
    // A cycle that stops again on the same outage finds its set already staged: one set to review, not one per run.
    const content = stagedContent(part);
    await recoverStaged(state);
    const same = (await state.staged.list()).find((set) => stagedContent(set.plan) === content);
    if (same) return { id: same.id };
    id = (await state.staged.save(part, reasons)).id;
  } catch (error) {
    return { problem: describeError(error) };
  }
  const time = new Date().toISOString();
  for (const t of part.targets) {
    for (const op of operationsOf(t)) {
      state.audit.record({
        time,
        planId: plan.id,
        target: t.target,
        action: 'staged.create',
        externalId: op.externalId,
        label: op.label,
        ...(op.kind === 'deprovisionUser' ? { scimId: op.scimId } : {}),
        outcome: 'info',
        note: `held by the safety stop, staged as ${id}`,
      });
    }
  }
  return { id };
}

/** What a safety stop tells the webhooks, from `run` and from a scheduled cycle alike: the stop, and the set it staged. */
export async function notifySafetyStop(notifier: Notifier, plan: Plan, error: SafetyError): Promise<void> {
  await notifier.notify(safetyStopEvent(plan.id, error.reasons));
  if (error.staged && 'id' in error.staged) {
    const staged = plan.targets.reduce((n, t) => n + operationsOf(t).filter((op) => op.kind === 'deprovisionUser').length, 0);
    await notifier.notify(stagedEvent(error.staged.id, staged, error.reasons.join('; ')));
  }
}

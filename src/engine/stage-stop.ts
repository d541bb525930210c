/**
 * A safety stop's deprovisions, saved for review as a staged change set (engine/staged-sets.ts),
 * each recorded in the audit log as `staged.create`. Staging never turns a stop into another
 * failure: a set that cannot be saved is said in the stop message instead.
 */
import type { LoadedConfig } from '../config/load.js';
import { describeError } from '../errors.js';
import type { Plan } from '../model/plan.js';
import { stagedDeprovisions } from '../planning/staged-deprovisions.js';
import type { RunState } from './run-state.js';
import { listStagedSets, saveStagedSet, stagedContent } from './staged-sets.js';

export const NOT_DISTRIBUTED = 'staged change sets are not yet in distributed mode (queue: in the config)';

export async function stageStop(loaded: LoadedConfig, plan: Plan, reasons: readonly string[], state: RunState): Promise<{ id: string } | { problem: string } | undefined> {
  const part = stagedDeprovisions(plan);
  if (!part) return undefined;
  if (state.distributed) return { problem: NOT_DISTRIBUTED };
  let id: string;
  try {
    // A cron run that stops again on the same outage finds its set already staged: one set to review, not one per run.
    const content = stagedContent(part);
    const same = (await listStagedSets(loaded.stateDir)).find((set) => stagedContent(set.plan) === content);
    if (same) return { id: same.id };
    id = (await saveStagedSet(loaded.stateDir, part, reasons)).id;
  } catch (error) {
    return { problem: describeError(error) };
  }
  const time = new Date().toISOString();
  for (const t of part.targets) {
    for (const op of t.phases.flatMap((p) => p.operations)) {
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

/**
 * Check a plan against the safety rules, then execute it. Refusal happens before any write; an
 * override is recorded in the audit log with every reason it overrode.
 */
import type { LoadedConfig } from '../config/load.js';
import { PlanError, SafetyError } from '../errors.js';
import type { Executor, TargetRuntime } from '../execution/executor.js';
import { targetFailedRecord } from '../execution/operation-outcome.js';
import type { RunReport } from '../execution/run-report.js';
import { PLAN_FORMAT, PLAN_VERSION, type Plan } from '../model/plan.js';
import { safetyViolations } from '../planning/safety.js';
import type { RunState } from './state.js';

export interface ApplyOptions {
  overrideSafety: boolean;
}

export function checkPlanFile(data: unknown, source: string): Plan {
  const plan = data as Partial<Plan> | null;
  if (!plan || plan.format !== PLAN_FORMAT) throw new PlanError(`${source} is not a scim-sync plan`);
  if (plan.version !== PLAN_VERSION) throw new PlanError(`${source} is plan version ${String(plan.version)}; this scim-sync applies version ${PLAN_VERSION}`);
  if (!Array.isArray(plan.targets) || typeof plan.id !== 'string') throw new PlanError(`${source} is incomplete`);
  return plan as Plan;
}

export async function applyPlan(
  loaded: LoadedConfig,
  plan: Plan,
  runtimes: ReadonlyMap<string, TargetRuntime>,
  state: RunState,
  executor: Executor,
  options: ApplyOptions,
): Promise<RunReport> {
  // A target that could not be read failed, whatever becomes of the rest of the plan.
  for (const tp of plan.targets) if (tp.error) state.audit.record(targetFailedRecord(plan.id, tp.target, `could not be read: ${tp.error}`));
  const reasons = safetyViolations(plan, loaded.config.safety);
  const time = new Date().toISOString();
  if (reasons.length > 0) {
    if (!options.overrideSafety) {
      state.audit.record({ time, planId: plan.id, target: '*', action: 'safety.stop', outcome: 'info', note: reasons.join('; ') });
      throw new SafetyError(reasons);
    }
    state.audit.record({ time, planId: plan.id, target: '*', action: 'safety.override', outcome: 'info', note: reasons.join('; ') });
  }
  state.audit.record({ time, planId: plan.id, target: '*', action: 'apply.start', outcome: 'info' });
  const report = await executor.execute(plan, runtimes);
  state.audit.record({ time: new Date().toISOString(), planId: plan.id, target: '*', action: 'apply.end', outcome: 'info' });
  return report;
}

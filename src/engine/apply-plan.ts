/**
 * Check a plan against the safety rules, then execute it. Refusal happens before any write; an
 * override is recorded in the audit log with every reason it overrode.
 */
import type { LoadedConfig } from '../config/load.js';
import { PlanError, SafetyError } from '../errors.js';
import type { Executor, TargetRuntime } from '../execution/executor.js';
import { count, type RunReport } from '../execution/run-report.js';
import { operationAuditRecord } from '../execution/operation-outcome.js';
import type { SkippedOperation } from './verify-plan.js';
import { PLAN_FORMAT, PLAN_VERSION, type Plan } from '../model/plan.js';
import { safetyViolations } from '../planning/safety.js';
import type { RunState } from './state.js';

export interface ApplyOptions {
  overrideSafety: boolean;
  /** Operations of a saved plan left out because their preconditions no longer hold: reported and audited. */
  skipped?: readonly SkippedOperation[];
}

export function checkPlanFile(data: unknown, source: string): Plan {
  const plan = data as Partial<Plan> | null;
  if (!plan || plan.format !== PLAN_FORMAT) throw new PlanError(`${source} is not a scim-sync plan`);
  if (plan.version !== PLAN_VERSION) throw new PlanError(`${source} is plan version ${String(plan.version)}; this scim-sync applies version ${PLAN_VERSION}: make a new plan`);
  if (!Array.isArray(plan.targets) || typeof plan.id !== 'string' || typeof plan.expiresAt !== 'string' || !plan.binding) {
    throw new PlanError(`${source} is incomplete`);
  }
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
  for (const s of options.skipped ?? []) {
    state.audit.record(operationAuditRecord(plan.id, s.target, s.op, 'skipped', 0, { note: s.note }));
  }
  const report = await executor.execute(plan, runtimes);
  for (const s of options.skipped ?? []) {
    const target = report.targets.find((t) => t.target === s.target);
    if (!target) continue;
    count(target, s.op.kind, 'skipped');
    (target.skips ??= []).push({ opId: s.op.id, kind: s.op.kind, externalId: s.op.externalId, label: s.op.label, reason: s.note });
  }
  state.audit.record({ time: new Date().toISOString(), planId: plan.id, target: '*', action: 'apply.end', outcome: 'info' });
  return report;
}

/**
 * Check a plan against the safety rules, then execute it. Refusal happens before any write; an
 * override is recorded in the audit log with every reason it overrode.
 */
import type { LoadedConfig } from '../config/load.js';
import { PlanError, SafetyError } from '../errors.js';
import type { Executor, TargetRuntime } from '../execution/executor.js';
import { targetFailedRecord, operationAuditRecord, operationSkip } from '../execution/operation-outcome.js';
import { count, emptyTargetReport, type RunReport } from '../execution/run-report.js';
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
  for (const s of options.skipped ?? []) {
    state.audit.record(operationAuditRecord(plan.id, s.target, s.op, s.outcome, 0, { note: s.note }));
  }
  // Nothing left to do (a saved plan found entirely in place): no executor, whose distributed form
  // would answer with the report of this plan's earlier apply.
  const idle = plan.targets.every((t) => t.phases.every((p) => p.operations.length === 0));
  const report = idle && options.skipped?.length ? emptyReport(plan) : await executor.execute(plan, runtimes);
  for (const tp of plan.targets) {
    const target = report.targets.find((t) => t.target === tp.target);
    if (!target || !tp.held) continue;
    const n = tp.held.operations.length;
    target.held = `${n > 0 ? `${n} deprovisioning operation${n === 1 ? '' : 's'} held` : 'deprovisioning held (none planned)'}: ${tp.held.reason}`;
  }
  for (const s of options.skipped ?? []) {
    const target = report.targets.find((t) => t.target === s.target);
    if (!target) continue;
    count(target, s.op.kind, s.outcome);
    target.skips.push(operationSkip(s.op, s.outcome, s.note));
  }
  state.audit.record({ time: new Date().toISOString(), planId: plan.id, target: '*', action: 'apply.end', outcome: 'info' });
  return report;
}

function emptyReport(plan: Plan): RunReport {
  const now = new Date().toISOString();
  return { planId: plan.id, startedAt: now, finishedAt: now, targets: plan.targets.map((t) => emptyTargetReport(t.target, t.error)) };
}

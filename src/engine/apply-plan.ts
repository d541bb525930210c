/**
 * Check a plan against the safety rules, then execute it. Refusal happens before any write; an
 * override is recorded in the audit log with every reason it overrode. The `apply.start` record is
 * written before the first write, so an audit log that cannot be written stops the run there.
 */
import type { LoadedConfig } from '../config/load.js';
import { PlanError, SafetyError } from '../errors.js';
import type { Executor, TargetRuntime } from '../execution/executor.js';
import { targetFailedRecord, operationAuditRecord, operationSkip } from '../execution/operation-outcome.js';
import { count, emptyTargetReport, type RunReport } from '../execution/run-report.js';
import type { SkippedOperation } from './verify-plan.js';
import { targetBindings } from './plan-binding.js';
import { PLAN_FORMAT, PLAN_VERSION, type Plan } from '../model/plan.js';
import { parsePlan } from '../model/plan-schema.js';
import { safetyViolations } from '../planning/safety.js';
import { sourceViolations } from '../planning/source-checks.js';
import type { RunState } from './run-state.js';
import { stageStop } from './stage-stop.js';
import { beginFirstSyncs } from './first-sync.js';

export interface ApplyOptions {
  overrideSafety: boolean;
  /** The operator's stop: the run ends as `apply.interrupted` in the audit log. */
  signal?: AbortSignal;
  /** Operations of a saved plan left out because their preconditions no longer hold: reported and audited. */
  skipped?: readonly SkippedOperation[];
  /** The safety check to apply instead of the config's rules on this plan alone (the service's windowed check). */
  checkSafety?: (plan: Plan) => string[];
  /**
   * Which of the check's reasons doubt the source read itself (default: the config's source rules
   * on the plan's read): a stop for one of them stages nothing to approve.
   */
  sourceDoubts?: (plan: Plan) => string[];
  /** The plan was made from a read of the whole source (a cycle, a saved plan): its size is recorded on `apply.start`. */
  fullRead?: boolean;
  /**
   * A stop stages nothing, and says this instead (given whether the source is in doubt): for a plan
   * whose operations are kept elsewhere until the stop is resolved (`retry`: its failed operations).
   */
  unstaged?: (sourceInDoubt: boolean) => string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function checkPlanFile(data: unknown, source: string): Plan {
  if (!isObject(data) || data['format'] !== PLAN_FORMAT) throw new PlanError(`${source} is not a scim-sync plan`);
  if (data['version'] !== PLAN_VERSION) throw new PlanError(`${source} is plan version ${String(data['version'])}; this scim-sync applies version ${PLAN_VERSION}: make a new plan`);
  const parsed = parsePlan(data);
  if ('problem' in parsed) throw new PlanError(`${source} is incomplete or damaged at ${parsed.problem}; make a new plan with scim-sync plan --out`);
  return parsed.plan;
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
  const reasons = options.checkSafety ? options.checkSafety(plan) : safetyViolations(plan, loaded.config.safety);
  const time = new Date().toISOString();
  if (reasons.length > 0) {
    if (!options.overrideSafety) {
      state.audit.record({ time, planId: plan.id, target: '*', action: 'safety.stop', outcome: 'info', note: reasons.join('; ') });
      // The source in doubt: whom it lacks says nothing about who left, so there is nothing to approve.
      const doubts = options.sourceDoubts ? options.sourceDoubts(plan) : sourceViolations(plan.source, loaded.config.safety);
      if (doubts.length > 0) throw new SafetyError(reasons, { sourceInDoubt: true, ...(options.unstaged ? { next: options.unstaged(true) } : {}) });
      if (options.unstaged) throw new SafetyError(reasons, { next: options.unstaged(false) });
      const staged = await stageStop(plan, reasons, state);
      throw new SafetyError(reasons, staged ? { staged } : {});
    }
    state.audit.record({ time, planId: plan.id, target: '*', action: 'safety.override', outcome: 'info', note: reasons.join('; ') });
  }
  await beginFirstSyncs(state.firstSyncs, state.audit, plan, new Date(time));
  state.audit.record({ time, planId: plan.id, target: '*', action: 'apply.start', outcome: 'info', ...(options.fullRead ? { sourcePeople: plan.source.users } : {}) });
  for (const s of options.skipped ?? []) {
    state.audit.record(operationAuditRecord(plan.id, s.target, s.op, s.outcome, 0, { note: s.note }));
  }
  // A decision not to act leaves a record per person, not only the report's sum.
  for (const tp of plan.targets) {
    for (const op of tp.held?.operations ?? []) state.audit.record(operationAuditRecord(plan.id, tp.target, op, 'held', 0, { note: tp.held!.reason }));
  }
  // Proves the audit log takes an append before anything reaches a target.
  state.audit.flush();
  // Nothing left to do (a saved plan found entirely in place): no executor, whose distributed form
  // would answer with the report of this plan's earlier apply.
  const idle = plan.targets.every((t) => t.phases.every((p) => p.operations.length === 0));
  const report = idle && options.skipped?.length ? emptyReport(plan) : await executor.execute(boundHere(plan, loaded, runtimes), runtimes);
  for (const tp of plan.targets) {
    const target = report.targets.find((t) => t.target === tp.target);
    if (!target || !tp.held) continue;
    const n = tp.held.operations.length;
    // Deprovisions after a dirty read; in the service, everything else for a target whose full cycle was stopped.
    const what = tp.held.operations.every((op) => op.kind === 'deprovisionUser') ? 'deprovisioning operation' : 'operation';
    target.held = `${n > 0 ? `${n} ${what}${n === 1 ? '' : 's'} held` : 'deprovisioning held (none planned)'}: ${tp.held.reason}`;
  }
  for (const tp of plan.targets) {
    const target = report.targets.find((t) => t.target === tp.target);
    if (target && tp.parked?.length) target.parked = tp.parked;
  }
  for (const s of options.skipped ?? []) {
    const target = report.targets.find((t) => t.target === s.target);
    if (!target) continue;
    count(target, s.op.kind, s.outcome);
    target.skips.push(operationSkip(s.op, s.outcome, s.note));
  }
  const end = { time: new Date().toISOString(), planId: plan.id, target: '*', outcome: 'info' } as const;
  const stop = options.signal?.aborted ? options.signal : state.halted.aborted ? state.halted : undefined;
  if (stop) {
    const why = stop.reason instanceof Error ? stop.reason.message : String(stop.reason);
    state.audit.record({ ...end, action: stop === options.signal ? 'apply.interrupted' : 'apply.stopped', note: why });
  } else state.audit.record({ ...end, action: 'apply.end' });
  return report;
}

/**
 * The plan bound to the config it is applied with: distributed workers compare their own with this
 * (worker-binding.ts). A saved plan was held to this config first (checkBinding), so this changes
 * nothing but what a plan saved before credentials were recorded lacks: the digest of the credential
 * it is applied with, which its workers must hold too.
 */
function boundHere(plan: Plan, loaded: LoadedConfig, runtimes: ReadonlyMap<string, TargetRuntime>): Plan {
  const targets = [...runtimes.keys()].filter((name) => loaded.config.targets[name] !== undefined);
  return { ...plan, binding: { ...plan.binding, targets: { ...plan.binding.targets, ...targetBindings(loaded, targets, plan.id) } } };
}

function emptyReport(plan: Plan): RunReport {
  const now = new Date().toISOString();
  return { planId: plan.id, startedAt: now, finishedAt: now, targets: plan.targets.map((t) => emptyTargetReport(t.target, t.error)) };
}

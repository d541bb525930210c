/**
 * Check a plan against the safety rules, then execute it. Refusal happens before any write; an
 * override is recorded in the audit log with every reason it overrode. The `apply.start` record is
 * written before the first write, so an audit log that cannot be written stops the run there.
 */
import type { LoadedConfig } from '../config/load.js';
import { PlanError, SafetyError } from '../errors.js';
import type { Executor, TargetRuntime } from '../execution/executor.js';
import type { RunReport } from '../execution/run-report.js';
import { PLAN_FORMAT, PLAN_VERSION, type Plan } from '../model/plan.js';
import { safetyViolations } from '../planning/safety.js';
import type { RunState } from './state.js';

export interface ApplyOptions {
  overrideSafety: boolean;
  /** The operator's stop: the run ends as `apply.interrupted` in the audit log. */
  signal?: AbortSignal;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The first place where `plan` is not shaped like a plan (targets, phases, operations), if any. */
function shapeProblem(plan: Record<string, unknown>): string | undefined {
  if (typeof plan['id'] !== 'string') return 'id';
  if (!Array.isArray(plan['targets'])) return 'targets';
  for (const [t, target] of plan['targets'].entries()) {
    if (!isObject(target) || typeof target['target'] !== 'string') return `targets[${t}]`;
    if (!Array.isArray(target['phases'])) return `targets[${t}].phases`;
    for (const [p, phase] of target['phases'].entries()) {
      if (!isObject(phase) || !Array.isArray(phase['operations'])) return `targets[${t}].phases[${p}]`;
      for (const [o, op] of phase['operations'].entries()) {
        if (!isObject(op) || typeof op['kind'] !== 'string' || typeof op['id'] !== 'string' || typeof op['externalId'] !== 'string') {
          return `targets[${t}].phases[${p}].operations[${o}]`;
        }
      }
    }
  }
  return undefined;
}

export function checkPlanFile(data: unknown, source: string): Plan {
  if (!isObject(data) || data['format'] !== PLAN_FORMAT) throw new PlanError(`${source} is not a scim-sync plan`);
  if (data['version'] !== PLAN_VERSION) throw new PlanError(`${source} is plan version ${String(data['version'])}; this scim-sync applies version ${PLAN_VERSION}`);
  const problem = shapeProblem(data);
  if (problem) throw new PlanError(`${source} is incomplete or damaged at ${problem}; make a new plan with scim-sync plan --out`);
  return data as unknown as Plan;
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
  // Proves the audit log takes an append before anything reaches a target.
  state.audit.flush();
  const report = await executor.execute(plan, runtimes);
  const end = { time: new Date().toISOString(), planId: plan.id, target: '*', outcome: 'info' } as const;
  const stop = options.signal?.aborted ? options.signal : state.halted.aborted ? state.halted : undefined;
  if (stop) {
    const why = stop.reason instanceof Error ? stop.reason.message : String(stop.reason);
    state.audit.record({ ...end, action: stop === options.signal ? 'apply.interrupted' : 'apply.stopped', note: why });
  } else state.audit.record({ ...end, action: 'apply.end' });
  return report;
}

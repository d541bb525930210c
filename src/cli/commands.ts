/**
 * The commands behind the CLI, one function each, all returning an exit code. They wire config,
 * state, planner and executor together; main.ts only parses arguments.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { configJsonSchema } from '../config/schema.js';
import { applyPlan, checkPlanFile } from '../engine/apply-plan.js';
import { enabledTargets, makePlan } from '../engine/make-plan.js';
import { requireOfferedAttributes } from '../engine/source-attributes.js';
import { openState } from '../engine/state.js';
import { createTargetRuntime } from '../engine/target-runtime.js';
import { PlanError } from '../errors.js';
import { totals, type RunReport } from '../execution/run-report.js';
import { checkMappings } from '../config/check-mappings.js';
import type { Plan } from '../model/plan.js';
import { safetyViolations } from '../planning/safety.js';
import { createSource } from '../sources/create-source.js';
import { EXIT } from './exit-codes.js';
import { formatPlan } from './format-plan.js';
import { formatReport } from './format-report.js';
import type { Io } from './io.js';

export interface CommonOptions {
  config: string;
  json?: boolean;
  target?: string[];
}

export function load(file: string, io: Io, env?: NodeJS.ProcessEnv): LoadedConfig {
  const loaded = loadConfig(file, env);
  checkMappings(loaded.config);
  for (const w of loaded.warnings) io.err(`warning: ${w}`);
  return loaded;
}

function reportExit(plan: Plan, report: RunReport): number {
  const failedTargets = plan.targets.some((t) => t.error) || report.targets.some((t) => t.stopped);
  return totals(report).failed > 0 || failedTargets ? EXIT.FAILED_OPERATIONS : EXIT.OK;
}

export async function validateCommand(opts: { config: string }, io: Io): Promise<number> {
  const loaded = load(opts.config, io);
  await requireOfferedAttributes(loaded, createSource(loaded.config.source));
  const names = Object.keys(loaded.config.targets);
  io.out(`${loaded.file}: valid (source ${loaded.config.source.type}, ${names.length} target${names.length === 1 ? '' : 's'}: ${names.join(', ')})`);
  return EXIT.OK;
}

export async function schemaCommand(io: Io): Promise<number> {
  io.out(JSON.stringify(configJsonSchema(), null, 2));
  return EXIT.OK;
}

export async function planCommand(opts: CommonOptions & { out?: string }, io: Io): Promise<number> {
  const loaded = load(opts.config, io);
  const state = await openState(loaded, { lock: false, audit: false, log: (line) => io.err(line) });
  try {
    const { plan } = await makePlan(loaded, state.links, opts.target);
    if (opts.out) await writeFile(opts.out, JSON.stringify(plan, null, 2), { mode: 0o600 });
    if (opts.json) io.out(JSON.stringify(plan, null, 2));
    else {
      io.out(formatPlan(plan));
      const reasons = safetyViolations(plan, loaded.config.safety);
      io.out(reasons.length > 0 ? `\nThe safety check would stop this plan:\n  - ${reasons.join('\n  - ')}` : '\nSafety check: passes');
      if (opts.out) io.out(`Saved to ${opts.out}; apply it with: scim-sync apply ${opts.out} --config ${opts.config}`);
    }
    return plan.targets.some((t) => t.error) ? EXIT.FAILED_OPERATIONS : EXIT.OK;
  } finally {
    await state.close();
  }
}

export async function applyCommand(file: string, opts: CommonOptions & { overrideSafety?: boolean; wait?: boolean; waitTimeout?: number }, io: Io): Promise<number> {
  const loaded = load(opts.config, io);
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new PlanError(`cannot read plan ${file}: ${(error as Error).message}`);
  }
  const plan = checkPlanFile(data, file);
  const configured = new Map(enabledTargets(loaded));
  const unknown = plan.targets.filter((t) => !configured.has(t.target)).map((t) => t.target);
  if (unknown.length > 0) throw new PlanError(`${file} has targets not enabled in ${loaded.file}: ${unknown.join(', ')}`);
  const runtimes = new Map(plan.targets.map((t) => [t.target, createTargetRuntime(t.target, configured.get(t.target)!)]));
  const state = await openState(loaded, { lock: true, audit: true, targets: plan.targets.map((t) => t.target), log: (line) => io.err(line) });
  try {
    const report = await applyPlan(loaded, plan, runtimes, state, state.executor(waitOptions(opts)), { overrideSafety: !!opts.overrideSafety });
    if (state.distributed && !waitOptions(opts).wait) return enqueued(plan, opts, io);
    io.out(opts.json ? JSON.stringify(report, null, 2) : formatReport(report));
    return reportExit(plan, report);
  } finally {
    await state.close();
  }
}

/** --wait-timeout implies --wait. */
function waitOptions(opts: { wait?: boolean; waitTimeout?: number }): { wait: boolean; waitTimeoutMs?: number } {
  return opts.waitTimeout !== undefined ? { wait: true, waitTimeoutMs: opts.waitTimeout } : { wait: !!opts.wait };
}

/** Distributed mode without --wait: the plan is on the queue; workers report through `status`. */
function enqueued(plan: Plan, opts: { json?: boolean; config: string }, io: Io): number {
  const ops = plan.targets.reduce((n, t) => n + t.phases.reduce((m, p) => m + p.operations.length, 0), 0);
  if (opts.json) io.out(JSON.stringify({ plan: summarise(plan), enqueued: true }, null, 2));
  else io.out(`\nEnqueued ${plan.id}: ${ops} operation${ops === 1 ? '' : 's'} for the workers. Follow it with: scim-sync status --config ${opts.config}`);
  return plan.targets.some((t) => t.error) ? EXIT.FAILED_OPERATIONS : EXIT.OK;
}

/** plan, safety check, apply, report: what cron runs. */
export async function runCommand(
  opts: CommonOptions & { overrideSafety?: boolean; wait?: boolean; waitTimeout?: number; env?: NodeJS.ProcessEnv; stateDir?: string },
  io: Io,
): Promise<number> {
  const loaded = load(opts.config, io, opts.env);
  if (opts.stateDir) {
    loaded.stateDir = opts.stateDir;
    loaded.auditFile = `${opts.stateDir}/audit.jsonl`;
  }
  const targets = enabledTargets(loaded, opts.target).map(([name]) => name);
  const state = await openState(loaded, { lock: true, audit: true, targets, log: (line) => io.err(line) });
  try {
    const { plan, runtimes } = await makePlan(loaded, state.links, opts.target);
    if (!opts.json) io.out(formatPlan(plan, 50));
    const report = await applyPlan(loaded, plan, runtimes, state, state.executor(waitOptions(opts)), { overrideSafety: !!opts.overrideSafety });
    if (state.distributed && !waitOptions(opts).wait) return enqueued(plan, opts, io);
    io.out(opts.json ? JSON.stringify({ plan: summarise(plan), report }, null, 2) : `\n${formatReport(report)}`);
    return reportExit(plan, report);
  } finally {
    await state.close();
  }
}

/** The plan without its operation bodies, for `run --json` (the full plan is `plan --json`). */
function summarise(plan: Plan) {
  return {
    id: plan.id,
    source: plan.source,
    targets: plan.targets.map((t) => ({
      target: t.target,
      managedUsers: t.managedUsers,
      actualUsers: t.actualUsers,
      warnings: t.warnings,
      ...(t.error ? { error: t.error } : {}),
      operations: t.phases.flatMap((p) => p.operations).reduce<Record<string, number>>((acc, o) => {
        acc[o.kind] = (acc[o.kind] ?? 0) + 1;
        return acc;
      }, {}),
    })),
  };
}

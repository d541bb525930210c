/**
 * The commands behind the CLI, one function each, all returning an exit code. They wire config,
 * state, planner and executor together; main.ts only parses arguments.
 */
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { configJsonSchema } from '../config/schema/index.js';
import { applyPlan, checkPlanFile } from '../engine/apply-plan.js';
import { selectTargets } from '../config/select-targets.js';
import { makePlan } from '../engine/make-plan.js';
import { forgetSettledParked } from '../engine/parked-changes.js';
import { forgetLiftedHolds } from '../engine/lifted-holds.js';
import { forgetChangedRejections } from '../engine/staged-sets.js';
import { openState } from '../engine/state.js';
import type { RunState } from '../engine/run-state.js';
import { checkBinding } from '../engine/plan-binding.js';
import { verifySavedPlan, type SkippedOperation } from '../engine/verify-plan.js';
import { requireOfferedAttributes } from '../engine/source-attributes.js';
import { createTargetRuntime } from '../execution/target-runtime.js';
import { ConfigError, InterruptedError, PlanError, SafetyError, describeError } from '../errors.js';
import { explainCode } from '../state/state-dir.js';
import type { TargetRuntime } from '../execution/executor.js';
import type { RunReport } from '../execution/run-report.js';
import { partitionTargets, quarantinedTargets, settlePlanRead, settleQuarantine, skipStatus, isSkipped } from '../engine/quarantine.js';
import { cycleFailedEvent, safetyStopEvent, stagedEvent, type Notifier } from '../notify/notifier.js';
import { commandNotifier } from './notifier.js';
import { cycleProblems, noteVerdicts, quarantinedOnly, quarantinedReports } from './cycle-outcome.js';
import { checkMappings } from '../mapping/check-mappings.js';
import { checkTlsFiles } from '../config/check-tls-files.js';
import { redact } from '../config/secret.js';
import { writeFileAtomic } from '../state/atomic-write.js';
import { operationCount, operationsOf, type Operation, type Plan } from '../model/plan.js';
import { safetyViolations } from '../planning/safety.js';
import { createSource } from '../sources/create-source.js';
import { exitForError } from './error-exit.js';
import { EXIT, exitForPlan, exitForReport } from './exit-codes.js';
import { formatPlan } from './format-plan.js';
import { formatReport } from './format-report.js';
import type { Io } from './io.js';

export interface CommonOptions {
  config: string;
  json?: boolean;
  target?: string[];
}

/** Options of the commands that write to targets. */
interface WriteOptions extends CommonOptions {
  overrideSafety?: boolean;
  wait?: boolean;
  waitTimeout?: number;
  /** The operator's stop (SIGINT/SIGTERM, cli/interrupt.ts). */
  signal?: AbortSignal;
  /** run: plan parked changes again. */
  retryParked?: boolean;
}

/** 130 / 143 when the operator stopped the run. */
function interruptedExit(signal: AbortSignal | undefined): number | undefined {
  if (!signal?.aborted || !(signal.reason instanceof InterruptedError)) return undefined;
  return signal.reason.signal === 'SIGINT' ? EXIT.INTERRUPTED : EXIT.TERMINATED;
}

/**
 * Runs `work` (which prints the report), then closes the state. A state write that failed (the
 * audit log or the link journal on a full disk: the executor stopped there) is said after the
 * report, never instead of it, since part of the plan may have reached the targets.
 */
export async function withState(state: RunState, io: Io, signal: AbortSignal | undefined, work: () => Promise<number>): Promise<number> {
  let code: number;
  try {
    code = await work();
  } catch (error) {
    await state.close().catch(() => undefined);
    throw error;
  }
  const halted = state.halted.aborted;
  let failure: unknown = halted ? state.halted.reason : undefined;
  try {
    await state.close();
  } catch (error) {
    failure ??= error;
  }
  if (failure !== undefined) {
    io.err(`error: ${describeError(failure)}`);
    io.err(
      halted
        ? 'The run stopped taking operations there: what reached the targets is in the report (and in the audit log as far as it could be written).'
        : 'This happened after the last operation had ended: what reached the targets is in the report.',
    );
    code = EXIT.FAILED_OPERATIONS;
  }
  return interruptedExit(signal) ?? code;
}

/** Proves `file` can be written (its directory takes a new file; it is not a directory), before any work. */
async function checkWritable(file: string): Promise<void> {
  const fail = (error: unknown) => new ConfigError(`cannot write the plan to ${file}: ${explainCode(error)}`, [], { cause: error });
  const existing = await stat(file).catch(() => null);
  if (existing?.isDirectory()) throw fail('EISDIR');
  const probe = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await (await open(probe, 'wx', 0o600)).close();
  } catch (error) {
    throw fail(error);
  }
  await unlink(probe).catch(() => undefined);
}

/** A plan file's JSON, or a PlanError naming the file and, for bad JSON, the line and column. */
async function readPlanFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new PlanError(`cannot read plan ${file}: ${explainCode(error)}`, {}, { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const at = /at position (\d+)/.exec(message);
    const where = at ? text.slice(0, Number(at[1])).split('\n') : null;
    const position = where ? ` (line ${where.length}, column ${where.at(-1)!.length + 1})` : '';
    throw new PlanError(`${file} is not a valid plan file: ${message}${position}; make a new one with scim-sync plan --out`, {}, { cause: error });
  }
}

/** The provisioning log's initiator of a command run by hand (or by cron): the CLI, as user@host. */
export function cliInitiator(): { initiator: 'cli'; by: string } {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry for this uid (a container): the environment may still say.
    user = process.env['USER'] ?? 'unknown';
  }
  return { initiator: 'cli', by: `${user}@${hostname()}` };
}

export function load(file: string, io: Io, env?: NodeJS.ProcessEnv): LoadedConfig {
  const loaded = loadConfig(file, env);
  checkMappings(loaded.config);
  checkTlsFiles(loaded.config);
  for (const w of loaded.warnings) io.err(`warning: ${w}`);
  return loaded;
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

/** Reads the state, never writes it (no lock, no fold of the journal): see file-link-store.ts. */
export async function planCommand(opts: CommonOptions & { out?: string; retryParked?: boolean }, io: Io): Promise<number> {
  const loaded = load(opts.config, io);
  // An unknown --target is refused before anything is opened (makePlan decides the same again).
  selectTargets(loaded, opts.target);
  if (opts.out) await checkWritable(opts.out);
  const state = await openState(loaded, { lock: false, audit: false, readOnly: true, log: (line) => io.err(line) });
  try {
    const { plan } = await makePlan(loaded, state.links, opts.target, { memory: state.memory, retryParked: !!opts.retryParked });
    const quarantined = await quarantinedTargets(state.quarantine, loaded.config.quarantine);
    for (const t of plan.targets) {
      const entry = quarantined.get(t.target);
      if (entry && isSkipped(entry, new Date())) io.err(`note: target ${t.target} is ${skipStatus(entry)}; run leaves it out until then`);
    }
    // A server's error text in the plan may quote a credential; 0600 whatever the file was before.
    if (opts.out) {
      await writeFileAtomic(opts.out, redact(JSON.stringify(plan, null, 2))).catch((error: unknown) => {
        throw new ConfigError(`cannot write the plan to ${opts.out}: ${explainCode(error)}`);
      });
    }
    if (opts.json) io.out(JSON.stringify(plan, null, 2));
    else {
      io.out(formatPlan(plan));
      const reasons = safetyViolations(plan, loaded.config.safety);
      io.out(reasons.length > 0 ? `\nThe safety check would stop this plan:\n  - ${reasons.join('\n  - ')}` : '\nSafety check: passes');
      if (opts.out) io.out(`Saved to ${opts.out}; apply it with: scim-sync apply ${opts.out} --config ${opts.config}`);
    }
    return exitForPlan(plan);
  } finally {
    await state.close();
  }
}

export async function applyCommand(file: string, opts: WriteOptions, io: Io): Promise<number> {
  const loaded = load(opts.config, io);
  const saved = checkPlanFile(await readPlanFile(file), file);
  const configured = new Map(selectTargets(loaded));
  const unknown = saved.targets.filter((t) => !configured.has(t.target)).map((t) => t.target);
  if (unknown.length > 0) throw new PlanError(`${file} has targets not enabled in ${loaded.file}: ${unknown.join(', ')}`);
  checkBinding(saved, loaded, file);
  const runtimes = new Map(saved.targets.map((t) => [t.target, createTargetRuntime(t.target, configured.get(t.target)!)]));
  const state = await openState(loaded, { lock: true, audit: true, targets: saved.targets.map((t) => t.target), log: (line) => io.err(line), initiator: cliInitiator() });
  return withState(state, io, opts.signal, async () => {
    const { plan, skipped } = await verifySavedPlan(loaded, saved, runtimes, state.links);
    if (opts.signal?.aborted) throw opts.signal.reason;
    const report = await applyOrStop(loaded, plan, runtimes, state, opts, io, commandNotifier(loaded, io, state.audit), skipped);
    if (typeof report === 'number') return report;
    if (state.distributed && !waitOptions(opts).wait) return enqueued(plan, opts, io);
    io.out(opts.json ? JSON.stringify(report, null, 2) : formatReport(report));
    return exitForReport(report);
  });
}

/** --wait-timeout implies --wait. */
function waitOptions(opts: { wait?: boolean; waitTimeout?: number }): { wait: boolean; waitTimeoutMs?: number } {
  return opts.waitTimeout !== undefined ? { wait: true, waitTimeoutMs: opts.waitTimeout } : { wait: !!opts.wait };
}

/** Distributed mode without --wait: the plan is on the queue; workers report through `status`. */
function enqueued(plan: Plan, opts: { json?: boolean; config: string }, io: Io): number {
  const ops = operationCount(plan);
  if (opts.json) io.out(JSON.stringify({ plan: summarise(plan), enqueued: true }, null, 2));
  else io.out(`\nEnqueued ${plan.id}: ${ops} operation${ops === 1 ? '' : 's'} for the workers. Follow it with: scim-sync status --config ${opts.config}`);
  return exitForPlan(plan);
}

/** plan, safety check, apply, report: what cron runs. Quarantined targets are left out until their next try. */
export async function runCommand(opts: WriteOptions & { env?: NodeJS.ProcessEnv; stateDir?: string }, io: Io): Promise<number> {
  const loaded = load(opts.config, io, opts.env);
  if (opts.stateDir) {
    loaded.stateDir = opts.stateDir;
    loaded.auditFile = `${opts.stateDir}/audit.jsonl`;
  }
  const selected = selectTargets(loaded, opts.target).map(([name]) => name);
  const state = await openState(loaded, { lock: true, audit: true, targets: selected, log: (line) => io.err(line), initiator: cliInitiator() });
  const notifier = commandNotifier(loaded, io, state.audit);
  return withState(state, io, opts.signal, async () => {
    const startedAt = new Date();
    const { run: targets, skipped } = partitionTargets(selected, await quarantinedTargets(state.quarantine, loaded.config.quarantine), startedAt);
    for (const [target, status] of skipped) io.err(`target ${target} skipped: ${status}`);
    if (targets.length === 0) return quarantinedOnly(skipped, startedAt, opts, io);
    const { plan, runtimes, snapshot } = await makePlan(loaded, state.links, targets, { memory: state.memory, retryParked: !!opts.retryParked });
    // Stopped while reading: nothing was written, and no operation need be listed as skipped.
    if (opts.signal?.aborted) throw opts.signal.reason;
    await forgetLiftedHolds(loaded.stateDir, snapshot, state.audit, plan.id);
    await forgetSettledParked(state.memory, plan);
    if (!state.distributed) await forgetChangedRejections(loaded.stateDir, snapshot);
    if (!opts.json) io.out(formatPlan(plan, 50));
    const report = await applyOrStop(loaded, plan, runtimes, state, opts, io, notifier);
    if (typeof report === 'number') return report;
    const edges = { store: state.quarantine, audit: state.audit, notifier, settings: loaded.config.quarantine, planId: plan.id };
    if (state.distributed && !waitOptions(opts).wait) {
      for (const [target, v] of await settlePlanRead(plan, { ...edges, now: new Date() })) {
        if (v.kind === 'enter' || v.kind === 'stay') io.err(`target ${target} quarantined: ${v.entry.reason}; next try at ${v.entry.nextTry}`);
      }
      return enqueued(plan, opts, io);
    }
    // An interrupted run, or one whose state could not be written, says nothing about the targets.
    if (!opts.signal?.aborted && !state.halted.aborted) {
      const verdicts = await settleQuarantine(report.targets, { ...edges, now: new Date() });
      noteVerdicts(report, verdicts);
    }
    report.targets.push(...quarantinedReports(skipped));
    io.out(opts.json ? JSON.stringify({ plan: summarise(plan), report }, null, 2) : `\n${formatReport(report)}`);
    // A target left out in quarantine was notified when it went in, not again each cycle.
    const problems = cycleProblems(report);
    if (problems.length > 0) await notifier.notify(cycleFailedEvent(plan.id, problems));
    return exitForReport(report);
  });
}

/** applyPlan; a safety stop ends the command here, with the plan it refused in the `--json` document. */
async function applyOrStop(
  loaded: LoadedConfig,
  plan: Plan,
  runtimes: ReadonlyMap<string, TargetRuntime>,
  state: RunState,
  opts: WriteOptions,
  io: Io,
  notifier: Notifier,
  skipped?: readonly SkippedOperation[],
): Promise<RunReport | number> {
  const executor = state.executor({ ...waitOptions(opts), ...(opts.signal ? { signal: opts.signal } : {}) });
  const options = { overrideSafety: !!opts.overrideSafety, ...(opts.signal ? { signal: opts.signal } : {}), ...(skipped ? { skipped } : {}) };
  try {
    return await applyPlan(loaded, plan, runtimes, state, executor, options);
  } catch (error) {
    if (!(error instanceof SafetyError)) throw error;
    await notifier.notify(safetyStopEvent(plan.id, error.reasons));
    if (error.staged && 'id' in error.staged) {
      const staged = plan.targets.reduce((n, t) => n + operationsOf(t).filter((op) => op.kind === 'deprovisionUser').length, 0);
      await notifier.notify(stagedEvent(error.staged.id, staged, error.reasons.join('; ')));
    }
    return exitForError(error, io, { json: !!opts.json, plan: summarise(plan) });
  }
}

function countByKind(ops: readonly Operation[]): Record<string, number> {
  return ops.reduce<Record<string, number>>((acc, o) => {
    acc[o.kind] = (acc[o.kind] ?? 0) + 1;
    return acc;
  }, {});
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
      operations: countByKind(t.phases.flatMap((p) => p.operations)),
      ...(t.held ? { held: { reason: t.held.reason, operations: countByKind(t.held.operations) } } : {}),
    })),
  };
}

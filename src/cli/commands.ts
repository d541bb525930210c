/**
 * The commands behind the CLI, one function each, all returning an exit code. They wire config,
 * state, planner and executor together; main.ts only parses arguments.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, realpath, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { activeLogFile, logFiles } from '../audit/log-files.js';
import { configJsonSchema, type SourceSetup } from '../config/schema/index.js';
import { sourceEntries } from '../config/source-setup.js';
import { selectTargets } from '../config/select-targets.js';
import { makePlan } from '../engine/make-plan.js';
import { openState } from '../engine/state.js';
import { cliInitiator } from '../engine/operator.js';
import { checkBinding } from '../engine/plan-binding.js';
import { decisionsNow, verifySavedPlan } from '../engine/verify-plan.js';
import { requireOfferedAttributes } from '../engine/source-attributes.js';
import { createTargetRuntime } from '../execution/target-runtime.js';
import { ConfigError, PlanError, SafetyError, describeError } from '../errors.js';
import { explainCode } from '../state/state-dir.js';
import { quarantinedTargets, skipStatus, isSkipped } from '../engine/quarantine.js';
import { commandNotifier } from './notifier.js';
import { quarantinedOnly } from './cycle-outcome.js';
import { applyOrStage, runCycle } from '../engine/cycle.js';
import { writeFileAtomic } from '../state/atomic-write.js';
import { operationCount, operationsOf, type Operation, type Plan } from '../model/plan.js';
import { safetyViolations } from '../planning/safety.js';
import { createSource } from '../sources/create-source.js';
import { ColumnsMissingError } from '../sources/csv/csv-source.js';
import { exitForError } from './error-exit.js';
import { EXIT, exitForPlan, exitForReport } from './exit-codes.js';
import { formatPlan, saysNothing } from './format-plan.js';
import { checkSavedPlan, planFile } from './plan-file.js';
import { formatReport } from './format-report.js';
import { logWarning, type Io } from './io.js';
import { load, type CommonOptions } from './load-config.js';
import { withState } from './with-state.js';
import { newPlanId } from '../engine/make-plan.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { LoadedConfig } from '../config/load.js';
import { observeAll } from '../telemetry/sync-events.js';
import type { CommandOutput } from './command-output.js';

/** Options of the commands that write to targets. */
interface WriteOptions extends CommonOptions {
  overrideSafety?: boolean;
  wait?: boolean;
  waitTimeout?: number;
  /** The operator's stop (SIGINT/SIGTERM, cli/interrupt.ts). */
  signal?: AbortSignal;
  /** run: plan parked changes again. */
  retryParked?: boolean;
  /** run: check every group's members in full, whatever the member memory holds. */
  verifyMembers?: boolean;
  /** The log and the progress of this command (main.ts); absent: neither. */
  output?: CommandOutput;
}

/** Proves `file` can be written (its directory takes a new file; it is not a directory), before any work. */
/** The files a plan read or keeps its state in: writing the plan over one would destroy it. */
function planInputs(loaded: LoadedConfig): string[] {
  // The audit log as this host writes it ({host}), and every file of it, rotated or another host's.
  const files = [loaded.file, activeLogFile(loaded.auditFile), ...logFiles(loaded.auditFile)];
  for (const { config } of sourceEntries(loaded.config.source)) {
    if (config.type === 'csv') files.push(config.path, ...(config.memberships ? [config.memberships.path] : []));
  }
  return files;
}

/** The real path of `file`, or of its directory joined with its name when it does not exist yet (a symlinked state directory). */
const realOrResolved = (file: string) => realpath(file).catch(() => realpath(dirname(resolve(file))).then((dir) => join(dir, basename(file)), () => resolve(file)));

async function checkWritable(file: string, loaded: LoadedConfig): Promise<void> {
  const fail = (error: unknown) => new ConfigError(`cannot write the plan to ${file}: ${explainCode(error)}`, [], { cause: error });
  const target = await realOrResolved(file);
  for (const input of planInputs(loaded)) {
    if ((await realOrResolved(input)) === target) throw new ConfigError(`--out ${file} is ${input}, which the plan is made from or kept with: choose another file`);
  }
  const stateDir = await realOrResolved(loaded.stateDir);
  if (target.startsWith(`${stateDir}${sep}`)) throw new ConfigError(`--out ${file} is inside the state directory ${loaded.stateDir}: choose another file`);
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

export async function validateCommand(opts: { config: string }, io: Io): Promise<number> {
  const loaded = load(opts.config, io);
  await requireOfferedAttributes(loaded, createSource(loaded.config.source)).catch((error: unknown) => {
    if (error instanceof ColumnsMissingError) throw new ConfigError(`${loaded.file}: the source does not have what the config names`, [error.message], { cause: error });
    throw error;
  });
  const names = Object.keys(loaded.config.targets);
  io.out(`${loaded.file}: valid (${describeSources(loaded.config.source)}, ${names.length} target${names.length === 1 ? '' : 's'}: ${names.join(', ')})`);
  return EXIT.OK;
}

/** `source csv`, or `sources hr (csv, primary) + ldap (ldap, on employee_id = employeeNumber)`. */
function describeSources(setup: SourceSetup): string {
  if (setup.type !== 'joined') return `source ${setup.type}`;
  const { join, sources } = setup;
  const secondaries = Object.entries(join.secondaries).map(([name, s]) => `${name} (${sources[name]!.type}, on ${join.primary}.${s.on[0]} = ${name}.${s.on[1]})`);
  return `sources ${join.primary} (${sources[join.primary]!.type}, primary) + ${secondaries.join(' + ')}; groups from ${(join.groups ?? [join.primary]).join(', ')}`;
}

export async function schemaCommand(io: Io): Promise<number> {
  io.out(JSON.stringify(configJsonSchema(), null, 2));
  return EXIT.OK;
}

/** Reads the state, never writes it (no lock, no fold of the journal): see file-link-store.ts. */
export async function planCommand(opts: CommonOptions & { out?: string; retryParked?: boolean; verifyMembers?: boolean; output?: CommandOutput }, io: Io): Promise<number> {
  const loaded = load(opts.config, io, { warn: logWarning(opts.output, io) });
  // An unknown --target is refused before anything is opened (makePlan decides the same again).
  selectTargets(loaded, opts.target);
  if (opts.out) await checkWritable(opts.out, loaded);
  const planId = newPlanId();
  opts.output?.bind({ cycle: planId });
  const state = await openState(loaded, { lock: false, audit: false, readOnly: true, log: logWarning(opts.output, io) });
  try {
    const { plan } = await makePlan(loaded, state, opts.target, {
      memory: state.memory,
      retryParked: !!opts.retryParked,
      // Read, never recorded: `plan` holds no lock.
      members: { memory: state.members, record: false },
      verifyMembers: !!opts.verifyMembers,
      planId,
      ...(opts.output ? { observer: opts.output.observer } : {}),
    });
    const quarantined = await quarantinedTargets(state.quarantine, loaded.config.quarantine);
    for (const t of plan.targets) {
      const entry = quarantined.get(t.target);
      if (entry && isSkipped(entry, new Date())) io.err(`note: target ${t.target} is ${skipStatus(entry)}; run leaves it out until then`);
    }
    // A server's error text in the plan may quote a credential; 0600 whatever the file was before.
    if (opts.out) {
      await writeFileAtomic(opts.out, planFile(plan)).catch((error: unknown) => {
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
  const loaded = load(opts.config, io, { warn: logWarning(opts.output, io) });
  const saved = checkSavedPlan(await readPlanFile(file), file);
  const configured = new Map(selectTargets(loaded));
  const unknown = saved.targets.filter((t) => !configured.has(t.target)).map((t) => t.target);
  if (unknown.length > 0) throw new PlanError(`${file} has targets not enabled in ${loaded.file}: ${unknown.join(', ')}`);
  checkBinding(saved, loaded, file);
  opts.output?.bind({ cycle: saved.id });
  const runtimes = new Map(saved.targets.map((t) => [t.target, createTargetRuntime(t.target, configured.get(t.target)!)]));
  const state = await openState(loaded, { lock: true, audit: true, targets: saved.targets.map((t) => t.target), log: logWarning(opts.output, io), initiator: cliInitiator() });
  return withState(state, io, opts.signal, async () => {
    const { plan, skipped } = await verifySavedPlan(loaded, saved, runtimes, state.links, state.members, await decisionsNow(state));
    if (opts.signal?.aborted) throw opts.signal.reason;
    const notifier = commandNotifier(loaded, logWarning(opts.output, io), state.audit);
    const report = await applyOrStage(loaded, plan, runtimes, state, { overrideSafety: !!opts.overrideSafety, fullRead: true, executor: executorOptions(opts), notifier, skipped });
    if (report instanceof SafetyError) return exitForError(report, io, { json: !!opts.json, plan: summarise(plan) });
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
export async function runCommand(opts: WriteOptions & { env?: NodeJS.ProcessEnv; stateDir?: string; metricsFile?: string }, io: Io): Promise<number> {
  const loaded = load(opts.config, io, { ...(opts.env ? { env: opts.env } : {}), warn: logWarning(opts.output, io) });
  if (opts.stateDir) {
    loaded.stateDir = opts.stateDir;
    loaded.auditFile = `${opts.stateDir}/audit.jsonl`;
  }
  const selected = selectTargets(loaded, opts.target).map(([name]) => name);
  if (!opts.metricsFile) return runCycleCommand(loaded, selected, opts, io);
  // The file is written however the run ends (a failed run is what the metrics must show), after
  // the state is closed: the cycle's outcome is known by then.
  // prom-client is loaded only by a run that writes metrics.
  const { Metrics } = await import('../telemetry/metrics.js');
  const { writeMetricsFile } = await import('../telemetry/metrics-file.js');
  const metrics = new Metrics({ process: false });
  const unlisten = metrics.listenToRequests();
  let result = 'failed';
  try {
    return await runCycleCommand(loaded, selected, { ...opts, metrics, onResult: (kind) => (result = kind) }, io);
  } finally {
    unlisten();
    metrics.cycles.inc({ result });
    await writeMetricsFile(opts.metricsFile, metrics).catch((error: unknown) => {
      const why = `cannot write the metrics file ${opts.metricsFile}: ${explainCode(error)}`;
      if (opts.output) opts.output.log(why, { level: 'error' });
      else io.err(`warning: ${why}`);
    });
  }
}

async function runCycleCommand(
  loaded: LoadedConfig,
  selected: string[],
  opts: WriteOptions & { metrics?: Metrics; onResult?: (kind: string) => void },
  io: Io,
): Promise<number> {
  const planId = newPlanId();
  opts.output?.bind({ cycle: planId });
  const state = await openState(loaded, { lock: true, audit: true, targets: selected, log: logWarning(opts.output, io), initiator: cliInitiator() });
  const notifier = commandNotifier(loaded, logWarning(opts.output, io), state.audit);
  const observer = observeAll(opts.output?.observer, opts.metrics?.observe);
  return withState(state, io, opts.signal, async () => {
    const quiet = !!opts.output?.quiet && !opts.json;
    const result = await runCycle(loaded, state, {
      targets: selected,
      overrideSafety: !!opts.overrideSafety,
      retryParked: !!opts.retryParked,
      verifyMembers: !!opts.verifyMembers,
      executor: executorOptions(opts),
      notifier,
      planId,
      ...(observer ? { observer } : {}),
      onQuarantined: (target, status) => io.err(`target ${target} skipped: ${status}`),
      onPlan: (plan) => {
        if (!opts.json && !(quiet && saysNothing(plan))) io.out(formatPlan(plan, 50));
      },
    });
    opts.onResult?.(result.kind);
    switch (result.kind) {
      case 'quarantined':
        return quarantinedOnly(result.skipped, result.at, opts, io);
      case 'stopped':
        return exitForError(result.error, io, { json: !!opts.json, plan: summarise(result.plan) });
      case 'enqueued':
        for (const [target, v] of result.quarantined) {
          if (v.kind === 'enter' || v.kind === 'stay') io.err(`target ${target} quarantined: ${v.entry.reason}; next try at ${v.entry.nextTry}`);
        }
        return enqueued(result.plan, opts, io);
      case 'applied': {
        const code = exitForReport(result.report);
        if (!(quiet && code === 0 && saysNothing(result.plan) && result.afterwards === undefined)) {
          io.out(opts.json ? JSON.stringify({ plan: summarise(result.plan), report: result.report }, null, 2) : `\n${formatReport(result.report)}`);
        }
        if (result.afterwards === undefined) return code;
        io.err(`error: ${describeError(result.afterwards)}`);
        io.err('This happened once the report was in: the report above stands.');
        return EXIT.FAILED_OPERATIONS;
      }
    }
  });
}

/** The executor's options from the command line: waiting (distributed), the operator's stop, and who watches. */
function executorOptions(opts: WriteOptions) {
  return { ...waitOptions(opts), ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.output ? { observer: opts.output.observer } : {}) };
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
      operations: countByKind(operationsOf(t)),
      ...(t.held ? { held: { reason: t.held.reason, operations: countByKind(t.held.operations) } } : {}),
      ...(t.memberChecks ? { memberChecks: t.memberChecks } : {}),
    })),
    ...(plan.unconfiguredTargets ? { unconfiguredTargets: plan.unconfiguredTargets } : {}),
  };
}

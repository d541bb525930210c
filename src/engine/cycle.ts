/**
 * One full cycle, as `run` and the service's scheduled reconcile do it: leave out quarantined
 * targets, read the source and plan, forget holds and rejections the source has overtaken, check
 * safety (a stop stages the held operations and notifies), apply, settle quarantine, and notify a
 * failed cycle. Printing is the caller's; so is the run state (lock, links, audit), opened once.
 */
import type { LoadedConfig } from '../config/load.js';
import { SafetyError } from '../errors.js';
import type { TargetRuntime } from '../execution/executor.js';
import { emptyTargetReport, failedTargets, totals, type RunReport, type TargetReport } from '../execution/run-report.js';
import type { Plan } from '../model/plan.js';
import { cycleFailedEvent, type Notifier } from '../notify/notifier.js';
import { applyPlan, type ApplyOptions } from './apply-plan.js';
import { forgetOvertaken, planCycle } from './plan-cycle.js';
import { partitionTargets, quarantinedTargets, settlePlanRead, settleQuarantine, type QuarantineVerdict } from './quarantine.js';
import type { ExecutorOptions, RunState } from './run-state.js';
import { notifySafetyStop } from './stage-stop.js';
import { completeFirstSyncs } from './first-sync.js';
import { cycleEvents } from '../execution/cycle-events.js';
import { redisFailure, redisUnreachable } from '../state/redis-errors.js';
import type { SyncObserver } from '../telemetry/sync-events.js';

export interface CycleOptions {
  /** The targets asked for (every enabled one by default); quarantined ones are left out. */
  targets: readonly string[];
  overrideSafety: boolean;
  executor: ExecutorOptions;
  notifier: Notifier;
  /** Told the plan before it is applied (run prints it); the apply waits for it. */
  onPlan?: (plan: Plan) => void | Promise<void>;
  /** Plan parked changes again (`run --retry-parked`). */
  retryParked?: boolean;
  /** Check every group's members in full, whatever the member memory holds (`run --verify-members`). */
  verifyMembers?: boolean;
  /** Told each target left out in quarantine, with its status, before the source is read. */
  onQuarantined?: (target: string, status: string) => void;
  /** The plan's id, named before the source is read (the cycle's log lines carry it); default a new one. */
  planId?: string;
  /** Told the source read, the listings, and (with operations run here) each operation and retry, then how the cycle ended per target. */
  observer?: SyncObserver;
}

export type CycleResult =
  /** Every target asked for is in quarantine: nothing was read or sent. */
  | { kind: 'quarantined'; skipped: ReadonlyMap<string, string>; at: Date }
  /** The safety check refused the plan (its held operations staged, the stop notified). */
  | { kind: 'stopped'; plan: Plan; error: SafetyError }
  /** Distributed without waiting: on the queue; quarantine entries from the read are settled. */
  | { kind: 'enqueued'; plan: Plan; quarantined: ReadonlyMap<string, QuarantineVerdict> }
  /**
   * `afterwards`: what failed once the report was in (forgetting overtaken holds and rejections,
   * settling quarantine: Redis gone under a waiting `run`, a full disk), to be said after the report,
   * never instead of it: the plan has been applied, or handed to the workers.
   */
  | { kind: 'applied'; plan: Plan; report: RunReport; afterwards?: unknown };

/** The reports of the targets left out in quarantine: nothing sent, and why. */
export function quarantinedReports(skipped: ReadonlyMap<string, string>): TargetReport[] {
  return [...skipped].map(([target, status]) => ({ ...emptyTargetReport(target), quarantined: status }));
}

/** Each target's quarantine change, in its report. */
export function noteVerdicts(report: RunReport, verdicts: ReadonlyMap<string, QuarantineVerdict>): void {
  for (const t of report.targets) {
    const v = verdicts.get(t.target);
    if (v?.kind === 'enter') t.quarantine = `quarantined: ${v.entry.reason}; next try at ${v.entry.nextTry}`;
    else if (v?.kind === 'stay') t.quarantine = `still quarantined after try ${v.entry.attempts}: ${v.entry.reason}; next try at ${v.entry.nextTry}`;
    else if (v?.kind === 'lift') t.quarantine = `out of quarantine: this cycle succeeded (quarantined since ${v.previous.since}: ${v.previous.reason})`;
  }
}

/** Why a cycle exits 1, in short, for its notification; none for a cycle whose only gap is a target left out in quarantine. */
export function cycleProblems(report: RunReport): string[] {
  const t = totals(report);
  const f = failedTargets(report);
  return [
    t.failed ? `${t.failed} operation${t.failed === 1 ? '' : 's'} failed` : '',
    f.unreadable.length ? `could not read ${f.unreadable.join(', ')}` : '',
    f.stopped.length ? `stopped ${f.stopped.join(', ')}` : '',
    report.targets.some((x) => x.held) ? 'deprovisioning held' : '',
    t.skipped + t.partial ? `${t.skipped + t.partial} operation${t.skipped + t.partial === 1 ? '' : 's'} skipped or partial` : '',
  ].filter(Boolean);
}

/** applyPlan; a safety stop is notified (and its staged set) and handed back as data. */
export async function applyOrStage(
  loaded: LoadedConfig,
  plan: Plan,
  runtimes: ReadonlyMap<string, TargetRuntime>,
  state: RunState,
  options: Pick<ApplyOptions, 'overrideSafety' | 'skipped' | 'checkSafety' | 'sourceDoubts' | 'fullRead'> & { executor: ExecutorOptions; notifier: Notifier },
): Promise<RunReport | SafetyError> {
  const executor = state.executor(options.executor);
  const signal = options.executor.signal;
  try {
    return await applyPlan(loaded, plan, runtimes, state, executor, {
      overrideSafety: options.overrideSafety,
      ...(signal ? { signal } : {}),
      ...(options.skipped ? { skipped: options.skipped } : {}),
      ...(options.checkSafety ? { checkSafety: options.checkSafety } : {}),
      ...(options.sourceDoubts ? { sourceDoubts: options.sourceDoubts } : {}),
      ...(options.fullRead ? { fullRead: true } : {}),
    });
  } catch (error) {
    if (!(error instanceof SafetyError)) throw error;
    await notifySafetyStop(options.notifier, plan, error);
    return error;
  }
}

export async function runCycle(loaded: LoadedConfig, state: RunState, options: CycleOptions): Promise<CycleResult> {
  const startedAt = new Date();
  const signal = options.executor.signal;
  const { run: targets, skipped } = partitionTargets(options.targets, await quarantinedTargets(state.quarantine, loaded.config.quarantine), startedAt);
  for (const [target, status] of skipped) options.onQuarantined?.(target, status);
  if (targets.length === 0) return { kind: 'quarantined', skipped, at: startedAt };
  const { observer } = options;
  const planning = await planCycle(loaded, state, targets, {
    ...(signal ? { signal } : {}),
    retryParked: !!options.retryParked,
    verifyMembers: !!options.verifyMembers,
    ...(options.planId ? { planId: options.planId } : {}),
    ...(observer ? { observer } : {}),
  });
  const { plan, runtimes } = planning;
  await options.onPlan?.(plan);
  const report = await applyOrStage(loaded, plan, runtimes, state, { ...options, fullRead: true, executor: { ...options.executor, ...(observer ? { observer } : {}) } });
  if (report instanceof SafetyError) {
    if (observer) for (const t of plan.targets) observer({ type: 'cycle', target: t.target, ok: false, seconds: (Date.now() - startedAt.getTime()) / 1000, endedAt: new Date() });
    return { kind: 'stopped', plan, error: report };
  }
  const edges = { store: state.quarantine, audit: state.audit, notifier: options.notifier, settings: loaded.config.quarantine, planId: plan.id };
  if (state.distributed && !options.executor.wait) {
    await forgetOvertaken(state, planning);
    await completeFirstSyncs(state.firstSyncs, state.audit, plan);
    return { kind: 'enqueued', plan, quarantined: await settlePlanRead(plan, { ...edges, now: new Date() }) };
  }
  let afterwards: unknown;
  try {
    await forgetOvertaken(state, planning);
    // An interrupted run, or one whose state could not be written, says nothing about the targets.
    const whole = !signal?.aborted && !state.halted.aborted;
    await completeFirstSyncs(state.firstSyncs, state.audit, plan, whole ? report : undefined);
    if (whole) noteVerdicts(report, await settleQuarantine(report.targets, { ...edges, now: new Date() }));
  } catch (error) {
    const q = loaded.config.queue;
    afterwards = q && redisUnreachable(error) ? redisFailure(q.redis, `recording what cycle ${plan.id} decided (holds, rejections, quarantine)`, error) : error;
  }
  if (observer) for (const event of cycleEvents(report, startedAt, new Date())) observer(event);
  report.targets.push(...quarantinedReports(skipped));
  // A target left out in quarantine was notified when it went in, not again each cycle.
  const problems = cycleProblems(report);
  if (problems.length > 0) await options.notifier.notify(cycleFailedEvent(plan.id, problems));
  return { kind: 'applied', plan, report, ...(afterwards !== undefined ? { afterwards } : {}) };
}

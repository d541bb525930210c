/**
 * The change-driven path: people named by a change feed, an inbound event or a due change are
 * read afresh from the source and planned, checked and applied exactly as a cycle would (planPeople,
 * applyPlan), one batch at a time. Requests that arrive while a batch runs are coalesced into the
 * next one; each caller learns when the batch holding its people has been applied (a feed commits
 * its position only then).
 *
 * No batch holds more than serve.maxBatch people: each costs a look-up on every target, and every
 * other request waits behind the batch (a leaver's event behind a delivery naming the whole company).
 * A request naming more (a bulk import, a feed after an outage) is a full reconcile's instead
 * (`fullReconcile`, the reconcile lane, which does not hold up this one): a cycle lists each target
 * once where the lane would look each person up, and it judges the change whole. Taken here in
 * parts, it would be judged part by part: leavers applied until the running total crossed the limit
 * that the whole request crosses at once.
 *
 * Safety: the batch is judged against the target's whole managed population (the last full
 * cycle's count, or the link store's before one), with the deprovisions and the attribute changes
 * of the sliding window added, and the outage rule left to full reads (a batch reads a handful of
 * people by design). A stop stages the batch's held operations and notifies, as a cycle's stop does.
 * A target whose last full cycle was stopped gets nothing but deprovisions (cycle-hold.ts).
 */
import type { Initiator } from '../audit/audit-sink.js';
import type { LoadedConfig } from '../config/load.js';
import type { SafetyConfig } from '../config/schema/index.js';
import { selectTargets } from '../config/select-targets.js';
import { applyOrStage } from '../engine/cycle.js';
import { partitionTargets, quarantinedTargets } from '../engine/quarantine.js';
import { planPeople } from '../engine/one-person.js';
import { DiscoveryMemo } from '../engine/discovery-memo.js';
import type { RunState } from '../engine/run-state.js';
import { SafetyError, describeError } from '../errors.js';
import type { TargetRuntime } from '../execution/executor.js';
import { unreached, type RunReport, type TargetReport } from '../execution/run-report.js';
import { operationsOf, type Plan, type TargetPlan } from '../model/plan.js';
import type { Notifier } from '../notify/notifier.js';
import { safetyViolations, takenOver } from '../planning/safety.js';
import { sourceViolations } from '../planning/source-checks.js';
import type { ChangeWindow } from './change-window.js';
import type { CycleHold } from './cycle-hold.js';
import { cycleLeftOut, type CycleOutcome, type LeftOut } from './reconcile-lane.js';
import type { SyncObserver } from '../telemetry/sync-events.js';
import type { Log } from '../telemetry/logger.js';

export interface FastLaneDeps {
  loaded: LoadedConfig;
  state: RunState;
  window: ChangeWindow;
  /** Targets whose last full cycle the safety check stopped: the batches write them only deprovisions. */
  hold: CycleHold;
  notifier: Notifier;
  /** Managed users per target, the base of the safety shares. */
  managed(): Promise<ReadonlyMap<string, number>>;
  /**
   * People in the source as the last applied full read had them (this service's cycles, or `run`
   * from cron with the same provisioning log); undefined when none is known. Asked for each batch.
   */
  sourcePeople?(): Promise<number | undefined>;
  log: Log;
  /** The service stopping: start no further operation. */
  signal: AbortSignal;
  /** A full cycle, for a request naming more people than serve.maxBatch (the reconcile lane's request). */
  fullReconcile(reason: string): Promise<CycleOutcome>;
  /** Told of each batch's outcome (metrics, propagation times). */
  onBatch?(batch: BatchOutcome): void;
  /** Told each operation's outcome and each retry (metrics). */
  observer?: SyncObserver;
}

export interface SyncRequest {
  keys: readonly string[];
  initiator: Initiator;
  /** Who or what asked: a feed's name, an endpoint's, `due`. */
  by: string;
}

/** What became of a batch, or of the full cycle that served a request too large for one. */
export interface BatchOutcome {
  keys: readonly string[];
  plan?: Plan;
  report?: RunReport;
  stopped?: SafetyError;
  error?: unknown;
  /**
   * Targets left out before the source was read (in quarantine, each with its status and next try):
   * nothing of this batch reached them. Absent when none was.
   */
  leftOut?: readonly LeftOut[];
  /** Served by a full cycle (a request over serve.maxBatch): failures of others than its people are the next cycle's. */
  fullCycle?: true;
}

interface Waiting {
  request: SyncRequest;
  /** The request's people, each once. */
  keys: readonly string[];
  resolve(outcome: BatchOutcome): void;
}

export class FastLane {
  private queue: Waiting[] = [];
  private running: Promise<void> | null = null;
  private readonly runtimes = new Map<string, TargetRuntime>();
  // Each batch would otherwise ask every target for its discovery documents first (discovery-memo.ts).
  private readonly discovery = new DiscoveryMemo();

  constructor(private readonly deps: FastLaneDeps) {}

  /** Plans and applies these people; resolves with the outcome of the batch that held them (never rejects). */
  sync(request: SyncRequest): Promise<BatchOutcome> {
    const keys = [...new Set(request.keys)];
    if (keys.length === 0) return Promise.resolve({ keys: [] });
    if (keys.length > this.deps.loaded.config.serve.maxBatch) return this.viaFullCycle(request, keys);
    return new Promise((resolve) => {
      this.queue.push({ request, keys, resolve });
      this.running ??= this.drain();
    });
  }

  /**
   * A request over serve.maxBatch, served by a full cycle: done when that cycle reached every target
   * (as a feed's full reconcile is judged, cycleLeftOut), stopped when its safety check stopped it;
   * else not applied, and its people tried again by whoever asked.
   */
  private async viaFullCycle(request: SyncRequest, keys: readonly string[]): Promise<BatchOutcome> {
    const max = this.deps.loaded.config.serve.maxBatch;
    this.deps.log(`change-driven sync from ${request.by}: ${keys.length} people, more than serve.maxBatch (${max}): a full reconcile syncs them`);
    const cycle = await this.deps.fullReconcile(`${request.by}: ${keys.length} people`);
    const result = cycle.result;
    const left = cycleLeftOut(cycle);
    let outcome: BatchOutcome;
    if (result?.kind === 'stopped') outcome = { keys, plan: result.plan, stopped: result.error, fullCycle: true };
    else if (left !== undefined) outcome = { keys, error: new Error(`the full reconcile did not reach every target: ${left}`), fullCycle: true };
    else outcome = { keys, ...(result?.kind === 'applied' ? { plan: result.plan, report: result.report } : {}), fullCycle: true };
    this.deps.onBatch?.(outcome);
    return outcome;
  }

  /** Resolves when no batch runs and none waits. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const max = this.deps.loaded.config.serve.maxBatch;
        const taken: Waiting[] = [];
        const keys = new Set<string>();
        // In order, as many as fit (none is larger than maxBatch: see sync).
        while (this.queue.length > 0 && (keys.size === 0 || keys.size + this.queue[0]!.keys.length <= max)) {
          const next = this.queue.shift()!;
          taken.push(next);
          for (const k of next.keys) keys.add(k);
        }
        const outcome = await this.batch([...keys], taken.map((t) => t.request));
        for (const t of taken) t.resolve(outcome);
      }
    } finally {
      this.running = null;
    }
  }

  private async batch(keys: string[], requests: SyncRequest[]): Promise<BatchOutcome> {
    const { loaded, state, window, hold, notifier, log } = this.deps;
    const first = requests[0]!;
    const who = { initiator: first.initiator, by: [...new Set(requests.map((r) => r.by))].join(', ') };
    let outcome: BatchOutcome;
    const leftOut: LeftOut[] = [];
    try {
      // A target in quarantine waits for its backoff, whatever asks: its next try is a full cycle's.
      const all = selectTargets(loaded).map(([name]) => name);
      const { run: only, skipped } = partitionTargets(all, await quarantinedTargets(state.quarantine, loaded.config.quarantine), new Date());
      // Named in the outcome (notApplied): a feed keeps its position for these people and an event is
      // kept to try again, until the target comes out; the full cycles leave it out meanwhile too.
      for (const [target, status] of skipped) {
        leftOut.push({ target, why: `skipped: ${status}` });
        log(`change-driven sync of ${keys.length === 1 ? keys[0] : `${keys.length} people`}: not applied to target ${target}, skipped: ${status}`, { target });
      }
      if (only.length === 0) throw new Error(`every target is in quarantine (${[...skipped.keys()].join(', ')})`);
      const previous = await this.deps.sourcePeople?.();
      const planned = await planPeople(loaded, state, keys, {
        only,
        runtimes: this.runtimes,
        discovery: this.discovery,
        parked: state.memory,
        // Nothing to judge a whole read's size by (no full cycle applied with this provisioning log):
        // someone missing from it may be a row an export still being written has not reached.
        ...(previous === undefined ? { holdMissingFromWholeRead: NO_FULL_READ } : {}),
      });
      const { runtimes, population } = planned;
      const { plan, heldOnly } = hold.apply(planned.plan, keys, new Date());
      // What the plan says of these people (a deprovision not planned as rejected, the member memory
      // unreadable): the service's log is where the operator of a batch reads it.
      for (const t of plan.targets) {
        for (const w of t.warnings.slice(0, NAMED_IN_LOG)) log(`change-driven sync, target ${t.target}: ${w}`, { cycle: plan.id, target: t.target, level: 'warn' });
        if (t.warnings.length > NAMED_IN_LOG) log(`change-driven sync, target ${t.target}: and ${t.warnings.length - NAMED_IN_LOG} more warnings`, { cycle: plan.id, target: t.target, level: 'warn' });
      }
      const readAt = new Date(plan.binding.source.readAt);
      // Marked as soon as the read is taken, not once applied: a cycle planned on an older read and
      // applying meanwhile must already skip these people (superseded), or it writes its older
      // decision (a withdrawn hire created active) while this batch is still on its way. Should the
      // batch fail, the next cycle plans them afresh. Not those whose every operation the hold kept
      // back: this read decided nothing for them, and a cycle that passes must sync them.
      await state.personClock.mark(heldOnly.size === 0 ? keys : keys.filter((k) => !heldOnly.has(k)), readAt);
      const base = await this.deps.managed();
      const recent = window.recent(new Date());
      const safety = { ...loaded.config.safety, minSourceUsers: 0 };
      const incomplete = incompleteRead(population, previous, loaded.config.safety);
      const checkSafety = (p: Plan) => [
        ...incomplete,
        ...safetyViolations({ ...p, targets: p.targets.map((t) => ({ ...t, managedUsers: Math.max(base.get(t.target) ?? 0, t.managedUsers) })) }, safety, recent),
      ];
      // A stop on these doubts the source, not the leavers: it stages nothing to approve.
      const sourceDoubts = (p: Plan) => [...incomplete, ...sourceViolations(p.source, safety)];
      const result = await applyOrStage(loaded, plan, runtimes, state, { overrideSafety: false, executor: { wait: true, inline: true, initiator: who, signal: this.deps.signal, recent, ...(this.deps.observer ? { observer: this.deps.observer } : {}) }, notifier, checkSafety, sourceDoubts });
      if (result instanceof SafetyError) {
        log(`change-driven sync of ${keys.length} ${keys.length === 1 ? 'person' : 'people'} stopped by the safety check: ${result.reasons.join('; ')}`, { cycle: plan.id, level: 'warn' });
        outcome = { keys, plan, stopped: result };
      } else {
        const now = new Date();
        // What took effect, as the window rebuilt from the log counts it: a deprovision that failed
        // (and is tried again) must not fill the window and stop real leavers.
        for (const t of result.targets) {
          const done = t.counts.deprovisionUser;
          if (done) window.addDeprovisions(t.target, done.ok + done.partial, now);
          const tp = plan.targets.find((p) => p.target === t.target);
          if (!tp) continue;
          const { byPath, creates, recreates } = changesDone(tp, t);
          for (const [path, n] of byPath) window.addAttributeChanges(t.target, path, n, now);
          window.addCreates(t.target, creates, now);
          window.addRecreates(t.target, recreates, now);
        }
        outcome = { keys, plan, report: result };
      }
    } catch (error) {
      log(`change-driven sync of ${peopleNamed(keys)} failed: ${describeError(error)}`, { level: 'error' });
      outcome = { keys, error };
    }
    if (leftOut.length > 0) outcome = { ...outcome, leftOut };
    this.deps.onBatch?.(outcome);
    return outcome;
  }
}

/**
 * What took effect of a target's applied batch, as its check counts it: users whose attribute
 * changed, per path (its updates, not adoptions, which the check leaves out too), and users created
 * or re-activated, and linked accounts created again (planned, or found gone when updated); but
 * those that failed or were skipped, and after a stop (a refused credential) at most as many as
 * the report counts done.
 */
function changesDone(tp: TargetPlan, report: TargetReport): { byPath: Map<string, number>; creates: number; recreates: number } {
  const notDone = new Set([...report.failures.map((f) => f.opId), ...report.skips.filter((s) => s.outcome !== 'partial').map((s) => s.opId)]);
  const capOf = (kind: 'createUser' | 'updateUser' | 'setManager') => {
    const done = report.counts[kind];
    return report.stopped === undefined ? Infinity : done ? done.ok + done.partial : 0;
  };
  const caps = { createUser: capOf('createUser'), updateUser: capOf('updateUser'), setManager: capOf('setManager') };
  const byPath = new Map<string, number>();
  const add = (path: string, cap: number) => byPath.set(path, Math.min(cap, (byPath.get(path) ?? 0) + 1));
  const adopted = takenOver(tp);
  let created = 0;
  let reactivated = 0;
  let recreatedInPlan = 0;
  for (const op of operationsOf(tp)) {
    if (notDone.has(op.id)) continue;
    if (op.kind === 'createUser' && op.unlistedLink === undefined) created++;
    else if (op.kind === 'createUser') recreatedInPlan++;
    if (op.kind === 'updateUser' && op.changes.some((c) => c.path === 'active' && c.to === true)) reactivated++;
    if (op.kind === 'updateUser' && !op.adopt) for (const path of new Set(op.changes.map((c) => c.path))) add(path, caps.updateUser);
    // A manager reference on a managed account that exists changes someone's, as the batch's check counts it.
    else if (op.kind === 'setManager' && op.scimId !== undefined && !adopted.has(op.externalId)) add('manager', caps.setManager);
  }
  return {
    byPath,
    creates: Math.min(created, caps.createUser) + Math.min(reactivated, caps.updateUser),
    recreates: Math.min(recreatedInPlan, caps.createUser) + (report.recreated?.updateUser ?? 0),
  };
}

/** People a log line names: a batch may hold maxBatch of them (500 ids in one line helps nobody). */
const NAMED_IN_LOG = 10;

function peopleNamed(keys: readonly string[]): string {
  const more = keys.length > NAMED_IN_LOG ? ` and ${keys.length - NAMED_IN_LOG} more` : '';
  return `${keys.slice(0, NAMED_IN_LOG).join(', ')}${more}`;
}

const NO_FULL_READ =
  'no full cycle has been applied yet to judge the size of this whole source read by: a person missing from it may be a row an export still being written has not reached; the next full cycle decides';

/**
 * Why a whole source read taken for a few people (a CSV is read whole) is not to be trusted with
 * them, as a full cycle's check would judge it: fewer people than minSourceUsers, or fewer than the
 * last applied full cycle read by more than maxDeactivatePercent (a half-written export: everyone
 * after its last row would read as gone). Empty when the read was a lookup of these people alone
 * (LDAP, Google), or when no full cycle has been applied yet to compare with.
 */
export function incompleteRead(population: number | undefined, previous: number | undefined, safety: SafetyConfig): string[] {
  if (population === undefined) return [];
  if (population < safety.minSourceUsers) {
    return [`the source read has ${population} ${population === 1 ? 'person' : 'people'} (minimum ${safety.minSourceUsers}): read as an incomplete export, not as these people leaving`];
  }
  if (previous === undefined || previous === 0) return [];
  const missing = previous - population;
  if (missing <= safety.alwaysAllowDeactivations || (missing / previous) * 100 <= safety.maxDeactivatePercent) return [];
  return [
    `the source read has ${population} people where the last full cycle read ${previous} (${((missing / previous) * 100).toFixed(1)}% fewer, limit ${safety.maxDeactivatePercent}%): ` +
      'read as an incomplete export, not as these people leaving',
  ];
}

/**
 * Failures that a later try may not meet (the server busy or unreachable, a rate limit, a lost
 * answer): worth trying again. A refusal of the person's data (400, a conflict) would be refused
 * every minute for ever; the next full cycle and its report deal with it.
 */
const TRANSIENT_FAILURES: ReadonlySet<string> = new Set(['TRANSIENT', 'RATE_LIMITED', 'WORKER']);

/** Which of a batch's people are worth trying again, and why: every one of them, or those named. */
export interface NotApplied {
  why: string;
  keys: 'all' | ReadonlySet<string>;
}

/**
 * What of a batch did not reach every target and is worth trying again; undefined when everything
 * did, when the safety check stopped it (staged: someone decides, and tried again it would be staged
 * again), or when what failed would fail again. The source unreadable, a target left out in
 * quarantine, or one that could not be read or was stopped, leaves everyone (`why` names each such
 * target); an operation that failed for a passing reason leaves its person (a full cycle's: only
 * the request's own people; the rest are the next cycle's).
 */
export function notApplied(outcome: BatchOutcome): NotApplied | undefined {
  if (outcome.stopped) return undefined;
  const unreachedTargets = [
    ...(outcome.leftOut ?? []).map((l) => `target ${l.target} ${l.why}`),
    ...(outcome.report?.targets ?? []).map(unreached).filter((w) => w !== undefined),
  ];
  if (outcome.error !== undefined) return { why: [describeError(outcome.error), ...unreachedTargets].join('; '), keys: 'all' };
  if (unreachedTargets.length > 0) return { why: unreachedTargets.join('; '), keys: 'all' };
  const keys = new Set<string>();
  let why: string | undefined;
  // A full cycle's failures of other people and of groups are its successor's (trying the whole
  // request again for them would be another full cycle); its own people's are tried again, as a
  // batch's: a leaver whose deactivation met a 503 waits a retry, not the next scheduled cycle.
  const own = outcome.fullCycle ? new Set(outcome.keys) : undefined;
  for (const t of outcome.report?.targets ?? []) {
    for (const f of t.failures) {
      if (!TRANSIENT_FAILURES.has(f.code)) continue;
      if (own && !own.has(f.externalId)) continue;
      why ??= `target ${t.target}: ${f.message}`;
      // A group's operation (a membership change) carries the group's key: whose change it was is not
      // told, so everyone is tried again.
      if (!outcome.keys.includes(f.externalId)) return { why, keys: 'all' };
      keys.add(f.externalId);
    }
  }
  return why === undefined ? undefined : { why, keys };
}

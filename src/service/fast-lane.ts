/**
 * The change-driven path: people named by a change feed, an inbound event or a due change are
 * read afresh from the source and planned, checked and applied exactly as a cycle would (planPeople,
 * applyPlan), one batch at a time. Requests that arrive while a batch runs are coalesced into the
 * next one; each caller learns when the batch holding its people has been applied (a feed commits
 * its position only then).
 *
 * No batch holds more than serve.maxBatch people: each costs a look-up on every target, and every
 * other request waits behind the batch (a leaver's event behind a delivery naming the whole company).
 * A request naming more is taken in parts of maxBatch, each alone in its batch, and goes behind the
 * requests that arrived meanwhile after each part, so they wait for one part, not for all of them;
 * its caller learns when the last part is done, with every part's outcome (`parts`).
 *
 * Safety: the batch is judged against the target's whole managed population (the last full
 * cycle's count, or the link store's before one), with the deprovisions of the sliding window
 * added, and the outage rule left to full reads (a batch reads a handful of people by design). A
 * stop stages the batch's held operations and notifies, as a cycle's stop does. The parts of one
 * request are judged as one: each part's check counts what the earlier parts planned and applied
 * (see Earlier), and a part stopped ends the request (see partDone).
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
import { mergeReports, unreached, type RunReport } from '../execution/run-report.js';
import { operationsOf, type Operation, type Plan, type TargetPlan } from '../model/plan.js';
import type { Notifier } from '../notify/notifier.js';
import { safetyViolations } from '../planning/safety.js';
import type { DeprovisionWindow, WindowEntry } from './deprovision-window.js';
import type { LeftOut } from './reconcile-lane.js';
import type { SyncObserver } from '../telemetry/sync-events.js';
import type { Log } from '../telemetry/logger.js';

export interface FastLaneDeps {
  loaded: LoadedConfig;
  state: RunState;
  window: DeprovisionWindow;
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

/**
 * What became of a batch; for a request taken in parts (more people than serve.maxBatch), of all its
 * parts: `keys` are then the request's people, `parts` each part's outcome in order, `report` their
 * reports merged, `stopped` and `error` the first part's that had one, `leftOut` every part's, and no `plan` (each part has
 * its own). After a part the safety check stopped, the rest of the request is one more part, not
 * planned, with that same `stopped`.
 */
export interface BatchOutcome {
  keys: readonly string[];
  plan?: Plan;
  report?: RunReport;
  stopped?: SafetyError;
  error?: unknown;
  parts?: readonly BatchOutcome[];
  /**
   * Targets left out before the source was read (in quarantine, each with its status and next try):
   * nothing of this batch reached them. Absent when none was.
   */
  leftOut?: readonly LeftOut[];
}

/**
 * What the earlier parts of a request did that the safety check of its next part counts, so that the
 * request is judged as one: judged alone, 95,000 titles changed in parts of 500 would each be a small
 * share of the target and all pass, where the request as one batch is stopped.
 */
interface Earlier {
  /** Per target, the planned operations that the shares count: attribute changes, membership removals, group deletions. */
  operations: Map<string, Operation[]>;
  /**
   * Deprovisions applied, as the window was told them: counted by the window while within it, and
   * after that still counted for this request (a request of many parts can outlast the window).
   */
  deprovisions: WindowEntry[];
}

interface Waiting {
  request: SyncRequest;
  /** The request's people, each once. */
  keys: readonly string[];
  /** How many of `keys` earlier parts took; a request of at most maxBatch people is taken whole. */
  taken: number;
  /** Outcomes of its parts so far (a request taken in parts). */
  parts: BatchOutcome[];
  earlier: Earlier;
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
    if (request.keys.length === 0) return Promise.resolve({ keys: [] });
    return new Promise((resolve) => {
      this.queue.push({ request, keys: [...new Set(request.keys)], taken: 0, parts: [], earlier: { operations: new Map(), deprovisions: [] }, resolve });
      this.running ??= this.drain();
    });
  }

  /** Resolves when no batch runs and none waits. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const max = this.deps.loaded.config.serve.maxBatch;
        const head = this.queue[0]!;
        if (head.keys.length > max) {
          // Alone in its batch: a stop of a part stages and ends that request only, and a small
          // request's leaver is not judged with, or stopped for, a bulk part's deprovisions.
          this.queue.shift();
          const part = head.keys.slice(head.taken, head.taken + max);
          head.taken += part.length;
          this.partDone(head, await this.batch(part, [head.request], { number: head.parts.length + 1, of: Math.ceil(head.keys.length / max), earlier: head.earlier }));
          continue;
        }
        const taken: Waiting[] = [];
        const keys = new Set<string>();
        // In order, as many as fit; a request larger than maxBatch waits for a batch of its own.
        while (this.queue.length > 0 && this.queue[0]!.keys.length <= max && keys.size + this.queue[0]!.keys.length <= max) {
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

  /**
   * After a part of a request: the request is answered once its last part is done, or goes behind the
   * requests that arrived while the part ran (they wait for one part, not for the whole request).
   *
   * A part stopped by the safety check ends the request: its other people are not planned, and are
   * reported with that stop (not worth trying again, as for the stopped part: someone decides). Going
   * on would let the rest of a request the check refused through in pieces: the stop judged the
   * request so far, and a later part with fewer changes of its own would pass a check the request as
   * a whole fails (the same export that named 95,000 leavers, or a mapping clearing everyone's title).
   * Those people are the next full cycle's, which judges the whole source at once and stops again if
   * the change is still there. A part that failed (the source unreadable for a moment) does not end
   * the request: the next part reads afresh, and the failed part's people are worth trying again.
   * The service stopping ends it too, its other people not applied (tried again: a feed hands them
   * out again, an event keeps them as due).
   */
  private partDone(w: Waiting, outcome: BatchOutcome): void {
    w.parts.push(outcome);
    const left = w.keys.length - w.taken;
    if (left > 0 && outcome.stopped) {
      this.deps.log(`change-driven sync from ${w.request.by}: part ${w.parts.length} was stopped by the safety check, so its other ${left} ${left === 1 ? 'person is' : 'people are'} not planned: the next full cycle judges them with the whole source`, { level: 'warn' });
      w.parts.push({ keys: w.keys.slice(w.taken), stopped: outcome.stopped });
    } else if (left > 0 && this.deps.signal.aborted) {
      w.parts.push({ keys: w.keys.slice(w.taken), error: new Error('the service is stopping: not planned') });
    } else if (left > 0) {
      this.queue.push(w);
      return;
    }
    w.resolve(combined(w.keys, w.parts));
  }

  /** `part`: this batch is a part of one request larger than maxBatch, judged with its earlier parts. */
  private async batch(keys: string[], requests: SyncRequest[], part?: { number: number; of: number; earlier: Earlier }): Promise<BatchOutcome> {
    const { loaded, state, window, notifier, log } = this.deps;
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
      const { plan, runtimes, population } = await planPeople(loaded, state, keys, {
        only,
        runtimes: this.runtimes,
        discovery: this.discovery,
        parked: state.memory,
        // Nothing to judge a whole read's size by (no full cycle applied with this provisioning log):
        // someone missing from it may be a row an export still being written has not reached.
        ...(previous === undefined ? { holdMissingFromWholeRead: NO_FULL_READ } : {}),
      });
      const readAt = new Date(plan.binding.source.readAt);
      // Marked as soon as the read is taken, not once applied: a cycle planned on an older read and
      // applying meanwhile must already skip these people (superseded), or it writes its older
      // decision (a withdrawn hire created active) while this batch is still on its way. Should the
      // batch fail, the next cycle plans them afresh.
      await state.personClock.mark(keys, readAt);
      const base = await this.deps.managed();
      const recent = window.recent(new Date(), part?.earlier.deprovisions);
      const safety = { ...loaded.config.safety, minSourceUsers: 0 };
      const checkSafety = (p: Plan) => [
        ...incompleteRead(population, previous, loaded.config.safety),
        ...safetyViolations(
          { ...p, targets: p.targets.map((t) => ({ ...t, managedUsers: Math.max(base.get(t.target) ?? 0, t.managedUsers), ...(part ? { phases: withEarlier(t, part.earlier) } : {}) })) },
          safety,
          recent,
        ),
      ];
      const result = await applyOrStage(loaded, plan, runtimes, state, { overrideSafety: false, executor: { wait: true, inline: true, initiator: who, signal: this.deps.signal, ...(this.deps.observer ? { observer: this.deps.observer } : {}) }, notifier, checkSafety });
      if (result instanceof SafetyError) {
        const of = part ? ` (part ${part.number} of ${part.of} from ${who.by})` : '';
        log(`change-driven sync of ${keys.length} ${keys.length === 1 ? 'person' : 'people'}${of} stopped by the safety check: ${result.reasons.join('; ')}`, { cycle: plan.id, level: 'warn' });
        outcome = { keys, plan, stopped: result };
      } else {
        const now = new Date();
        // What took effect, as the window rebuilt from the log counts it: a deprovision that failed
        // (and is tried again) must not fill the window and stop real leavers.
        for (const t of result.targets) {
          const done = t.counts.deprovisionUser;
          if (!done) continue;
          window.add(t.target, done.ok + done.partial, now);
          part?.earlier.deprovisions.push({ target: t.target, count: done.ok + done.partial, at: now });
        }
        if (part) remember(part.earlier, plan);
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

/** People a log line names: a batch may hold maxBatch of them (500 ids in one line helps nobody). */
const NAMED_IN_LOG = 10;

function peopleNamed(keys: readonly string[]): string {
  const more = keys.length > NAMED_IN_LOG ? ` and ${keys.length - NAMED_IN_LOG} more` : '';
  return `${keys.slice(0, NAMED_IN_LOG).join(', ')}${more}`;
}

/** The target's phases with the request's earlier operations added, for the safety check alone. */
function withEarlier(t: TargetPlan, earlier: Earlier): TargetPlan['phases'] {
  const operations = earlier.operations.get(t.target);
  // The phase's name is not read by the check; the operations were applied in their own phases.
  return operations ? [...t.phases, { name: 'users', operations }] : t.phases;
}

/**
 * Keeps what an applied part planned that the shares of the safety check count (attribute changes,
 * membership removals, group deletions); deprovisions are counted as applied, by the window.
 */
function remember(earlier: Earlier, plan: Plan): void {
  for (const t of plan.targets) {
    let kept = earlier.operations.get(t.target);
    for (const op of operationsOf(t)) {
      const counted =
        (op.kind === 'updateUser' && !op.adopt && op.changes.length > 0) ||
        (op.kind === 'patchGroupMembers' && op.remove.length > 0) ||
        (op.kind === 'replaceGroup' && (op.remove?.length ?? 0) > 0) ||
        op.kind === 'deleteGroup';
      if (!counted) continue;
      if (!kept) earlier.operations.set(t.target, (kept = []));
      kept.push(op);
    }
  }
}

/** The outcome of a request taken in parts, as BatchOutcome describes it. */
function combined(keys: readonly string[], parts: readonly BatchOutcome[]): BatchOutcome {
  const reports = parts.flatMap((p) => (p.report ? [p.report] : []));
  const stopped = parts.find((p) => p.stopped)?.stopped;
  const failed = parts.find((p) => p.error !== undefined);
  // Each target once, as the last part that left it out said.
  const leftOut = [...new Map(parts.flatMap((p) => p.leftOut ?? []).map((l) => [l.target, l])).values()];
  return {
    keys,
    parts,
    ...(leftOut.length > 0 ? { leftOut } : {}),
    ...(reports.length > 0 ? { report: mergeReports(reports) } : {}),
    ...(stopped ? { stopped } : {}),
    ...(failed ? { error: failed.error } : {}),
  };
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
 * target); an operation that failed for a passing reason leaves its person.
 */
export function notApplied(outcome: BatchOutcome): NotApplied | undefined {
  // Part by part: one part not applied leaves its people (all of them, or those named), not the request's.
  if (outcome.parts) {
    let why: string | undefined;
    const keys = new Set<string>();
    for (const part of outcome.parts) {
      const left = notApplied(part);
      if (!left) continue;
      why ??= left.why;
      for (const k of left.keys === 'all' ? part.keys : left.keys) keys.add(k);
    }
    return why === undefined ? undefined : { why, keys };
  }
  if (outcome.stopped) return undefined;
  const unreachedTargets = [
    ...(outcome.leftOut ?? []).map((l) => `target ${l.target} ${l.why}`),
    ...(outcome.report?.targets ?? []).map(unreached).filter((w) => w !== undefined),
  ];
  if (outcome.error !== undefined) return { why: [describeError(outcome.error), ...unreachedTargets].join('; '), keys: 'all' };
  if (unreachedTargets.length > 0) return { why: unreachedTargets.join('; '), keys: 'all' };
  const keys = new Set<string>();
  let why: string | undefined;
  for (const t of outcome.report?.targets ?? []) {
    for (const f of t.failures) {
      if (!TRANSIENT_FAILURES.has(f.code)) continue;
      why ??= `target ${t.target}: ${f.message}`;
      // A group's operation (a membership change) carries the group's key: whose change it was is not
      // told, so everyone is tried again.
      if (!outcome.keys.includes(f.externalId)) return { why, keys: 'all' };
      keys.add(f.externalId);
    }
  }
  return why === undefined ? undefined : { why, keys };
}

/** What an apply did, per target: counts per operation kind and outcome, and every failure. */
import type { OperationKind, ParkedChange } from '../model/plan.js';

/** `partial`: done, but without some of what it planned (members whose account does not exist). */
/** `unchanged`: nothing was left to do (the target already showed it: already gone, already in place). */
export type Outcome = 'ok' | 'partial' | 'failed' | 'skipped' | 'unchanged';

export interface OperationFailure {
  opId: string;
  kind: OperationKind;
  externalId: string;
  label: string;
  code: string;
  message: string;
  status?: number;
  detail?: string;
}

/** An operation skipped, or done in part, because something it needs does not exist. */
export interface OperationSkip {
  opId: string;
  kind: OperationKind;
  externalId: string;
  label: string;
  outcome: 'skipped' | 'partial' | 'unchanged';
  /** e.g. "depends on failed createUser for jdoe@example.com". */
  reason: string;
}

export interface TargetReport {
  target: string;
  counts: Partial<Record<OperationKind, Record<Outcome, number>>>;
  failures: OperationFailure[];
  /**
   * Operations skipped or done in part because something they need does not exist (its creation
   * failed in this apply), each with why. Those skipped because the target stopped are not listed
   * one by one: `stopped` says why.
   */
  skips: OperationSkip[];
  /** The target could not be read when planning (why): nothing was sent to it. */
  unreadable?: string;
  /** Of the successful creates, how many found their account already there and took it over. */
  adopted?: Partial<Record<OperationKind, number>>;
  /** Of the successful updates, how many found their account gone and made it again (within the safety limits on re-creates). */
  recreated?: Partial<Record<OperationKind, number>>;
  /** Why the target stopped early (bad credential, a wait that ended, ...), when it did; `stopKind` says which. */
  stopped?: string;
  /** What stopped it: only `auth` and `unavailable` say anything about the target itself (quarantine). Absent in reports of earlier versions. */
  stopKind?: StopKind;
  /** Operations the plan held back (a dirty source read): how many, and why. Not done, so not a clean run. */
  held?: string;
  /** Quarantined, its backoff not yet over: left out of this cycle, nothing was sent to it (why, and the next try). */
  quarantined?: string;
  /** What this cycle did to the target's quarantine: put it in, kept it, or lifted it (why). */
  quarantine?: string;
  /** For the admin: PATCH shapes learned by reading writes back, changes parked in this run. Not failures. */
  notices?: string[];
  /** Changes parked by earlier runs and left out of this plan (not sent, not a failure). */
  parked?: ParkedChange[];
}

/**
 * Why a target stopped: `auth` the target refused the credential; `unavailable` it answered too
 * many requests in a row with 429, a 5xx or nothing (targets.<name>.stopAfterFailures); `interrupted` the operator stopped
 * the run or the wait; `wait-timeout` a waiting `run` gave up while the workers go on; `data-lost`
 * the cycle's data is gone from Redis; `config-differs` a worker's config points the target
 * elsewhere than the planner's; `lock-lost` the cycle's lock expired or another cycle holds it;
 * `not-configured` the target is not in the executing config; `not-planned` the cycle never started
 * (source unreadable, safety stop).
 */
export type StopKind = 'auth' | 'unavailable' | 'interrupted' | 'wait-timeout' | 'data-lost' | 'config-differs' | 'lock-lost' | 'not-configured' | 'not-planned';

/** A kind of stop and its reason, as the report and the distributed cycle's stop record hold them. */
export interface TargetStop {
  kind: StopKind;
  reason: string;
}

export interface RunReport {
  planId: string;
  startedAt: string;
  finishedAt: string;
  targets: TargetReport[];
}

export function emptyTargetReport(target: string, unreadable?: string): TargetReport {
  return { target, counts: {}, failures: [], skips: [], ...(unreadable ? { unreadable } : {}) };
}

/** A report of a target that stopped before anything was sent (or whose outcome is not known here). */
export function stoppedTargetReport(target: string, stop: TargetStop): TargetReport {
  return { ...emptyTargetReport(target), stopped: stop.reason, stopKind: stop.kind };
}

/** The target not being in the executing config (or disabled). */
export const NOT_CONFIGURED: TargetStop = { kind: 'not-configured', reason: 'target is not in the config (or disabled)' };

/** The notices of each report as a set, beside its list: notices name people, so a run can have many. */
const noticeSets = new WeakMap<TargetReport, Set<string>>();

/** A notice for the admin, once per report (in constant time: a search of the list was quadratic in a run's notices). */
export function addNotice(report: TargetReport, notice: string | undefined): void {
  if (!notice) return;
  const notices = (report.notices ??= []);
  let seen = noticeSets.get(report);
  // Rebuilt when the list was filled another way (a report read back from storage).
  if (!seen || seen.size !== notices.length) {
    seen = new Set(notices);
    noticeSets.set(report, seen);
  }
  if (seen.has(notice)) return;
  seen.add(notice);
  notices.push(notice);
}

export function count(report: TargetReport, kind: OperationKind, outcome: Outcome): void {
  const c = (report.counts[kind] ??= { ok: 0, partial: 0, failed: 0, skipped: 0, unchanged: 0 });
  // Counts stored by an earlier version lack the newer outcomes.
  c[outcome] = (c[outcome] ?? 0) + 1;
}

/** A successful operation that found its account already there and took it over (its own lost create, or adoption). */
export function countAdopted(report: TargetReport, kind: OperationKind): void {
  (report.adopted ??= {})[kind] = (report.adopted[kind] ?? 0) + 1;
}

/** A successful update that found its account gone and made it again. */
export function countRecreated(report: TargetReport, kind: OperationKind): void {
  (report.recreated ??= {})[kind] = (report.recreated[kind] ?? 0) + 1;
}

export function totals(report: RunReport): Record<Outcome, number> {
  const t = { ok: 0, partial: 0, failed: 0, skipped: 0, unchanged: 0 };
  for (const target of report.targets) {
    for (const c of Object.values(target.counts)) {
      t.ok += c.ok;
      // Counts stored by an earlier version have no `partial`.
      t.partial += c.partial ?? 0;
      t.failed += c.failed;
      t.skipped += c.skipped;
      t.unchanged += c.unchanged ?? 0;
    }
  }
  return t;
}

/** "9 ok, 1 failed, 4 skipped" (", 2 partial", ", 3 unchanged" when some were). */
export function describeTotals(t: Record<Outcome, number>): string {
  return `${t.ok} ok, ${t.failed} failed, ${t.skipped} skipped${t.partial ? `, ${t.partial} partial` : ''}${t.unchanged ? `, ${t.unchanged} unchanged` : ''}`;
}

/**
 * Why a target's plan did not (entirely) reach it, in one line naming the target: it could not be
 * read, or it stopped early; undefined when it was reached. A target left out in quarantine is not
 * judged here: a cycle's and a change-driven batch's caller are told it (their outcome's `leftOut`)
 * before the source is read, and a batch has no report of it.
 */
export function unreached(t: TargetReport): string | undefined {
  if (t.unreadable) return `target ${t.target} could not be read: ${t.unreadable}`;
  // The executors' reasons say "stopped: ..." themselves; reports of earlier versions may not.
  if (t.stopped) return `target ${t.target} ${t.stopped.startsWith('stopped') ? t.stopped : `stopped: ${t.stopped}`}`;
  return undefined;
}

/** Targets whose plan was not (entirely) applied: could not be read, stopped, or left out in quarantine. */
export function failedTargets(report: RunReport): { unreadable: string[]; stopped: string[]; quarantined: string[] } {
  return {
    unreadable: report.targets.filter((t) => t.unreadable).map((t) => t.target),
    stopped: report.targets.filter((t) => t.stopped).map((t) => t.target),
    quarantined: report.targets.filter((t) => t.quarantined).map((t) => t.target),
  };
}

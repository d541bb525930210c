/**
 * Quarantine: a target whose cycle fails badly (its credential refused, too many failed answers in a
 * row, or too many of its operations failing) is left out of later cycles until its backoff time, then tried again; a cycle
 * that goes well lifts it. The decisions are pure functions of a target's report, its entry and the
 * time; `settleQuarantine` is the I/O around them (store, audit, notifications).
 */
import type { AuditSink, Initiator } from '../audit/audit-sink.js';
import type { QuarantineConfig } from '../config/schema/index.js';
import { emptyTargetReport, type TargetReport } from '../execution/run-report.js';
import type { Plan } from '../model/plan.js';
import type { NotificationEvent, Notifier } from '../notify/notifier.js';
import type { QuarantineEntry, QuarantineStore } from '../state/quarantine-store.js';

export type QuarantineVerdict =
  /** Nothing to keep or change: healthy and not quarantined, or a cycle whose end says nothing about the target (a wait that timed out). */
  | { kind: 'none' }
  /** Quarantined by this cycle. */
  | { kind: 'enter'; entry: QuarantineEntry }
  /** Tried again after its backoff and failed again: the next wait is longer. */
  | { kind: 'stay'; entry: QuarantineEntry }
  /** Tried again and this cycle went well. */
  | { kind: 'lift'; previous: QuarantineEntry };

/**
 * Operations that reached the target (skipped ones did not), and those that failed. A change the
 * target accepted but does not keep (NOT_STORED, now parked) is no sign of a broken target: a
 * server that drops one attribute for everyone would otherwise be left out of cycles for hours.
 */
function ran(report: TargetReport): { ran: number; failed: number } {
  let total = 0;
  let failed = 0;
  for (const c of Object.values(report.counts)) {
    total += c.ok + (c.partial ?? 0) + c.failed + (c.unchanged ?? 0);
    failed += c.failed;
  }
  // Reports stored by an earlier version (distributed `status`) may lack failures.
  for (const f of report.failures ?? []) if (f.code === 'NOT_STORED') failed--;
  return { ran: total, failed };
}

/**
 * Whether the report says anything about the target's health. A stop of another kind than a refused
 * credential or a target that kept failing (a waiting `run` that timed out or was interrupted, a cycle whose data Redis lost or
 * whose lock expired, a worker's config differing from the planner's) leaves the cycle's outcome
 * unknown, or says something about us rather than the target: it neither quarantines nor lifts.
 * A stop without a kind is a report of an earlier version, which cannot say which it was.
 */
function judged(report: TargetReport): boolean {
  return !report.stopped || report.stopKind === 'auth' || report.stopKind === 'unavailable';
}

/** Why this report quarantines its target, or undefined when it does not. */
export function quarantineReason(report: TargetReport, settings: Pick<QuarantineConfig, 'failurePercent' | 'minOperations'>): string | undefined {
  if (!judged(report)) return undefined;
  // The executor stops a target whose credential is refused, or that kept failing; the caller
  // leaves out reports of a run the operator interrupted, whose stop is theirs.
  if (report.stopped) {
    const why = report.stopped.replace(/^stopped: /, '');
    return report.stopKind === 'unavailable' ? why : `credential refused: ${why}`;
  }
  if (report.unreadable?.startsWith('[AUTH]')) return `credential refused: ${report.unreadable}`;
  const { ran: total, failed } = ran(report);
  if (total >= settings.minOperations && failed * 100 > settings.failurePercent * total) {
    return `${failed} of ${total} operations failed (more than ${settings.failurePercent}%)`;
  }
  return undefined;
}

/** The wait after the `attempts`-th failed cycle: the backoff list, its last entry repeating. */
export function backoffMs(attempts: number, backoff: readonly number[]): number {
  return backoff[Math.min(Math.max(attempts, 1), backoff.length) - 1]!;
}

export function decideQuarantine(report: TargetReport, current: QuarantineEntry | undefined, settings: QuarantineConfig, now: Date): QuarantineVerdict {
  if (!judged(report)) return { kind: 'none' };
  const reason = quarantineReason(report, settings);
  // A quarantined target that cannot even be read (a network outage) has not come back either.
  const failedAgain = reason ?? (current && report.unreadable ? report.unreadable : undefined);
  if (failedAgain === undefined) return current ? { kind: 'lift', previous: current } : { kind: 'none' };
  const attempts = (current?.attempts ?? 0) + 1;
  const entry: QuarantineEntry = {
    target: report.target,
    since: current?.since ?? now.toISOString(),
    reason: failedAgain,
    attempts,
    nextTry: new Date(now.getTime() + backoffMs(attempts, settings.backoff)).toISOString(),
  };
  return current ? { kind: 'stay', entry } : { kind: 'enter', entry };
}

/** Whether a cycle at `now` leaves the target out. */
export function isSkipped(entry: QuarantineEntry, now: Date): boolean {
  return now.getTime() < Date.parse(entry.nextTry);
}

/** How a skipped target shows in the report and the plan. */
export function skipStatus(entry: QuarantineEntry): string {
  return `quarantined since ${entry.since}: ${entry.reason}; next try at ${entry.nextTry} (lift it now with scim-sync unquarantine --target ${entry.target})`;
}

/** The quarantined targets a cycle heeds: none when quarantine is off (`quarantine.enabled: false`). */
export async function quarantinedTargets(store: QuarantineStore, settings: Pick<QuarantineConfig, 'enabled'>): Promise<Map<string, QuarantineEntry>> {
  return settings.enabled ? store.all() : new Map();
}

/** The targets of this cycle: those to plan, and those quarantined and left out, with their status. */
export function partitionTargets(targets: readonly string[], entries: ReadonlyMap<string, QuarantineEntry>, now: Date): { run: string[]; skipped: Map<string, string> } {
  const skipped = new Map<string, string>();
  const run: string[] = [];
  for (const t of targets) {
    const entry = entries.get(t);
    if (entry && isSkipped(entry, now)) skipped.set(t, skipStatus(entry));
    else run.push(t);
  }
  return { run, skipped };
}

export function quarantineEvent(verdict: QuarantineVerdict, time: string, why?: string): NotificationEvent | undefined {
  if (verdict.kind === 'enter') {
    const e = verdict.entry;
    return { event: 'quarantine.enter', time, target: e.target, summary: `scim-sync: target ${e.target} quarantined: ${e.reason}; next try at ${e.nextTry}`, details: { ...e } };
  }
  if (verdict.kind === 'lift') {
    const p = verdict.previous;
    return {
      event: 'quarantine.exit',
      time,
      target: p.target,
      summary: `scim-sync: target ${p.target} out of quarantine (${why ?? 'a cycle succeeded'}); it was quarantined since ${p.since}: ${p.reason}`,
      details: { ...p, why: why ?? 'a cycle succeeded' },
    };
  }
  return undefined;
}

export interface QuarantineEdges {
  store: QuarantineStore;
  audit: AuditSink;
  notifier: Notifier;
  settings: QuarantineConfig;
  planId: string;
  now: Date;
}

/**
 * Decides each report's target and keeps the outcome: store, audit record, notification. Returns
 * the verdicts, for the run report.
 */
export async function settleQuarantine(reports: readonly TargetReport[], edges: QuarantineEdges): Promise<Map<string, QuarantineVerdict>> {
  const verdicts = new Map<string, QuarantineVerdict>();
  // Nothing to judge (waiting timed out, Redis lost the cycle...): the store is not even read, so a
  // Redis that went away under a waiting `run` does not turn its timeout into an error.
  if (!edges.settings.enabled || !reports.some(judged)) return verdicts;
  const current = await edges.store.all();
  const time = edges.now.toISOString();
  for (const report of reports) {
    const verdict = decideQuarantine(report, current.get(report.target), edges.settings, edges.now);
    verdicts.set(report.target, verdict);
    if (verdict.kind === 'none') continue;
    if (verdict.kind === 'lift') await edges.store.lift(report.target);
    else await edges.store.set(verdict.entry);
    const note =
      verdict.kind === 'lift'
        ? `quarantine lifted: a cycle succeeded (quarantined since ${verdict.previous.since}: ${verdict.previous.reason})`
        : `${verdict.kind === 'enter' ? 'quarantined' : `still quarantined (try ${verdict.entry.attempts})`}: ${verdict.entry.reason}; next try at ${verdict.entry.nextTry}`;
    edges.audit.record({ time, planId: edges.planId, target: report.target, action: verdict.kind === 'lift' ? 'quarantine.exit' : 'quarantine.enter', outcome: 'info', note });
    const event = quarantineEvent(verdict, time);
    if (event) await edges.notifier.notify({ ...event, planId: edges.planId });
  }
  return verdicts;
}

/**
 * For a distributed cycle whose report comes later (the scheduler, `run` without --wait): what its
 * planning can judge. A refused credential quarantines; a target read again is lifted. The share of
 * failed operations is judged where a report is read (`run`, `run --wait`).
 */
export function settlePlanRead(plan: Plan, edges: QuarantineEdges): Promise<Map<string, QuarantineVerdict>> {
  return settleQuarantine(
    plan.targets.map((t) => emptyTargetReport(t.target, t.error)),
    edges,
  );
}

/**
 * Lifts a target's quarantine by hand (`scim-sync unquarantine`, the console), recorded with who and
 * notified; the next cycle includes the target. Returns the entry lifted, or undefined when the
 * target was not quarantined.
 */
export async function liftQuarantine(
  edges: Pick<QuarantineEdges, 'store' | 'audit' | 'notifier'>,
  target: string,
  why: string,
  who?: { initiator: Initiator; by: string },
): Promise<QuarantineEntry | undefined> {
  const previous = (await edges.store.all()).get(target);
  if (!previous || !(await edges.store.lift(target))) return undefined;
  const time = new Date().toISOString();
  edges.audit.record({ time, planId: '-', target, action: 'quarantine.exit', outcome: 'info', ...who, note: `quarantine ${why} (quarantined since ${previous.since}: ${previous.reason})` });
  await edges.notifier.notify(quarantineEvent({ kind: 'lift', previous }, time, why)!);
  return previous;
}

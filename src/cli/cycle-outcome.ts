/** What `run` adds to its report around quarantine, and why a cycle failed, in short, for its notification. */
import type { QuarantineVerdict } from '../engine/quarantine.js';
import { emptyTargetReport, failedTargets, totals, type RunReport, type TargetReport } from '../execution/run-report.js';
import { exitForReport } from './exit-codes.js';
import { formatReport } from './format-report.js';
import type { Io } from './io.js';

/** The reports of the targets left out in quarantine: nothing sent, and why. */
export function quarantinedReports(skipped: ReadonlyMap<string, string>): TargetReport[] {
  return [...skipped].map(([target, status]) => ({ ...emptyTargetReport(target), quarantined: status }));
}

/** Every target quarantined: nothing is read or sent; the report says why and when each is tried again. */
export function quarantinedOnly(skipped: ReadonlyMap<string, string>, at: Date, opts: { json?: boolean }, io: Io): number {
  const time = at.toISOString();
  const report: RunReport = { planId: '-', startedAt: time, finishedAt: time, targets: quarantinedReports(skipped) };
  io.out(opts.json ? JSON.stringify({ report }, null, 2) : formatReport(report));
  return exitForReport(report);
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

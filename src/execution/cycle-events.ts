/** How a cycle ended per target, as the SyncEvents metrics keep ("last successful cycle"). */
import type { SyncEvent } from '../telemetry/sync-events.js';
import type { RunReport, TargetReport } from './run-report.js';

/** Read, applied, and nothing failed or stopped: a successful cycle of the target. */
export function cleanTarget(t: TargetReport): boolean {
  if (t.unreadable || t.stopped) return false;
  return Object.values(t.counts).every((byOutcome) => !byOutcome?.failed);
}

/** One `cycle` event per target the report covers (targets left out in quarantine are not in it yet). */
export function cycleEvents(report: RunReport, startedAt: Date, endedAt: Date): SyncEvent[] {
  const seconds = (endedAt.getTime() - startedAt.getTime()) / 1000;
  return report.targets.filter((t) => !t.quarantined).map((t) => ({ type: 'cycle', target: t.target, ok: cleanTarget(t), seconds, endedAt }));
}

/** What `run` prints when every target is left out in quarantine. */
import { quarantinedReports } from '../engine/cycle.js';
import type { RunReport } from '../execution/run-report.js';
import { exitForReport } from './exit-codes.js';
import { formatReport } from './format-report.js';
import type { Io } from './io.js';

/** Every target quarantined: nothing is read or sent; the report says why and when each is tried again. */
export function quarantinedOnly(skipped: ReadonlyMap<string, string>, at: Date, opts: { json?: boolean }, io: Io): number {
  const time = at.toISOString();
  const report: RunReport = { planId: '-', startedAt: time, finishedAt: time, targets: quarantinedReports(skipped) };
  io.out(opts.json ? JSON.stringify({ report }, null, 2) : formatReport(report));
  return exitForReport(report);
}

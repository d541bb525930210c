/** Process exit codes: the contract with cron and scripts. Only cli/ turns outcomes into these. */
import type { Plan } from '../model/plan.js';
import { failedTargets, totals, type RunReport } from '../execution/run-report.js';

export const EXIT = {
  /** Everything planned was applied (or nothing needed doing). */
  OK: 0,
  /**
   * The run finished, but not everything planned was done (failed, skipped, partial; a target
   * unread or stopped; deprovisioning held), or it stopped part-way because the audit log or the
   * link journal could not be written (after the report).
   */
  FAILED_OPERATIONS: 1,
  /** The config or the command line is wrong. */
  CONFIG: 2,
  /** The safety check stopped the run before any write. */
  SAFETY: 3,
  /** Nothing ran: the source or our state could not be read or written, or another run holds the lock. */
  NOT_RUN: 4,
  /** Stopped by SIGINT (Ctrl-C) after finishing the operations in flight: 128 + 2, as shells say. */
  INTERRUPTED: 130,
  /** Stopped by SIGTERM after finishing the operations in flight: 128 + 15. */
  TERMINATED: 143,
} as const;

/**
 * A finished apply: 0 only when everything planned was done (or found already done). An operation
 * that failed, was skipped or done in part, a target that could not be read, stopped or quarantined, and work
 * held back by a dirty source read, make it 1.
 */
export function exitForReport(report: RunReport): number {
  const t = totals(report);
  const targets = failedTargets(report);
  const held = report.targets.some((target) => target.held);
  const clean = t.failed + t.partial + t.skipped === 0 && targets.unreadable.length + targets.stopped.length + targets.quarantined.length === 0 && !held;
  return clean ? EXIT.OK : EXIT.FAILED_OPERATIONS;
}

/** A plan made (printed, or handed to the workers): 1 when a target could not be read or work is held. */
export function exitForPlan(plan: Plan): number {
  return plan.targets.some((t) => t.error || t.held) ? EXIT.FAILED_OPERATIONS : EXIT.OK;
}

import type { Operation, Plan } from '../model/plan.js';
import type { RateLimit } from '../config/profiles.js';
import type { ScimTarget } from '../targets/scim-target.js';
import type { RetryPolicy } from '../targets/http/retry-policy.js';
import type { RunReport } from './run-report.js';
import type { WriteCheckSettings } from './write-checks.js';

/** A target ready to receive writes. */
export interface TargetRuntime {
  name: string;
  client: ScimTarget;
  /** Operations in flight at once. */
  concurrency: number;
  /** Requests the target allows per window (its config or profile), null when unlimited. */
  rateLimit: RateLimit | null;
  retry: RetryPolicy;
  /** Failed answers in a row (429, 5xx, none) after which the apply stops sending to the target (failure-breaker.ts). */
  stopAfterFailures: number;
  /** How updates are read back and parked (targets.<name>.writeChecks, and the quirk patchShape). */
  writeChecks?: WriteCheckSettings;
  /**
   * The server returns group members nowhere (quirk groupMembersInList: false, AWS): memberships
   * are kept in the member memory, which planning reads and the executor's writes update.
   */
  membersNowhere?: boolean;
}

/** Runs a plan: every target's phases in order, a phase complete before the next starts. */
export interface Executor {
  execute(plan: Plan, targets: ReadonlyMap<string, TargetRuntime>): Promise<RunReport>;
}

/**
 * The service's per-person order (service/person-clock.ts): given an operation about to start,
 * the reason it must not (its person changed again, and a newer decision was applied, after this
 * plan read the source), or undefined. The operation is reported skipped; the next cycle plans it
 * afresh.
 */
export type Superseded = (target: string, op: Operation) => string | undefined;

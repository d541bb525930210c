/** What an operation runs with: its target's client, the link store, and what failed before it in this apply. */
import type { LinkStore } from '../state/link-store.js';
import type { ScimTarget } from '../targets/scim-target.js';
import type { OperationKind } from '../model/plan.js';
import type { ResourceKind } from '../state/link-store.js';
import type { WriteChecks } from './write-checks.js';

export interface OperationContext {
  target: string;
  client: ScimTarget;
  links: LinkStore;
  /** The creates that failed earlier in this apply: what needs them is skipped because of it. */
  failed: FailedIdentities;
  /** Reading back updates, learned PATCH shapes and parking (absent: writes are sent as planned, unchecked). */
  writes?: WriteChecks;
  /** The accounts this apply may still create again on the target when an update finds one gone. */
  recreates: RecreateBudget;
}

/**
 * Re-creates at run time (an update whose account is gone), counted for one apply of one target by
 * whatever runs its operations: the inline executor, or every worker of the cycle through Redis.
 */
export interface RecreateBudget {
  /** How many the apply may make (planning/safety.ts recreateAllowance). */
  readonly allowance: number;
  /** Counts one; false when it is one too many (not to be made). */
  take(): Promise<boolean>;
}

/** The operation that failed to create something, for the reason given to what needed it. */
export interface FailedIdentity {
  kind: OperationKind;
  label: string;
}

/** The creates that failed in one apply of one target. */
export interface FailedIdentities {
  add(resource: ResourceKind, externalId: string, failed: FailedIdentity): Promise<void>;
  get(resource: ResourceKind, externalId: string): Promise<FailedIdentity | undefined>;
}

/**
 * A plan: versioned data describing every write scim-sync intends, grouped per target into phases
 * that run in order. `apply` executes a plan and nothing else; it holds no credentials.
 *
 * Operations name identities by their immutable source key (`externalId`). Where the SCIM id is
 * known at plan time it is carried too, but the executor resolves the id from the link store when
 * the operation runs, so ids created earlier in the same apply are found.
 */
import type { JsonObject, JsonValue, PatchOperation } from './scim.js';

export const PLAN_FORMAT = 'scim-sync-plan';
export const PLAN_VERSION = 1;

/** One attribute change, for people reading the plan. */
export interface AttributeChange {
  path: string;
  from: JsonValue;
  to: JsonValue;
}

interface OperationBase {
  /** Unique within the plan; safe as a queue job id (letters, digits, '-'). */
  id: string;
  externalId: string;
  /** userName or displayName, for humans and the audit log. */
  label: string;
}

export interface CreateUserOp extends OperationBase {
  kind: 'createUser';
  resource: JsonObject;
  /** Hash of the desired state, stored in the link store once applied. */
  hash: string;
  /** Adoption by this attribute is allowed when the create hits an existing account. */
  adoptBy: 'userName' | 'email' | null;
}

export interface UpdateUserOp extends OperationBase {
  kind: 'updateUser';
  scimId: string;
  changes: AttributeChange[];
  /** Exactly one of patch (PATCH body operations) and resource (PUT body) is set. */
  patch?: PatchOperation[];
  resource?: JsonObject;
  hash: string;
  /** Set when this update also takes over an account that was not linked yet. */
  adopt?: boolean;
  /** The full create body, used when the account vanished (404) before the update ran. */
  recreate: JsonObject;
}

export interface DeprovisionUserOp extends OperationBase {
  kind: 'deprovisionUser';
  scimId: string;
  mode: 'deactivate' | 'delete';
  /** Why: left the source, inactive in the source, or out of this target's scope. */
  reason: 'removed' | 'inactive' | 'out-of-scope';
  patch?: PatchOperation[];
  resource?: JsonObject;
}

/**
 * The account already matches but the link store does not know it (state lost, or created by an
 * earlier interrupted run): record the link, send nothing. Without it a later departure would go
 * unnoticed.
 */
export interface LinkUserOp extends OperationBase {
  kind: 'linkUser';
  scimId: string;
  hash: string;
}

export type Operation = CreateUserOp | UpdateUserOp | DeprovisionUserOp | LinkUserOp;
export type OperationKind = Operation['kind'];

export interface Phase {
  /** Phases run in this order; a phase completes before the next starts. */
  name: 'users' | 'deprovision';
  operations: Operation[];
}

export interface TargetPlan {
  target: string;
  /** Users the engine manages in this target at plan time (the base of the safety percentage). */
  managedUsers: number;
  /** Accounts in the target at plan time. */
  actualUsers: number;
  phases: Phase[];
  /** Things a person should know that are not operations (conflicts with unmanaged accounts, ...). */
  warnings: string[];
  /** Set when the target could not be read: it has no operations, and the run counts as failed. */
  error?: string;
}

export interface Plan {
  format: typeof PLAN_FORMAT;
  version: typeof PLAN_VERSION;
  id: string;
  createdAt: string;
  /** Config file the plan was made from. */
  config: string;
  source: {
    description: string;
    users: number;
    activeUsers: number;
    recordsRead: number;
    invalidRecords: number;
    issues: string[];
    /** Source warnings (nothing rejected), when there are any. */
    warnings?: string[];
  };
  targets: TargetPlan[];
}

export function operationsOf(plan: TargetPlan): Operation[] {
  return plan.phases.flatMap((p) => p.operations);
}

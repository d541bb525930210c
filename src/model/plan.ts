/**
 * A plan: versioned data describing every write scim-sync intends, grouped per target into phases
 * that run in order. `apply` executes a plan and nothing else; it holds no credentials.
 *
 * Operations name identities by their immutable source key (`externalId`). Where the SCIM id is
 * known at plan time it is carried too, but the executor resolves the id from the link store when
 * the operation runs, so ids created earlier in the same apply are found.
 */
import type { JsonObject, JsonValue, PatchOperation } from './scim.js';
import { joined } from './joined-lists.js';

export const PLAN_FORMAT = 'scim-sync-plan';
/** 2: plans carry their binding (target and source fingerprints), an expiry and per-operation preconditions. */
export const PLAN_VERSION = 2;

/** One attribute change, for people reading the plan. */
export interface AttributeChange {
  path: string;
  from: JsonValue;
  to: JsonValue;
}

/**
 * What an operation was planned on, checked again when a saved plan is applied: digests (never the
 * values) of the source record and of the account or group as the target listed it; null means
 * "absent" (a person gone from the source, an account not yet created). Missing: not checked.
 */
export interface Precondition {
  source?: string | null;
  account?: string | null;
  /**
   * Membership operations: the personDigest of each person the operation adds or removes, by source
   * key (null: not in the source). The group's own digest cannot stand for them: a CSV group names
   * its inactive people too, so it stays the same when one of them comes back. A membership
   * operation with a precondition but without this was planned by an earlier scim-sync and is not
   * applied (preconditions.ts).
   */
  members?: Record<string, string | null>;
}

/**
 * How the planner found the account an operation acts on: its link, our externalId on it, or the
 * matching rule that adopted it (userName, the work email, or another attribute, named in
 * `matchedOn`). For the provisioning log's steps.
 */
export type MatchedBy = 'link' | 'externalId' | 'userName' | 'email' | 'attribute';

interface OperationBase {
  /** Unique within the plan; safe as a queue job id (letters, digits, '-'). */
  id: string;
  externalId: string;
  /** userName or displayName, for humans and the audit log. */
  label: string;
  pre?: Precondition;
}

export interface CreateUserOp extends OperationBase {
  kind: 'createUser';
  resource: JsonObject;
  /** Hash of the desired state, stored in the link store once applied. */
  hash: string;
  /** Adoption by this attribute is allowed when the create hits an existing account. */
  adoptBy: 'userName' | 'email' | null;
  /**
   * The SCIM id the person's link names, which the target's listing did not show: a re-create
   * (the account deleted by hand, or a listing that left it out). Counted by the safety check
   * (safety.maxRecreatePercent), and a sample is read by id before the plan is trusted.
   */
  unlistedLink?: string;
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
  matchedBy?: MatchedBy;
  /** With matchedBy `attribute`: the attribute path that matched. */
  matchedOn?: string;
  /** The full create body, used when the account vanished (404) before the update ran. */
  recreate: JsonObject;
  /** The account's meta.version at plan time, when the target supports ETags: sent as If-Match. */
  version?: string;
}

export interface DeprovisionUserOp extends OperationBase {
  kind: 'deprovisionUser';
  scimId: string;
  mode: 'deactivate' | 'delete';
  /** Why: left the source, inactive in the source, out of this target's scope, or held off by an emergency deprovision. */
  reason: 'removed' | 'inactive' | 'out-of-scope' | 'held-off';
  patch?: PatchOperation[];
  resource?: JsonObject;
  /** The account's meta.version at plan time, when the target supports ETags: sent as If-Match. */
  version?: string;
  /**
   * Linked, but the target's listing does not show the account: most often deleted by hand, so
   * the executor reads it by id first and only a live, active account is deactivated. Not counted
   * by the safety check's deactivation share, which is a share of accounts that exist.
   */
  unlisted?: true;
  matchedBy?: MatchedBy;
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
  matchedBy?: MatchedBy;
  /**
   * A key gone from the source whose link names this account (the person under their old key, the
   * account since given the new one): its link is dropped once this one is written.
   */
  supersedes?: string;
}

/** A group made for a source group; members follow in the memberships phase. */
export interface CreateGroupOp extends OperationBase {
  kind: 'createGroup';
  resource: JsonObject;
}

/** Rename (PATCH displayName), or take over a group by displayName (adopt). */
export interface UpdateGroupOp extends OperationBase {
  kind: 'updateGroup';
  scimId: string;
  changes: AttributeChange[];
  patch: PatchOperation[];
  adopt?: boolean;
  /**
   * A key gone from the source whose link names this group (the same key but for case: a groups
   * column's "Eng" now "ENG"): its link is dropped once this one is written, or the next cycle
   * would delete the group as the old key's.
   */
  supersedes?: string;
  /**
   * A temporary name only: the group gives up its name to another managed group's rename (two
   * groups swapping names), and takes its own new name in the memberships phase, by the update that
   * carries the rename (the one the safety check counts).
   */
  temporary?: true;
}

/**
 * Membership changes of one group, within the target's per-request limit (a big change is split
 * into several of these). Members to add are source keys, resolved to SCIM ids through the link
 * store when the operation runs (they may be created earlier in the same apply); members to
 * remove are SCIM ids as the target listed them.
 */
export interface PatchGroupMembersOp extends OperationBase {
  kind: 'patchGroupMembers';
  /** Known at plan time for existing groups; else resolved from the group's link. */
  scimId?: string;
  add: string[];
  remove: string[];
}

/** A target without PATCH: the whole group, members resolved at run time, in one PUT. */
export interface ReplaceGroupOp extends OperationBase {
  kind: 'replaceGroup';
  scimId?: string;
  resource: JsonObject;
  memberKeys: string[];
  /**
   * Members' SCIM ids the PUT keeps as they are although the source does not name them: people held
   * (a dirty read, a rejected deprovision), whose memberships a PATCH would leave alone.
   */
  keep?: string[];
  /** Members' SCIM ids the PUT leaves out (for the plan and the safety check; the body is built from memberKeys and keep). */
  remove?: string[];
}

export interface DeleteGroupOp extends OperationBase {
  kind: 'deleteGroup';
  scimId: string;
  reason: 'removed' | 'not-selected';
  /**
   * How many members the group has as the target listed it: they lose it with the group, and the
   * safety check counts them as membership removals. Absent in plans of earlier versions.
   */
  members?: number;
}

export interface LinkGroupOp extends OperationBase {
  kind: 'linkGroup';
  scimId: string;
}

/**
 * The enterprise manager reference: the manager's SCIM id in this target, resolved at run time
 * (the manager may be created in the same apply). `managerKey` null clears it.
 */
export interface SetManagerOp extends OperationBase {
  kind: 'setManager';
  scimId?: string;
  managerKey: string | null;
  /** The manager's label, for people reading the plan. */
  managerLabel: string | null;
  /**
   * The reference the account holds now, for people reading the plan and the safety check's
   * example: its manager's label, or the SCIM id of one this plan does not know. Absent: none.
   */
  from?: string;
}

export type Operation =
  | CreateUserOp
  | UpdateUserOp
  | DeprovisionUserOp
  | LinkUserOp
  | CreateGroupOp
  | UpdateGroupOp
  | PatchGroupMembersOp
  | ReplaceGroupOp
  | DeleteGroupOp
  | LinkGroupOp
  | SetManagerOp;
export type OperationKind = Operation['kind'];

/**
 * Phases run in this order, each complete before the next starts: users exist before groups
 * reference them, groups before their members, both ends before manager references, and
 * everything that takes access away last.
 */
export const PHASES = ['users', 'groups', 'memberships', 'references', 'deprovision'] as const;
export type PhaseName = (typeof PHASES)[number];

/**
 * The phase every operation of a kind belongs to (as planTarget lays a plan out), but for a group
 * rename that waits for a name another group gives up in the groups phase: in memberships.
 */
export const PHASE_OF: Readonly<Record<OperationKind, PhaseName>> = {
  createUser: 'users',
  updateUser: 'users',
  linkUser: 'users',
  createGroup: 'groups',
  updateGroup: 'groups',
  linkGroup: 'groups',
  patchGroupMembers: 'memberships',
  replaceGroup: 'memberships',
  setManager: 'references',
  deprovisionUser: 'deprovision',
  deleteGroup: 'deprovision',
};

export interface Phase {
  name: PhaseName;
  operations: Operation[];
}

/**
 * A change left out of plans (planning/parked.ts): the target accepts it but does not keep it in
 * any PATCH shape, or refused it with a final error run after run. It stays out while the change
 * is the same (its `key` holds a digest of the value); a new source value, or `run --retry-parked`,
 * plans it again.
 */
export interface ParkedChange {
  /** Which change: kind, person or group, attribute and a digest of the value (never the value). */
  key: string;
  kind: OperationKind;
  externalId: string;
  label: string;
  /** The attribute, when one attribute of an update is parked (the rest of the update goes ahead). */
  attribute?: string;
  /** Why, as the server or the verification said it. */
  reason: string;
  /** ISO time it was parked. */
  since: string;
}

/**
 * What finding group members cost a plan, on a server that returns them nowhere (AWS): one request
 * per group and user asked about, the rest answered from the member memory (planning/member-checks.ts).
 */
export interface MemberCheckCounts {
  /** Group-and-user pairs asked about (one request each). */
  asked: number;
  /** Pairs answered from memory. */
  remembered: number;
  /** Groups checked against every linked user. */
  verifiedGroups: number;
  /** Groups answered from memory (asked at most about the users it does not cover). */
  rememberedGroups: number;
  /** Groups whose verification is due but left for a later cycle by groups.verifyMembersPerCycle. */
  overdueGroups: number;
}

/** A managed group a plan would delete as gone from the source, but the source holds it. */
export interface HeldGroup {
  externalId: string;
  label: string;
  scimId: string;
  /** Why, naming the record: "the source names it only on a record it rejected (people.csv:12)". */
  reason: string;
}

export interface TargetPlan {
  target: string;
  /** Users the engine manages in this target at plan time (the base of the safety percentage). */
  managedUsers: number;
  /** Groups the engine manages in this target at plan time. */
  managedGroups?: number;
  /** Members of those groups at plan time (the base of the membership-removal share). */
  managedMemberships?: number;
  /** Accounts in the target at plan time. */
  actualUsers: number;
  phases: Phase[];
  /** Things a person should know that are not operations (conflicts with unmanaged accounts, ...). */
  warnings: string[];
  /** Set when the target could not be read: it has no operations, and the run counts as failed. */
  error?: string;
  /**
   * The state says this target's first sync has not completed (cut short: interrupted, or failing
   * part way): when it began (ISO time) and how many accounts it set out to give. The create check
   * does not count its rest (up to `accounts`, beside what the target already manages) and judges
   * anything beyond as ever. Absent: no first sync unfinished, or a plan from an earlier version.
   */
  firstSync?: { since: string; accounts: number };
  /**
   * Operations planned but held back (not applied, not counted by the safety check), with why:
   * deprovisioning after a dirty source read; in the service's change-driven batches, every operation
   * but deprovisions for a target whose last full cycle the safety check stopped (service/cycle-hold.ts).
   * A run with held operations exits 1.
   */
  held?: { reason: string; operations: Operation[] };
  /** Changes left out because they are parked (not sent, not a failure): what and why. */
  parked?: ParkedChange[];
  /** Managed groups the source holds (named only on records it rejected): gone from the read, not deleted. */
  heldGroups?: HeldGroup[];
  /** Set on a server that returns group members nowhere: how its groups' members were found. */
  memberChecks?: MemberCheckCounts;
}

/** Which target a plan was made for: where it points and as whom. Never a secret. */
export interface TargetFingerprint {
  url: string;
  authType: string;
  /** Basic user name, OAuth client id, header name, or where the token comes from (`env:NAME`). */
  identity: string | null;
  /**
   * The credential's value as a digest keyed by the plan's id (config/target-fingerprint.ts), for an
   * auth with a secret. Absent in plans made before it was recorded.
   */
  credential?: string;
}

/** Which source a plan was read from, and what it held. */
export interface SourceFingerprint {
  type: string;
  location: string;
  readAt: string;
  /** Digest of every person and group read. */
  contentHash: string;
}

export interface Plan {
  format: typeof PLAN_FORMAT;
  version: typeof PLAN_VERSION;
  id: string;
  createdAt: string;
  /** `apply` refuses the plan after this time (safety.planMaxAgeHours). */
  expiresAt: string;
  /** `apply` refuses the plan when the config now points a target or the source elsewhere. */
  binding: { source: SourceFingerprint; targets: Record<string, TargetFingerprint> };
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
    /** Of a joined read: each source's records and invalid records (each judged against the limit). */
    parts?: { name: string; recordsRead: number; invalidRecords: number }[];
  };
  targets: TargetPlan[];
  /**
   * Targets the link store holds links for that the config no longer names: scim-sync deactivates
   * nobody there any more. Put back in the config, or, when the app is gone, dropped by `scim-sync
   * forget`. Absent when there are none.
   */
  unconfiguredTargets?: { target: string; users: number; groups: number }[];
}

/** A target's operations in phase order, as a new list. */
export function operationsOf(plan: Pick<TargetPlan, 'phases'>): Operation[] {
  return joined(plan.phases.map((p) => p.operations));
}

/** Operations of every target and phase (held operations are not in a phase). */
export function operationCount(plan: Plan): number {
  return plan.targets.reduce((n, t) => n + t.phases.reduce((m, p) => m + p.operations.length, 0), 0);
}

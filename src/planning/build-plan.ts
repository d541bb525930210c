/**
 * Assemble a Plan from a source snapshot and, per target, what it holds. Pure: all I/O (reading the
 * source, listing the target, loading links) happened before.
 */
import type { ScopePredicate } from '../mapping/scope.js';
import type { UserMapping } from '../mapping/user-mapping.js';
import { describeSourceRef, type DirectorySnapshot } from '../model/canonical.js';
import { PLAN_FORMAT, PLAN_VERSION, type HeldGroup, type Operation, type Plan, type TargetPlan } from '../model/plan.js';
import type { ServerResource } from '../model/scim.js';
import type { Link } from '../state/link-store.js';
import type { TargetSettings } from './target-settings.js';
import { diffUsers, type Provisioned } from './user-diff.js';
import type { SettledPeople } from './settled-accounts.js';
import { diffGroups } from './group-diff.js';
import { diffManagers } from './manager-diff.js';
import { namedBy, ResourceIndex, snapshotIndex, withPreconditions } from './preconditions.js';
import type { MemberNames } from './member-preconditions.js';
import { groupsOfUsers, resolveMembership } from '../mapping/group-membership.js';
import { compileSelection } from '../mapping/name-patterns.js';
import type { GroupSettings } from '../config/schema/index.js';
import { dropRejected, type Rejections } from './rejections.js';
import { describeHold, type EmergencyHold } from './emergency-holds.js';
import { withoutParked, type ParkedChanges } from './parked.js';
import { mapKept } from '../model/joined-lists.js';

export interface TargetInput {
  name: string;
  mapping: UserMapping;
  inScope: ScopePredicate;
  actualUsers: readonly ServerResource[];
  userLinks: ReadonlyMap<string, Link>;
  settings: TargetSettings;
  /** Absent: this target's groups are not managed (not listed, not planned). */
  groups?: {
    actual: readonly ServerResource[];
    links: ReadonlyMap<string, Link>;
    settings: GroupSettings;
  };
  /** Manage the enterprise manager reference. */
  manager: boolean;
  /** What reading the target found that a person should know (shown with the plan's warnings). */
  notes?: readonly string[];
  /**
   * Set when the source read was dirty (some record invalid): every deprovisioning is held, with
   * this reason, and people the read may have lost keep their memberships and manager references.
   */
  holdDeprovisions?: string;
  /** Deprovisions rejected by an operator (planning/rejections.ts): not planned while the source is unchanged. */
  rejections?: Rejections;
  /** Emergency holds in effect (holdsInEffect), by source key: these people are planned as out of scope. */
  heldOff?: ReadonlyMap<string, EmergencyHold>;
  /**
   * Set when the snapshot holds some people only (one person's commands): a manager reference to
   * someone outside it stays as the target has it, unless that person is `known` (linked, and their
   * account read by id), whom it may name.
   */
  partial?: { known: ReadonlyMap<string, Provisioned> };
  /**
   * Changes parked for this target (read from the state by the engine; none with `--retry-parked`):
   * left out of the plan while they are the same, and listed in `TargetPlan.parked`.
   */
  parked?: ParkedChanges;
  /** People settled while the listing was read (settled-accounts.ts); `actualUsers` then holds stubs for their accounts. */
  settled?: SettledPeople;
}

/**
 * Group membership as the target's plan reads it: resolved when groups are managed or the mapping
 * has role or entitlement rules, and each user's groups when it has those rules.
 */
export function membershipsFor(snapshot: DirectorySnapshot, input: { mapping: UserMapping; groups?: { settings: GroupSettings } | undefined }) {
  const nested = input.groups?.settings.nested ?? 'direct';
  const needMembership = snapshot.groups.length > 0 && (input.groups !== undefined || input.mapping.sets.length > 0);
  const membership = needMembership ? resolveMembership(snapshot.groups, nested) : null;
  const memberOf = membership && input.mapping.sets.length > 0 ? groupsOfUsers(snapshot.groups, membership) : undefined;
  return { nested, membership, memberOf };
}

export function planTarget(snapshot: DirectorySnapshot, input: TargetInput): TargetPlan {
  const { nested, membership, memberOf } = membershipsFor(snapshot, input);
  const users = diffUsers({
    snapshot,
    mapping: input.mapping,
    inScope: input.inScope,
    actual: input.actualUsers,
    links: input.userLinks,
    settings: input.settings,
    ...(memberOf ? { memberOf } : {}),
    collectProvisioned: input.groups !== undefined || input.manager,
    ...(input.heldOff?.size ? { heldOff: new Set(input.heldOff.keys()) } : {}),
    ...(input.parked?.size ? { parked: input.parked } : {}),
    ...(input.settled?.size ? { settled: input.settled } : {}),
  });
  // Maps over every person and group: built once, and only when needed (rejections, operations).
  let index: ReturnType<typeof snapshotIndex> | undefined;
  const indexed = () => (index ??= snapshotIndex(snapshot));
  const rejected = input.rejections?.size ? dropRejected(users.deprovision, indexed().users, input.rejections) : { kept: users.deprovision, dropped: [] };
  // A rejected deprovision leaves the account as it is, memberships included: like a held person's.
  const heldIds = rejected.dropped.length > 0 ? new Set([...users.heldIds, ...deprovisionedIds(rejected.dropped)]) : users.heldIds;
  const provisionedIds = new Map<string, string | null>();
  for (const [key, p] of users.provisioned) provisionedIds.set(key, p.account ? (p.account.id) : null);
  const groups = input.groups
    ? diffGroups({
        groups: snapshot.groups,
        membership: membership ?? { members: new Map(), cycles: [], cycleKeys: [] },
        select: compileSelection(input.groups.settings.include, input.groups.settings.exclude),
        provisioned: provisionedIds,
        heldIds: input.holdDeprovisions ? new Set([...heldIds, ...deprovisionedIds(rejected.kept)]) : heldIds,
        ...(snapshot.heldKeys.length > 0 ? { heldKeys: new Set(snapshot.heldKeys) } : {}),
        actual: input.groups.actual,
        links: input.groups.links,
        settings: input.groups.settings,
        updateMethod: input.settings.updateMethod,
      })
    : null;
  const keepReference = referenceHolder(snapshot, input.holdDeprovisions !== undefined || input.partial !== undefined, users.heldKeys);
  const referable = input.partial ? new Map([...input.partial.known, ...users.provisioned]) : users.provisioned;
  const managers = input.manager ? diffManagers(snapshot.users, referable, keepReference) : { references: [], warnings: [] };
  const deprovision = [...(groups?.deprovision ?? []), ...rejected.kept];
  const cycles = nested === 'flatten' ? (membership?.cycles ?? []).map((c) => `nested groups form a cycle: ${c} (each gets the members of all)`) : [];
  const planned = withoutParked(
    [
      { name: 'users', operations: users.users },
      { name: 'groups', operations: groups?.groups ?? [] },
      { name: 'memberships', operations: groups?.memberships ?? [] },
      { name: 'references', operations: managers.references },
      { name: 'deprovision', operations: input.holdDeprovisions ? [] : deprovision },
    ],
    input.parked ?? new Map(),
  );
  const parked = [...users.parked, ...planned.parked];
  const plan: TargetPlan = {
    target: input.name,
    managedUsers: users.managedUsers,
    actualUsers: input.actualUsers.length,
    ...(groups ? { managedGroups: groups.managedGroups, managedMemberships: groups.managedMemberships } : {}),
    phases: planned.phases,
    // Set on every dirty read, with or without operations: such a run is not a clean one (exit 1).
    ...(input.holdDeprovisions ? { held: { reason: input.holdDeprovisions, operations: deprovision } } : {}),
    ...(parked.length > 0 ? { parked } : {}),
    ...(groups?.held.length ? { heldGroups: heldGroups(snapshot, groups.held) } : {}),
    warnings: [
      ...(input.notes ?? []),
      ...(rejected.note ? [rejected.note] : []),
      ...[...(input.heldOff ?? [])].map(([key, hold]) => describeHold(key, hold)),
      ...users.warnings,
      ...cycles,
      ...(groups?.warnings ?? []),
      ...managers.warnings,
    ],
  };
  if (!plan.phases.some((p) => p.operations.length > 0)) return plan;
  const people = groups ? memberNames(input.userLinks, users.accountsById, provisionedIds) : undefined;
  const named = namedBy(plan, people);
  return withPreconditions(plan, {
    ...(index ?? snapshotIndex(snapshot, named.keys)),
    accounts: new ResourceIndex(input.actualUsers, named, users.accountsById),
    groupResources: input.groups ? new ResourceIndex(input.groups.actual, named) : null,
    ...(people ? { people } : {}),
  });
}

/**
 * Whose accounts a membership operation names, for its precondition: a removed member's source key
 * by its link (the map by SCIM id made once, at the first removal), else the account's externalId;
 * an added member's SCIM id as the group diff had it.
 */
function memberNames(links: ReadonlyMap<string, Link>, accountsById: () => ReadonlyMap<string, ServerResource>, provisioned: ReadonlyMap<string, string | null>): MemberNames {
  let byId: Map<string, string> | undefined;
  return {
    keyOf(id) {
      if (!byId) {
        byId = new Map();
        for (const [key, link] of links) if (!byId.has(link.id)) byId.set(link.id, key);
      }
      const linked = byId.get(id);
      if (linked !== undefined) return linked;
      const externalId = accountsById().get(id)?.['externalId'];
      return typeof externalId === 'string' && externalId !== '' ? externalId : undefined;
    },
    idOf: (key) => provisioned.get(key),
  };
}

export interface PlanContext {
  /** The plan's id; the caller makes it, so a plan is a function of its inputs alone. */
  id: string;
  configFile: string;
  binding: Plan['binding'];
  /** How long `apply` accepts the plan, hours. */
  maxAgeHours: number;
  /** When the plan is made: createdAt, and the start of its validity. */
  now: Date;
}

export function buildPlan(snapshot: DirectorySnapshot, targets: readonly TargetPlan[], context: PlanContext): Plan {
  const { now } = context;
  return {
    format: PLAN_FORMAT,
    version: PLAN_VERSION,
    id: context.id,
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + context.maxAgeHours * 3_600_000).toISOString(),
    binding: context.binding,
    config: context.configFile,
    source: {
      description: snapshot.source,
      users: snapshot.users.length,
      activeUsers: snapshot.users.filter((u) => u.active).length,
      recordsRead: snapshot.recordsRead,
      invalidRecords: snapshot.issues.length,
      issues: snapshot.issues.map((i) => i.message),
      ...(snapshot.warnings?.length ? { warnings: snapshot.warnings.map((w) => w.message) } : {}),
      ...(snapshot.parts ? { parts: snapshot.parts.map((p) => ({ ...p })) } : {}),
    },
    targets: [...targets],
  };
}

const SHOWN_RECORDS = 3;

/** The held groups with why: the record the source names each on (SourceIssue.holdsGroups), else the hold alone. */
function heldGroups(snapshot: DirectorySnapshot, held: readonly Omit<HeldGroup, 'reason'>[]): HeldGroup[] {
  const records = new Map<string, string[]>();
  for (const issue of snapshot.issues) {
    for (const key of issue.holdsGroups ?? []) {
      let where = records.get(key);
      if (!where) records.set(key, (where = []));
      where.push(describeSourceRef(issue.ref));
    }
  }
  return held.map((g) => {
    const where = records.get(g.externalId);
    if (!where) return { ...g, reason: 'the source holds it (a record naming it could not be read)' };
    const more = where.length > SHOWN_RECORDS ? ` and ${where.length - SHOWN_RECORDS} more` : '';
    const which = `${where.length === 1 ? 'a record' : 'records'} it rejected (${where.slice(0, SHOWN_RECORDS).join(', ')}${more})`;
    return { ...g, reason: `the source names it only on ${which}` };
  });
}

function deprovisionedIds(ops: readonly Operation[]): string[] {
  return mapKept(ops, (op) => (op.kind === 'deprovisionUser' ? op.scimId : undefined));
}

/**
 * Whose manager reference stays as it is although they are not provisioned: people held by the
 * source or by the user diff (`heldKeys`), and on a dirty read anyone the read did not return (a
 * broken row may have swallowed them).
 */
function referenceHolder(snapshot: DirectorySnapshot, dirty: boolean, heldKeys: ReadonlySet<string>): (key: string) => boolean {
  const held = new Set([...snapshot.heldKeys, ...heldKeys]);
  if (!dirty) return (key) => held.has(key);
  const read = new Set(snapshot.users.map((u) => u.key));
  return (key) => held.has(key) || !read.has(key);
}

/**
 * Preconditions: what each operation of a plan was planned on, and the check of a saved plan's
 * operations against a fresh read before `apply` executes them. Pure.
 *
 * A saved plan can go stale between `plan --out` and `apply`: the source re-activates someone the
 * plan deactivates, someone edits the account by hand, or the plan was applied already. Each
 * operation carries digests of the source record and of the account (or group) it was planned on;
 * an operation whose digests no longer match is not applied. It is reported as "already in place"
 * when the target already shows what it would have done, else as "stale" (the next run plans it
 * afresh). A membership operation carries the digests of the people it adds or removes too, and is
 * checked against the group's members now (member-preconditions.ts).
 */
import type { CanonicalGroup, CanonicalUser, DirectorySnapshot } from '../model/canonical.js';
import { digest, personDigest } from '../model/record-digest.js';
import type { Operation, Precondition, TargetPlan } from '../model/plan.js';
import { versionOf, type JsonValue, type ServerResource } from '../model/scim.js';
import { isActive } from './user-changes.js';
import { changeHolds } from './change-holds.js';
import { isMembership, keysNamed, membersChangedWhy, membershipInPlace, peopleChanged, type MemberNames, type MembershipOp } from './member-preconditions.js';
import { mapKept } from '../model/joined-lists.js';

/** Keys sorted at every level: two reads of one account digest alike whatever the key order. */
function sorted(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(sorted);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, JsonValue> = {};
  for (const key of Object.keys(value).sort()) out[key] = sorted(value[key]!);
  return out;
}

/** Defined in model/ so the change feeds (sources/) digest a person exactly as preconditions do. */
export { personDigest };

export function groupDigest(group: CanonicalGroup | undefined): string | null {
  return group ? digest([group.key, group.displayName, group.memberKeys, group.groupKeys ?? null]) : null;
}

/** The server's version when it keeps one; else the resource without its meta. */
export function accountDigest(account: ServerResource | undefined): string | null {
  if (!account) return null;
  const version = versionOf(account);
  if (version) return `v:${version}`;
  const { meta: _meta, ...rest } = account;
  return digest(sorted(rest));
}

/** What a plan is checked against: the source and the target as they are now. */
export interface FreshRead {
  users: ReadonlyMap<string, CanonicalUser>;
  groups: ReadonlyMap<string, CanonicalGroup>;
  /** Accounts by SCIM id and by externalId; null when the target's users were not listed. */
  accounts: ResourceIndex | null;
  groupResources: ResourceIndex | null;
  /**
   * The accounts of membership operations' people (member-preconditions.ts): planning gives both
   * directions, verifying a saved plan the SCIM id by source key (the links). Absent: an add is
   * never found in place.
   */
  people?: MemberNames;
}

/**
 * What a plan's operations name: their source keys and SCIM ids. Planning indexes the read for
 * these alone: a cycle's operations are a few among 100,000 people and accounts, and maps of every
 * one of them were a fifth of planning.
 */
export interface Named {
  keys: ReadonlySet<string>;
  ids: ReadonlySet<string>;
}

export function namedBy(plan: TargetPlan, people?: MemberNames): Named {
  const keys = new Set<string>();
  const ids = new Set<string>();
  for (const phase of plan.phases) {
    for (const op of phase.operations) {
      keys.add(op.externalId);
      if ('scimId' in op && typeof op.scimId === 'string') ids.add(op.scimId);
      // The people a membership change adds or removes: their source records are digested too.
      if (isMembership(op)) for (const key of keysNamed(op, people)) keys.add(key);
    }
  }
  return { keys, ids };
}

export class ResourceIndex {
  private byId?: ReadonlyMap<string, ServerResource>;
  private byExternalId?: Map<string, ServerResource>;

  /**
   * With `only`, the resources of those SCIM ids and externalIds alone are indexed (what `find` is
   * asked for); `ids`: the map by SCIM id of the same resources planning builds anyway, taken
   * only when an operation is looked up by id (a plan of creates alone asks none).
   */
  constructor(
    private readonly resources: readonly ServerResource[],
    private readonly only?: Named,
    private readonly ids?: () => ReadonlyMap<string, ServerResource>,
  ) {}

  find(op: { externalId: string; scimId?: string }): ServerResource | undefined {
    return (op.scimId !== undefined ? this.idMap().get(op.scimId) : undefined) ?? this.externalIds().get(op.externalId);
  }

  private idMap(): ReadonlyMap<string, ServerResource> {
    if (!this.byId && this.ids) this.byId = this.ids();
    if (!this.byId) {
      const map = new Map<string, ServerResource>();
      for (const r of this.resources) {
        const id = r['id'];
        if (typeof id === 'string' && (!this.only || this.only.ids.has(id))) map.set(id, r);
      }
      this.byId = map;
    }
    return this.byId;
  }

  /** Asked when an operation has no SCIM id, or its account is gone: a create's, or a stale plan's. */
  private externalIds(): Map<string, ServerResource> {
    if (!this.byExternalId) {
      this.byExternalId = new Map();
      for (const r of this.resources) {
        const ext = r['externalId'];
        if (typeof ext === 'string' && (!this.only || this.only.keys.has(ext))) this.byExternalId.set(ext, r);
      }
    }
    return this.byExternalId;
  }
}

/** People and groups by source key; with `only`, those keys alone. */
export function snapshotIndex(snapshot: DirectorySnapshot, only?: ReadonlySet<string>): Pick<FreshRead, 'users' | 'groups'> {
  const users = new Map<string, CanonicalUser>();
  const groups = new Map<string, CanonicalGroup>();
  for (const u of snapshot.users) if (!only || only.has(u.key)) users.set(u.key, u);
  for (const g of snapshot.groups) if (!only || only.has(g.key)) groups.set(g.key, g);
  return { users, groups };
}

const USER_OPS = new Set<Operation['kind']>(['createUser', 'updateUser', 'deprovisionUser', 'setManager']);

/**
 * The operation's precondition, from what planning read. `linkUser` and `linkGroup` only record a
 * link and carry none. `digestOf`: a person's digest (withPreconditions remembers each, as one
 * person is named by their create and by every group it adds them to); `groupDigestOf` a group's
 * (remembered too: a big group's change is split into many operations, each digesting every member).
 */
export function preconditionOf(
  op: Operation,
  read: FreshRead,
  digestOf = (key: string) => personDigest(read.users.get(key)),
  groupDigestOf = (key: string) => groupDigest(read.groups.get(key)),
): Precondition | undefined {
  if (op.kind === 'linkUser' || op.kind === 'linkGroup') return undefined;
  if (USER_OPS.has(op.kind)) {
    const source = digestOf(op.externalId);
    if (op.kind === 'setManager') return { source };
    return { source, account: op.kind === 'createUser' ? null : accountDigest(read.accounts?.find(op as { externalId: string; scimId?: string })) };
  }
  const source = groupDigestOf(op.externalId);
  if (op.kind === 'createGroup' || op.kind === 'updateGroup' || op.kind === 'deleteGroup') {
    return { source, account: op.kind === 'createGroup' ? null : accountDigest(read.groupResources?.find(op)) };
  }
  const { adds, removes } = peopleChanged(op as MembershipOp, read.groupResources?.find(op), read.people);
  // fromEntries: a source key is any text, "__proto__" too, and stays an entry of its own.
  return { source, members: Object.fromEntries([...adds, ...removes].map((key) => [key, digestOf(key)])) };
}

/** `digest`, each key's computed once. */
function remembered(digest: (key: string) => string | null): (key: string) => string | null {
  const known = new Map<string, string | null>();
  return (key) => {
    let d = known.get(key);
    if (d === undefined) known.set(key, (d = digest(key)));
    return d;
  };
}

/** Every operation of the target plan with its precondition set. */
export function withPreconditions(plan: TargetPlan, read: FreshRead): TargetPlan {
  const digestOf = remembered((key) => personDigest(read.users.get(key)));
  const groupDigestOf = remembered((key) => groupDigest(read.groups.get(key)));
  const annotate = (op: Operation): Operation => {
    const pre = preconditionOf(op, read, digestOf, groupDigestOf);
    return pre ? { ...op, pre } : op;
  };
  return { ...plan, phases: plan.phases.map((p) => ({ ...p, operations: p.operations.map(annotate) })) };
}

export type Verdict = { go: true } | { go: false; state: 'already in place' | 'stale'; why: string };

const GO: Verdict = { go: true };

/** Does the target already show what the operation would do? */
function inPlace(op: Operation, account: ServerResource | undefined): boolean {
  switch (op.kind) {
    case 'createUser':
    case 'createGroup':
      return account !== undefined;
    case 'updateUser':
      return account !== undefined && op.changes.every((c) => changeHolds(account, c));
    case 'deprovisionUser':
      return account === undefined || (op.mode === 'deactivate' && !isActive(account));
    case 'deleteGroup':
      return account === undefined;
    default:
      return false;
  }
}

/**
 * Whether a saved plan's operation may still be applied, given the source and target as they are
 * now. An operation without a precondition always goes. `labels`: people's labels by source key,
 * from the plan's own operations, to name the people a membership operation is stale for.
 */
export function verifyOperation(op: Operation, now: FreshRead, labels?: ReadonlyMap<string, string>): Verdict {
  const pre = op.pre;
  if (!pre) return GO;
  if (isMembership(op)) return verifyMembership(op, pre, now, labels);
  const isGroup = !USER_OPS.has(op.kind);
  const index = isGroup ? now.groupResources : now.accounts;
  const resource = index?.find(op as { externalId: string; scimId?: string });
  if (pre.account !== undefined && index) {
    const current = accountDigest(resource);
    if (current !== pre.account) {
      if (inPlace(op, resource)) return { go: false, state: 'already in place', why: 'the target already shows this change' };
      return {
        go: false,
        state: 'stale',
        why: resource ? `the ${isGroup ? 'group' : 'account'} changed in the target since the plan was made` : `the ${isGroup ? 'group' : 'account'} is gone from the target`,
      };
    }
  }
  if (pre.source !== undefined) {
    const current = isGroup ? groupDigest(now.groups.get(op.externalId)) : personDigest(now.users.get(op.externalId));
    if (current !== pre.source) {
      const why =
        current === null ? 'gone from the source since the plan was made' : pre.source === null ? 'back in the source since the plan was made' : 'the source record changed since the plan was made';
      return { go: false, state: 'stale', why };
    }
  }
  return GO;
}

/**
 * A membership operation: in place when the group shows it; else stale when a person it adds or
 * removes, or the source group, changed since the plan (member-preconditions.ts says why both).
 */
function verifyMembership(op: MembershipOp, pre: Precondition, now: FreshRead, labels?: ReadonlyMap<string, string>): Verdict {
  if (now.groupResources && membershipInPlace(op, now.groupResources.find(op), now.people)) {
    return { go: false, state: 'already in place', why: 'the target already shows this change' };
  }
  if (!pre.members) {
    return { go: false, state: 'stale', why: 'planned by an earlier scim-sync, which did not record the people it adds or removes; make a new plan' };
  }
  const changed = mapKept(Object.entries(pre.members), ([key, digest]) => (personDigest(now.users.get(key)) === digest ? undefined : key));
  if (changed.length > 0) return { go: false, state: 'stale', why: membersChangedWhy(op, changed, labels) };
  const current = groupDigest(now.groups.get(op.externalId));
  if (current !== pre.source && pre.source !== undefined) {
    return { go: false, state: 'stale', why: current === null ? 'gone from the source since the plan was made' : 'the source record changed since the plan was made' };
  }
  return GO;
}

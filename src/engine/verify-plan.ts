/**
 * Before a saved plan is applied: read the source and the targets again and keep only the
 * operations whose preconditions still hold (planning/preconditions.ts). What is left out is
 * reported, as "already in place" or "stale", never applied blindly. What a plan made now would
 * hold back is held here too: deprovisions on a dirty read (with the group removals of the same
 * people, whose memberships a plan made now keeps), and those an operator rejected after
 * the plan was saved (with the group removals of the same people), so an old plan does not undo a
 * `reject`; and what would give an emergency-held person access again (their account created,
 * updated or re-activated, their membership added), so a replay (`apply`, `retry`, an approve)
 * does not undo a `deprovision`. `run` makes its plan moments before applying it and skips this.
 */
import type { LoadedConfig } from '../config/load.js';
import { describeError } from '../errors.js';
import type { TargetRuntime } from '../execution/executor.js';
import { operationsOf, type Operation, type Plan, type TargetPlan } from '../model/plan.js';
import { adds, describePeople, isMembership } from '../planning/member-preconditions.js';
import { personDigest, ResourceIndex, snapshotIndex, verifyOperation, type FreshRead } from '../planning/preconditions.js';
import { sourceCounts, type SourceCounts } from '../planning/source-checks.js';
import { createSource } from '../sources/create-source.js';
import type { LinkStore } from '../state/link-store.js';
import type { MemberMemory } from '../state/member-memory.js';
import type { RejectionMap } from '../state/rejection-store.js';
import type { DecisionStores } from './run-state.js';
import { describeHold, holdsInEffect, type EmergencyHold } from '../planning/emergency-holds.js';
import { dirtyReadHold, linkedAccountIds, listGroups, memberReading } from './make-plan.js';

export interface SkippedOperation {
  target: string;
  op: Operation;
  /** unchanged: the target already shows it; skipped: stale, the next run plans it afresh. */
  outcome: 'unchanged' | 'skipped';
  /** "already in place: ...", "stale: ..." or "held: ...". */
  note: string;
  /** Neither applied nor stale: the fresh read cannot decide it now (a dirty read, a record the source rejected). */
  held?: true;
}

export interface VerifiedPlan {
  plan: Plan;
  skipped: SkippedOperation[];
  /**
   * Why some operations could be neither applied nor called stale now: a target that could not be
   * read, deprovisions held by a dirty read. A staged set approved so is kept for another try.
   */
  unsettled: string[];
  /** Those operations, by target: what a kept staged set still holds. */
  undecided: Map<string, Set<string>>;
  /** The fresh read's counts, for the source's own safety rules (an approve checks them). */
  source: SourceCounts;
}

const GROUP_KINDS = new Set<Operation['kind']>(['createGroup', 'updateGroup', 'deleteGroup']);

async function freshRead(
  loaded: LoadedConfig,
  target: TargetPlan,
  runtime: TargetRuntime,
  base: Pick<FreshRead, 'users' | 'groups'>,
  snapshot: Parameters<typeof listGroups>[2],
  links: LinkStore,
  members: MemberMemory | undefined,
): Promise<FreshRead> {
  const planned = operationsOf(target);
  const ops = planned.filter((op) => op.pre?.account !== undefined);
  const needUsers = ops.some((op) => !GROUP_KINDS.has(op.kind));
  // A membership change is checked against the group's members now: one applied already is in place.
  const needGroups = ops.some((op) => GROUP_KINDS.has(op.kind)) || planned.some((op) => isMembership(op) && op.pre !== undefined);
  if (!needUsers && !needGroups) return { ...base, accounts: null, groupResources: null };
  const config = loaded.config.targets[target.target]!;
  await runtime.client.discover();
  const listed = needUsers ? await runtime.client.listAll('Users', { pageSize: config.pageSize }) : null;
  const accounts = listed ? new ResourceIndex(listed) : null;
  let groupResources: ResourceIndex | null = null;
  let people: FreshRead['people'];
  if (needGroups) {
    // Members asked for the same users as the plan asked (a server that lists none, AWS), and taken
    // from the member memory as the plan took them: read otherwise, a group would differ from its
    // planned digest and read as stale. The memory is only read here.
    const userLinks = await links.snapshot(target.target, 'user');
    people = { idOf: (key) => userLinks.get(key)?.id };
    const among = listed ? linkedAccountIds(userLinks, listed) : [...new Set([...userLinks.values()].map((l) => l.id))];
    const reading = memberReading(config, members ? { memory: members, record: false } : undefined, false);
    groupResources = new ResourceIndex((await listGroups(runtime, config.pageSize, snapshot, await links.snapshot(target.target, 'group'), undefined, among, reading)).groups);
  }
  return { ...base, accounts, groupResources, ...(people ? { people } : {}) };
}

/** People's labels by source key, from the plan's own operations on them: to name a membership operation's people. */
function labelsOf(target: TargetPlan): Map<string, string> {
  const labels = new Map<string, string>();
  for (const op of operationsOf(target)) {
    if (op.kind === 'createUser' || op.kind === 'updateUser' || op.kind === 'deprovisionUser' || op.kind === 'linkUser') labels.set(op.externalId, op.label);
  }
  return labels;
}

/**
 * Why `plan` would leave the operation out now for a rejection (planning/rejections.ts), if it would:
 * a deprovision whose person's rejection still holds (the source record unchanged since), or a
 * membership change removing such a person, whose memberships a plan keeps with their account.
 */
function rejectedNow(op: Operation, rejections: RejectionMap[string] | undefined, users: FreshRead['users'], labels: ReadonlyMap<string, string>): string | undefined {
  if (!rejections) return undefined;
  const holds = (key: string) => {
    const r = Object.hasOwn(rejections, key) ? rejections[key] : undefined;
    return r && r.digest === personDigest(users.get(key)) ? r : undefined;
  };
  if (op.kind === 'deprovisionUser') {
    const r = holds(op.externalId);
    return r && `rejected (scim-sync reject ${r.stagedId}) and the source record is unchanged since`;
  }
  if (!isMembership(op) || !op.pre?.members) return undefined;
  const removed = Object.keys(op.pre.members).filter((key) => !adds(op, key) && holds(key));
  if (removed.length === 0) return undefined;
  const sets = [...new Set(removed.map((key) => holds(key)!.stagedId))].join(', ');
  const whose = removed.length === 1 ? 'whose deprovision was' : 'whose deprovisions were';
  return (
    `it removes ${describePeople(removed, labels)}, ${whose} rejected (scim-sync reject ${sets}) and the source record is unchanged since; ` +
    "the group's other changes are planned again by the next run"
  );
}

/**
 * Why an emergency hold in effect leaves the operation out, if it does: it would create, update or
 * re-activate a held person's account, or add them to a group (a plan made now plans them out of
 * scope: deprovisioned, their memberships removed). The whole membership change is left: the next
 * run plans the others' part again.
 */
function heldOffNow(op: Operation, heldOff: ReadonlyMap<string, EmergencyHold>, labels: ReadonlyMap<string, string>): string | undefined {
  if (heldOff.size === 0) return undefined;
  if (op.kind === 'createUser' || op.kind === 'updateUser' || op.kind === 'linkUser') {
    const hold = heldOff.get(op.externalId);
    return hold && describeHold(op.externalId, hold);
  }
  if (!isMembership(op)) return undefined;
  const added = (op.kind === 'patchGroupMembers' ? op.add : op.memberKeys).filter((key) => heldOff.has(key));
  if (added.length === 0) return undefined;
  return `it adds ${describePeople(added, labels)}, ${describeHold(added[0]!, heldOff.get(added[0]!)!)}; the group's other changes are planned again by the next run`;
}

/**
 * Why the read holds this membership change, if it does: it removes someone whose deprovision the
 * read holds (`held`: by the SCIM id of the account a held deprovision names, or by the source key
 * of a record the source rejected in this read). A plan made now keeps such a person's memberships
 * with their account (planTarget's heldIds). The whole change waits, as their deprovision does.
 */
function removesHeldNow(op: Operation, held: { byId: ReadonlyMap<string, { key: string; why: string }>; keys: ReadonlySet<string>; why: string }, labels: ReadonlyMap<string, string>): string | undefined {
  if (!isMembership(op)) return undefined;
  const whys = new Map<string, string>();
  for (const id of op.kind === 'patchGroupMembers' ? op.remove : (op.remove ?? [])) {
    const person = held.byId.get(id);
    if (person) whys.set(person.key, person.why);
  }
  // Removed people named by their source record (pre.members), the ones the source rejected now.
  for (const key of Object.keys(op.pre?.members ?? {})) {
    if (!whys.has(key) && held.keys.has(key) && !adds(op, key)) whys.set(key, held.why);
  }
  if (whys.size === 0) return undefined;
  const keys = [...whys.keys()];
  const whose = keys.length === 1 ? 'whose deprovision is' : 'whose deprovisions are';
  return `it removes ${describePeople(keys, labels)}, ${whose} held: ${whys.get(keys[0]!)!}; the group's other changes wait with it`;
}

/** The operators' decisions a saved plan is held to: the rejected deprovisions and the emergency holds. */
export interface Decisions {
  rejections?: RejectionMap;
  holds?: ReadonlyMap<string, EmergencyHold>;
}

/** The decisions as the stores hold them now. */
export async function decisionsNow(stores: Pick<DecisionStores, 'rejections' | 'holds'>): Promise<Decisions> {
  return { rejections: await stores.rejections.all(), holds: await stores.holds.all() };
}

/** `decisions`: as they are now (decisionsNow), heeded as `plan` heeds them. */
export async function verifySavedPlan(
  loaded: LoadedConfig,
  plan: Plan,
  runtimes: ReadonlyMap<string, TargetRuntime>,
  links: LinkStore,
  members?: MemberMemory,
  { rejections, holds }: Decisions = {},
): Promise<VerifiedPlan> {
  const snapshot = await createSource(loaded.config.source).read();
  // Lifted by a change of the person's source record since, as a plan made now would judge it.
  const heldOff = holdsInEffect(holds ?? new Map(), snapshot);
  const base = snapshotIndex(snapshot);
  const skipped: SkippedOperation[] = [];
  const unsettled = new Set<string>();
  const undecided = new Map<string, Set<string>>();
  const leave = (target: string, ops: readonly Operation[]) => {
    let ids = undecided.get(target);
    if (!ids) undecided.set(target, (ids = new Set()));
    for (const op of ops) ids.add(op.id);
  };
  const targets: TargetPlan[] = [];
  // As a plan made now would hold them: a read that lost someone to a broken row says nothing about
  // whether they left, and a person whose record the source rejected is neither gone nor here.
  const dirty = dirtyReadHold(snapshot, loaded.config.safety.holdDeprovisionsOnInvalidRecords);
  const heldKeys = new Set(snapshot.heldKeys);
  const rejectedRecord = (kind: string) => `the source rejected this ${kind === 'deleteGroup' ? 'group' : 'person'}'s record in this read`;
  const heldNow = (op: Operation): string | undefined => {
    if (op.kind !== 'deprovisionUser' && op.kind !== 'deleteGroup') return undefined;
    return dirty ?? (heldKeys.has(op.externalId) ? rejectedRecord(op.kind) : undefined);
  };
  for (const target of plan.targets) {
    const runtime = runtimes.get(target.target);
    if (!runtime || target.error) {
      targets.push(target);
      continue;
    }
    let now: FreshRead;
    try {
      now = await freshRead(loaded, target, runtime, base, snapshot, links, members);
    } catch (error) {
      // Not checked is not applied: the target is reported as not read, like a plan that could not read it.
      const why = `cannot check the plan against the target: ${describeError(error)}`;
      targets.push({ ...target, phases: [], error: why });
      unsettled.add(`target ${target.target}: ${why}`);
      leave(target.target, operationsOf(target));
      continue;
    }
    const labels = labelsOf(target);
    // The accounts whose deprovision this read holds: their memberships are held with it.
    const byId = new Map<string, { key: string; why: string }>();
    for (const op of operationsOf(target)) {
      if (op.kind !== 'deprovisionUser') continue;
      const why = heldNow(op);
      if (why !== undefined) byId.set(op.scimId, { key: op.externalId, why });
    }
    const heldMembers = { byId, keys: heldKeys, why: rejectedRecord('deprovisionUser') };
    const keep = (op: Operation): boolean => {
      // Decided by an operator: skipped, not kept for another try (an approve does not stage it again).
      const rejected = rejectedNow(op, rejections?.[target.target], base.users, labels) ?? heldOffNow(op, heldOff, labels);
      if (rejected !== undefined) {
        skipped.push({ target: target.target, op, outcome: 'skipped', note: `held: ${rejected}` });
        return false;
      }
      const held = heldNow(op) ?? removesHeldNow(op, heldMembers, labels);
      if (held !== undefined) {
        skipped.push({ target: target.target, op, outcome: 'skipped', note: `held: ${held}`, held: true });
        unsettled.add(held === dirty ? held : `${op.label}: ${held}`);
        leave(target.target, [op]);
        return false;
      }
      const verdict = verifyOperation(op, now, labels);
      if (verdict.go) return true;
      skipped.push({ target: target.target, op, outcome: verdict.state === 'stale' ? 'skipped' : 'unchanged', note: `${verdict.state}: ${verdict.why}` });
      return false;
    };
    targets.push({ ...target, phases: target.phases.map((p) => ({ ...p, operations: p.operations.filter(keep) })) });
  }
  return { plan: { ...plan, targets }, skipped, unsettled: [...unsettled], undecided, source: sourceCounts(snapshot) };
}

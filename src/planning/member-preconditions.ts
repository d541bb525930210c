/**
 * What a membership operation (patchGroupMembers, replaceGroup) of a saved plan is checked against:
 * the source records of the people it adds or removes, and the group's members in the target now.
 * Pure; preconditions.ts asks it.
 *
 * The group's source digest alone is not enough. A CSV group names its inactive people too, so it
 * is the same when someone marked terminated comes back; a plan that took them out of the group
 * while they were terminated would take a returning colleague out. And a membership change applied
 * once must read as in place the second time, not be sent again.
 *
 * An operation with one person's change stale is skipped whole, saying who: the plan is what was
 * reviewed, and the next run plans the other people's changes again, as the source has them then.
 */
import type { PatchGroupMembersOp, ReplaceGroupOp } from '../model/plan.js';
import type { ServerResource } from '../model/scim.js';
import { memberValues } from './group-diff.js';
import { mapKept } from '../model/joined-lists.js';

export type MembershipOp = PatchGroupMembersOp | ReplaceGroupOp;

export function isMembership(op: { kind: string }): op is MembershipOp {
  return op.kind === 'patchGroupMembers' || op.kind === 'replaceGroup';
}

/** How a read names the people of a membership operation. */
export interface MemberNames {
  /** The source key of the account with this SCIM id (its link, else its externalId); planning asks it of the members removed. */
  keyOf?(id: string): string | undefined;
  /** The SCIM id of this person's account (its link); null or undefined: none yet. */
  idOf(key: string): string | null | undefined;
}

/** Source keys the operation might name: what planning indexes of the source for it. */
export function keysNamed(op: MembershipOp, names: MemberNames | undefined): string[] {
  const removed = op.kind === 'patchGroupMembers' ? op.remove : (op.remove ?? []);
  const keys = mapKept(removed, (id) => names?.keyOf?.(id));
  return [...(op.kind === 'patchGroupMembers' ? op.add : op.memberKeys), ...keys];
}

/**
 * The people the operation adds (by source key) and removes (their source keys, where known), given
 * the group as planning listed it (undefined: not there yet). A PUT names every member; of those it
 * adds only the ones the group does not hold.
 */
export function peopleChanged(op: MembershipOp, group: ServerResource | undefined, names: MemberNames | undefined): { adds: string[]; removes: string[] } {
  const removed = op.kind === 'patchGroupMembers' ? op.remove : (op.remove ?? []);
  const removes = mapKept(removed, (id) => names?.keyOf?.(id));
  if (op.kind === 'patchGroupMembers') return { adds: op.add, removes };
  const current = new Set(group ? memberValues(group) : []);
  const adds = op.memberKeys.filter((key) => {
    const id = names?.idOf(key);
    return !id || !current.has(id);
  });
  return { adds, removes };
}

/**
 * Does the group already show the change: every person it adds a member (their account known by
 * `names`), every account it removes not? A group gone from the target does not.
 */
export function membershipInPlace(op: MembershipOp, group: ServerResource | undefined, names: MemberNames | undefined): boolean {
  if (!group) return false;
  const current = new Set(memberValues(group));
  const adds = op.kind === 'patchGroupMembers' ? op.add : op.memberKeys;
  const removes = op.kind === 'patchGroupMembers' ? op.remove : (op.remove ?? []);
  return (
    adds.every((key) => {
      const id = names?.idOf(key);
      return typeof id === 'string' && current.has(id);
    }) && removes.every((id) => !current.has(id))
  );
}

/** Whether the operation adds this person (else it removes them). */
export function adds(op: MembershipOp, key: string): boolean {
  return (op.kind === 'patchGroupMembers' ? op.add : op.memberKeys).includes(key);
}

const SHOWN = 3;

/** People for a message: "ann@x.com (E1), E2 and 3 more"; `labels` from the plan's own operations. */
export function describePeople(keys: readonly string[], labels?: ReadonlyMap<string, string>): string {
  const named = keys.slice(0, SHOWN).map((key) => {
    const label = labels?.get(key);
    return label && label !== key ? `${label} (${key})` : key;
  });
  if (keys.length > SHOWN) named.push(`${keys.length - SHOWN} more`);
  return named.length === 1 ? named[0]! : `${named.slice(0, -1).join(', ')} and ${named.at(-1)!}`;
}

/** Why an operation is stale for these people: "the source record of X, whom it removes, changed since the plan was made". */
export function membersChangedWhy(op: MembershipOp, keys: readonly string[], labels?: ReadonlyMap<string, string>): string {
  const added = keys.filter((key) => adds(op, key)).length;
  const verb = added === keys.length ? 'adds' : added === 0 ? 'removes' : 'adds or removes';
  const records = keys.length === 1 ? 'record' : 'records';
  return `the source ${records} of ${describePeople(keys, labels)}, whom it ${verb}, changed since the plan was made`;
}

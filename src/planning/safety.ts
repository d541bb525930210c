/**
 * The safety check: reasons to refuse a plan before any write. Evaluated on the plan alone, so a
 * saved plan is checked again when applied. Pure.
 */
import type { SafetyConfig } from '../config/schema/index.js';
import { operationsOf, type AttributeChange, type CreateUserOp, type Plan, type TargetPlan } from '../model/plan.js';
import { clip } from '../model/printable.js';
import { sourceViolations } from './source-checks.js';

/**
 * Changes already applied outside full cycles (the service's change-driven batches) within the
 * safety window, per target: they count with the plan's own, so a burst of leavers arriving one
 * event at a time, or an attribute cleared a few people at a time, trips the same thresholds as a
 * cycle that would make them all at once.
 */
export interface RecentChanges {
  /** Deprovisions per target. */
  readonly deprovisions: ReadonlyMap<string, number>;
  /** Users changed per target, then per attribute path. */
  readonly attributes: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** Users created or re-activated per target. */
  readonly creates: ReadonlyMap<string, number>;
  /** Linked accounts found gone and created again per target (planned, or found gone when written). */
  readonly recreates: ReadonlyMap<string, number>;
  /** For the reason's text, e.g. "the last 60 minutes". */
  readonly window: string;
}

export function safetyViolations(plan: Plan, safety: SafetyConfig, recent?: RecentChanges): string[] {
  const reasons = sourceViolations(plan.source, safety);
  for (const target of plan.targets) {
    reasons.push(
      ...groupViolations(target, safety),
      ...attributeChangeViolations(target, safety, recent),
      ...membershipRemovalViolations(target, safety),
      ...recreateViolations(target, safety, recent),
      ...createViolations(target, safety, recent),
    );
    // A share of accounts that exist: a linked account the listing no longer shows is checked by id
    // when applied, and is not in the base (managedUsers) either. The absolute cap counts it: it may
    // still deactivate a live account.
    const deprovisions = operationsOf(target).filter((op) => op.kind === 'deprovisionUser');
    const earlier = recent?.deprovisions.get(target.target) ?? 0;
    const within = earlier > 0 ? ` (with ${earlier} already deprovisioned in ${recent!.window})` : '';
    const all = deprovisions.length + earlier;
    const count = deprovisions.filter((op) => !op.unlisted).length + earlier;
    if (safety.maxDeactivateCount !== undefined && all > safety.maxDeactivateCount && deprovisions.length > 0) {
      reasons.push(`target ${target.target}: ${all} deprovisions${within} exceed maxDeactivateCount ${safety.maxDeactivateCount}`);
      continue;
    }
    if (count === earlier) continue;
    const share = target.managedUsers === 0 ? 100 : (count / target.managedUsers) * 100;
    if (count > safety.alwaysAllowDeactivations && share > safety.maxDeactivatePercent) {
      reasons.push(
        `target ${target.target}: ${count} of ${target.managedUsers} managed users would be deprovisioned${within} ` +
          `(${share.toFixed(1)}%, limit ${safety.maxDeactivatePercent}%)`,
      );
    }
  }
  return reasons;
}

/**
 * The targets of a stopped plan that the check stops on their own, each with its reasons (a reason
 * about the source stops every one): the whole plan is refused, but a target whose own changes pass
 * is not the one in doubt.
 */
export function stopsByTarget(plan: Plan, safety: SafetyConfig): Map<string, string[]> {
  const stops = new Map<string, string[]>();
  for (const t of plan.targets) {
    const reasons = safetyViolations({ ...plan, targets: [t] }, safety);
    if (reasons.length > 0) stops.set(t.target, reasons);
  }
  return stops;
}

/**
 * Too many linked accounts missing from the listing, each to be created again: an emptied or
 * re-scoped listing (totalResults 0 on a server that still holds everyone) reads so, and on a server
 * that does not enforce unique userNames every person would get a second account while the first
 * drops out of management. The base is every account the plan counts on: the managed ones listed
 * and the missing ones.
 */
function recreateViolations(target: TargetPlan, safety: SafetyConfig, recent?: RecentChanges): string[] {
  const missing = plannedRecreates(target);
  if (missing.length === 0) return [];
  const earlier = recent?.recreates.get(target.target) ?? 0;
  const base = target.managedUsers + missing.length;
  if (recreatesPass(missing.length + earlier, base, safety)) return [];
  const share = ((missing.length + earlier) / base) * 100;
  const within = earlier > 0 ? ` (with ${earlier} already created again in ${recent!.window})` : '';
  return [
    `target ${target.target}: ${missing.length} of ${base} linked accounts are missing from its listing and would be created again${within} ` +
      `(${share.toFixed(1)}%, limit ${safety.maxRecreatePercent}%), e.g. ${clip(missing[0]!.label)} (linked id ${clip(missing[0]!.unlistedLink)}): ` +
      'deleted in the app, a listing that leaves accounts out, or the target moved to another tenant (its links are of the old one: check, then --override-safety once)?',
  ];
}

function plannedRecreates(target: TargetPlan): (CreateUserOp & { unlistedLink: string })[] {
  return operationsOf(target).filter((op): op is CreateUserOp & { unlistedLink: string } => op.kind === 'createUser' && op.unlistedLink !== undefined);
}

/** `count` re-creates out of `base` accounts are within the limits: few enough in number, or in share. */
function recreatesPass(count: number, base: number, safety: SafetyConfig): boolean {
  return count <= safety.alwaysAllowRecreates || (base > 0 && (count / base) * 100 <= safety.maxRecreatePercent);
}

/**
 * How many accounts an apply of this target may still create again when it runs: updates whose
 * account a write and a read by id both find gone (404) re-create it, past the plan and its check.
 * They count with the plan's own re-creates, against the same limits on the same base: the apply
 * makes no more in all than a plan the check lets through. With `recent`, those the service's
 * change-driven batches made within the window count first, so that a server losing accounts a few
 * at a time does not get each batch's allowance afresh. An overridden check leaves none.
 */
export function recreateAllowance(target: TargetPlan, safety: SafetyConfig, recent?: RecentChanges): number {
  const inPlan = plannedRecreates(target).length;
  const planned = inPlan + (recent?.recreates.get(target.target) ?? 0);
  const base = target.managedUsers + inPlan;
  let most = Math.max(safety.alwaysAllowRecreates, Math.floor((safety.maxRecreatePercent * base) / 100));
  // The same comparison as the check's, whatever the rounding above.
  while (most > planned && !recreatesPass(most, base, safety)) most--;
  while (recreatesPass(most + 1, base, safety) && most + 1 <= base) most++;
  return Math.max(0, most - planned);
}

/**
 * Too many of a target's group memberships removed at once: groups read empty (a member attribute
 * an ACL hides from the reading account, a group export cut short) would otherwise take everyone
 * out of every group the apps grant access by. The people stay; what they can reach goes. A group
 * deleted takes its members with it: they count too (a groups column read empty for everyone
 * deletes the groups rather than emptying them), against a base that holds them.
 */
function membershipRemovalViolations(target: TargetPlan, safety: SafetyConfig): string[] {
  let removed = 0;
  let withDeleted = 0;
  let deleted = 0;
  const groups = new Set<string>();
  for (const op of operationsOf(target)) {
    const n =
      op.kind === 'patchGroupMembers' ? op.remove.length : op.kind === 'replaceGroup' ? (op.remove?.length ?? 0) : op.kind === 'deleteGroup' ? (op.members ?? 0) : 0;
    if (n === 0) continue;
    removed += n;
    groups.add(op.label);
    if (op.kind === 'deleteGroup') {
      withDeleted += n;
      deleted++;
    }
  }
  const base = target.managedMemberships ?? 0;
  const share = base === 0 ? 100 : (removed / base) * 100;
  if (removed <= safety.alwaysAllowMembershipRemovals || share <= safety.maxMembershipRemovalPercent) return [];
  const named = [...groups].slice(0, 3).map((g) => clip(g)).join(', ');
  const byDeletes = withDeleted > 0 ? `, ${withDeleted} of them with the ${deleted} group${deleted === 1 ? '' : 's'} deleted` : '';
  return [
    `target ${target.target}: ${removed} of ${base} group memberships would be removed, from ${groups.size} group${groups.size === 1 ? '' : 's'} (${named}${groups.size > 3 ? ', ...' : ''})${byDeletes} ` +
      `(${share.toFixed(1)}%, limit ${safety.maxMembershipRemovalPercent}%)`,
  ];
}

/**
 * The people whose accounts this plan takes over (adopted by a matching rule, or linked to an
 * account that already matches): what it sets on them is not a change to anyone scim-sync managed,
 * their manager reference included (a first sync onto an app that has accounts sets every one).
 */
export function takenOver(target: TargetPlan): Set<string> {
  const keys = new Set<string>();
  for (const op of operationsOf(target)) if ((op.kind === 'updateUser' && op.adopt) || op.kind === 'linkUser') keys.add(op.externalId);
  return keys;
}

/**
 * One attribute changed or cleared on too many of a target's managed users at once: the mark of a
 * mapping typo or a broken export column, not of a reorganisation (which an override lets through).
 * With `recent`, the changes of the same path applied within the window count too: a typo's clears
 * arriving a few people per change-driven batch add up as one cycle's would. A plan that does not
 * change the path is not stopped by the window's count alone. The manager reference counts as the
 * attribute `manager` (a misspelt manager attribute clears everyone's); a reference set on an
 * account created or taken over in this plan changes nobody's.
 */
function attributeChangeViolations(target: TargetPlan, safety: SafetyConfig, recent?: RecentChanges): string[] {
  const byPath = new Map<string, { label: string; change: AttributeChange }[]>();
  const add = (label: string, change: AttributeChange): void => {
    let changes = byPath.get(change.path);
    if (!changes) byPath.set(change.path, (changes = []));
    changes.push({ label, change });
  };
  const adopted = takenOver(target);
  for (const op of operationsOf(target)) {
    if (op.kind === 'updateUser' && !op.adopt) for (const change of op.changes) add(op.label, change);
    else if (op.kind === 'setManager' && op.scimId !== undefined && !adopted.has(op.externalId)) add(op.label, { path: 'manager', from: op.from ?? null, to: op.managerLabel });
  }
  const reasons: string[] = [];
  const earlierOf = recent?.attributes.get(target.target);
  for (const [path, changes] of byPath) {
    const earlier = earlierOf?.get(path) ?? 0;
    const changed = changes.length + earlier;
    const share = target.managedUsers === 0 ? 100 : (changed / target.managedUsers) * 100;
    if (changed <= safety.alwaysAllowAttributeChanges || share <= safety.maxAttributeChangePercent) continue;
    const { label, change } = changes[0]!;
    const cleared = changes.filter((c) => c.change.to === null).length;
    const within = earlier > 0 ? ` (with ${earlier} already changed in ${recent!.window})` : '';
    reasons.push(
      `target ${target.target}: ${path} would change on ${changed} of ${target.managedUsers} managed users${within} ` +
        `(${share.toFixed(1)}%, limit ${safety.maxAttributeChangePercent}%${cleared > 0 ? `; ${cleared} cleared` : ''}), ` +
        `e.g. ${clip(label)}: ${clip(JSON.stringify(change.from))} -> ${clip(JSON.stringify(change.to))}`,
    );
  }
  return reasons;
}

/**
 * Too many of a target's managed groups deleted, or renamed, at once: a group export cut short reads
 * as groups gone, and a name attribute the groups do not have (misspelt, or hidden from the reading
 * account) as every group renamed, which breaks whatever an app grants by group name. Judged like
 * deprovisions, against the managed groups. A rename through a temporary name is one rename.
 */
function groupViolations(target: TargetPlan, safety: SafetyConfig): string[] {
  let deletes = 0;
  const renames: AttributeChange[] = [];
  for (const op of operationsOf(target)) {
    if (op.kind === 'deleteGroup') deletes++;
    else if (op.kind === 'updateGroup' && !op.adopt && !op.temporary) {
      const change = op.changes.find((c) => c.path === 'displayName');
      if (change) renames.push(change);
    }
  }
  const managedGroups = target.managedGroups ?? 0;
  const judged = (n: number): string | undefined => {
    const share = managedGroups === 0 ? 100 : (n / managedGroups) * 100;
    if (n <= safety.alwaysAllowDeactivations || share <= safety.maxDeactivatePercent) return undefined;
    return `(${share.toFixed(1)}%, limit ${safety.maxDeactivatePercent}%)`;
  };
  const reasons: string[] = [];
  const deleted = judged(deletes);
  if (deleted) reasons.push(`target ${target.target}: ${deletes} of ${managedGroups} managed groups would be deleted ${deleted}`);
  const renamed = judged(renames.length);
  if (renamed) {
    const change = renames[0]!;
    reasons.push(
      `target ${target.target}: ${renames.length} of ${managedGroups} managed groups would be renamed ${renamed}, ` +
        `e.g. ${clip(JSON.stringify(change.from))} -> ${clip(JSON.stringify(change.to))}`,
    );
  }
  return reasons;
}

/**
 * What a plan does to a target's users that the create check counts: accounts created (not those
 * created again for their links, which are the re-create check's), accounts re-activated, and
 * accounts taken over by a matching rule (which the check does not count, but which are not yet
 * among the managed ones the plan was read with).
 */
function accessGiven(target: TargetPlan): { created: number; reactivated: number; adopted: number; example?: string } {
  let created = 0;
  let reactivated = 0;
  let adopted = 0;
  let example: string | undefined;
  for (const op of operationsOf(target)) {
    if (op.kind === 'updateUser' && op.adopt) adopted++;
    if (op.kind === 'createUser' && op.unlistedLink === undefined) created++;
    else if (op.kind === 'updateUser' && op.changes.some((c) => c.path === 'active' && c.to === true)) reactivated++;
    else continue;
    example ??= op.label;
  }
  return { created, reactivated, adopted, ...(example !== undefined ? { example } : {}) };
}

/**
 * This plan begins a first sync of the target: it manages no users before it, and the plan gives
 * some their account. The engine records it before the first write (state/first-sync-store.ts),
 * so that a first sync cut short is still judged as one by the runs that complete it.
 */
export function beginsFirstSync(target: TargetPlan): boolean {
  if (target.error) return false;
  const { created, reactivated, adopted } = accessGiven(target);
  return target.managedUsers - adopted <= 0 && created + reactivated + adopted > 0;
}

/**
 * The plan gives nobody an account in the target (creates, re-activates and takes over none): the
 * create check judges it alike whether or not the target's first sync is unfinished, and a full
 * read that plans none says that first sync has nothing left to do.
 */
export function givesNoAccess(target: TargetPlan): boolean {
  return accountsGiven(target) === 0;
}

/** How many accounts the plan gives in the target: created, re-activated, taken over. */
export function accountsGiven(target: TargetPlan): number {
  const { created, reactivated, adopted } = accessGiven(target);
  return created + reactivated + adopted;
}

/**
 * Too many people given access at once: accounts created, and deactivated accounts re-activated,
 * against the target's managed accounts. A misspelt disabled-account attribute, a scope that lets
 * everyone in or an attribute the reading account may not see reads every leaver in the directory
 * as active. The base is the managed accounts before this plan (those it takes over are not yet):
 * a target with none, a first sync, is not judged; of one whose first sync the state says began and
 * has not completed (`firstSync`: cut short, its rest would otherwise read as a mass of creates
 * beside the few made before it stopped), its rest is not counted (what that first sync set out to
 * give, less what the target manages), and whatever goes beyond it is judged against the first
 * sync's size: a mass of leavers read as active during an unfinished first sync still stops the run.
 * Accounts created again for their links are the
 * re-create rule's. With `recent`, those created or re-activated within the window count too: a
 * source bringing its leavers back a few at a time is judged as one cycle bringing them all.
 */
function createViolations(target: TargetPlan, safety: SafetyConfig, recent?: RecentChanges): string[] {
  const { created, reactivated, adopted, example } = accessGiven(target);
  if (created + reactivated === 0) return [];
  const earlier = recent?.creates.get(target.target) ?? 0;
  const first = target.firstSync;
  const managed = target.managedUsers - adopted;
  const rest = first ? Math.max(0, first.accounts - Math.max(0, managed)) : 0;
  const base = first ? Math.max(managed, first.accounts) : managed;
  const n = created + reactivated + earlier - rest;
  if (base <= 0 || n <= safety.alwaysAllowCreates) return [];
  const share = (n / base) * 100;
  if (share <= safety.maxCreatePercent) return [];
  const what = reactivated === 0 ? 'created' : created === 0 ? 're-activated' : 'created or re-activated';
  const within = earlier > 0 ? ` (with ${earlier} already created or re-activated in ${recent!.window})` : '';
  return [
    `target ${target.target}: ${n} users would be ${what}${within} beside ${first ? `the ${base} accounts its unfinished first sync set out to give (its rest, ${rest}, not counted)` : `its ${base} managed users`} ` +
      `(${share.toFixed(1)}%, limit ${safety.maxCreatePercent}%${created > 0 && reactivated > 0 ? `; ${reactivated} re-activated` : ''}), e.g. ${clip(example!)}: ` +
      'leavers read as active (a misspelt disabled-account rule, a scope that lets everyone in, an attribute the reading account may not see)? If they are new, --override-safety once ' +
      '(the rest of a first sync cut short is new too: this version records a first sync until it completes, an earlier one did not)',
  ];
}

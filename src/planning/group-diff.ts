/**
 * The groups part of a target's plan: create, rename, adopt, link and delete groups, and the
 * membership diff as add/remove operations split to the target's per-request limit (or one PUT
 * per group where the target has no PATCH). Pure and linear: sets and maps built once.
 *
 * Contract:
 * - Only managed groups (linked, or carrying a source group's key as externalId) are changed or
 *   deleted; a group made by hand is adopted by displayName only when the config says so, and only
 *   one without an externalId that no other key's link names: a group is one key's at a time.
 * - A source key new but for case to a linked key gone from the source renames that key's group
 *   (same SCIM id, the old key's link superseded), as a groups column's "Eng" typed "ENG".
 * - Source groups whose names are equal but for case cannot both be in a target: all but one are
 *   held (neither created, changed nor deleted), with a warning naming both.
 * - A group's members in the target become exactly the source members (per the nesting mode) who
 *   are provisioned in that target; people held by the source (rejected rows) keep whatever
 *   membership they have.
 * - Members to add are named by source key (resolved when the operation runs); members to remove
 *   by the SCIM id the target listed.
 */
import type { GroupSettings } from '../config/schema/index.js';
import type { NameMatcher } from '../mapping/name-patterns.js';
import type { ResolvedMembership } from '../mapping/group-membership.js';
import type { CanonicalGroup } from '../model/canonical.js';
import type { Operation, UpdateGroupOp } from '../model/plan.js';
import { SCHEMA_GROUP, type JsonObject, type ServerResource } from '../model/scim.js';
import type { Link } from '../state/link-store.js';

export interface GroupDiffInput {
  groups: readonly CanonicalGroup[];
  membership: ResolvedMembership;
  select: NameMatcher;
  /** Users that will exist in the target after the users phase: key -> SCIM id, or null if created in this run. */
  provisioned: ReadonlyMap<string, string | null>;
  /** SCIM ids of accounts of held people (their memberships are left alone). */
  heldIds: ReadonlySet<string>;
  /** Keys the source holds (a group it could not read whole): such a group is neither deleted nor changed. */
  heldKeys?: ReadonlySet<string>;
  actual: readonly ServerResource[];
  links: ReadonlyMap<string, Link>;
  settings: GroupSettings;
  updateMethod: 'patch' | 'put';
  /** Prefix for operation ids, unique within the target plan. */
  idPrefix?: string;
}

export interface GroupDiffResult {
  groups: Operation[];
  /** Membership changes, after the renames that wait for a name another group gives up in the groups phase. */
  memberships: Operation[];
  deprovision: Operation[];
  managedGroups: number;
  /** Members of the managed groups as the target lists them (those to delete, or left, included). */
  managedMemberships: number;
  /** Managed groups gone from the source that it holds (heldKeys): left, not deleted. */
  held: { externalId: string; label: string; scimId: string }[];
  warnings: string[];
}

/** The SCIM ids under a group's `members` (as listed, or as planned). */
export function memberValues(group: JsonObject): string[] {
  const members = group['members'];
  if (!Array.isArray(members)) return [];
  const ids: string[] = [];
  for (const m of members) {
    if (m && typeof m === 'object' && !Array.isArray(m) && typeof m['value'] === 'string') ids.push(m['value']);
  }
  return ids;
}

export function diffGroups(input: GroupDiffInput): GroupDiffResult {
  const { settings, links, provisioned } = input;
  const result: GroupDiffResult = { groups: [], memberships: [], deprovision: [], managedGroups: 0, managedMemberships: 0, held: [], warnings: [] };
  if (!settings.enabled) return result;
  let seq = 0;
  const nextId = (p: string) => `${input.idPrefix ?? ''}${p}-${(++seq).toString(36)}`;

  const byId = new Map<string, ServerResource>();
  const byExternalId = new Map<string, ServerResource>();
  const byName = new Map<string, ServerResource>();
  for (const g of input.actual) {
    if (typeof g['id'] !== 'string') continue;
    byId.set(g['id'], g);
    if (typeof g['externalId'] === 'string') byExternalId.set(g['externalId'], g);
    if (typeof g['displayName'] === 'string') byName.set(g['displayName'].toLowerCase(), g);
  }
  const sourceKeys = new Set(input.groups.map((g) => g.key));
  const managedIds = new Set<string>();
  const selectedKeys = new Set<string>();
  /** Groups this diff gives to a source key (SCIM id -> key): no other key adopts, renames or deletes them. */
  const claimedBy = new Map<string, string>();
  const linkedKey = new Map<string, string>();
  for (const [key, link] of links) if (!linkedKey.has(link.id)) linkedKey.set(link.id, key);
  const accountOf = (key: string): ServerResource | undefined => {
    const link = links.get(key);
    return (link && byId.get(link.id)) ?? byExternalId.get(key);
  };
  // Linked groups of keys gone from the source, by key ignoring case: a groups column's key is the
  // name, so "Eng" typed "ENG" is the same group renamed, not one deleted and another created.
  const formerKeys = new Map<string, string>();
  for (const key of links.keys()) {
    if (!sourceKeys.has(key) && accountOf(key) && !formerKeys.has(key.toLowerCase())) formerKeys.set(key.toLowerCase(), key);
  }
  const clashing = sameNameClashes(input.groups.filter((g) => input.select(g.displayName)), (g) => accountOf(g.key) !== undefined);
  for (const { kept, held } of clashing.values()) {
    result.warnings.push(
      `groups "${kept.displayName}" (${kept.key}) and "${held.displayName}" (${held.key}) have the same name but for case, and a target holds one group per name: ` +
        `"${held.displayName}" (${held.key}) is left as it is (not created, changed or deleted) until one of them is renamed in the source.`,
    );
  }

  const membershipOps = (group: CanonicalGroup, scimId: string | undefined, current: readonly string[], label: string) => {
    result.managedMemberships += current.length;
    const wantKeys = [...(input.membership.members.get(group.key) ?? [])].filter((k) => provisioned.has(k));
    const wantIds = new Set<string>();
    const add: string[] = [];
    for (const key of wantKeys) {
      const id = provisioned.get(key);
      if (id) wantIds.add(id);
    }
    const currentSet = new Set(current);
    for (const key of wantKeys) {
      const id = provisioned.get(key);
      if (!id || !currentSet.has(id)) add.push(key);
    }
    // A held person keeps the memberships the source no longer shows, as their account is kept.
    const remove = current.filter((id) => !wantIds.has(id) && !input.heldIds.has(id));
    if (input.updateMethod === 'put') {
      if (add.length === 0 && remove.length === 0) return;
      const keep = current.filter((id) => !wantIds.has(id) && input.heldIds.has(id));
      result.memberships.push({
        id: nextId('gm'),
        kind: 'replaceGroup',
        externalId: group.key,
        label,
        ...(scimId ? { scimId } : {}),
        resource: { schemas: [SCHEMA_GROUP], externalId: group.key, displayName: group.displayName },
        memberKeys: wantKeys,
        ...(keep.length > 0 ? { keep } : {}),
        ...(remove.length > 0 ? { remove } : {}),
      });
      return;
    }
    const limit = settings.maxMembersPerPatch;
    for (let a = 0, r = 0; a < add.length || r < remove.length; ) {
      const takeRemove = remove.slice(r, r + limit);
      const takeAdd = add.slice(a, a + (limit - takeRemove.length));
      r += takeRemove.length;
      a += takeAdd.length;
      result.memberships.push({
        id: nextId('gm'),
        kind: 'patchGroupMembers',
        externalId: group.key,
        label,
        ...(scimId ? { scimId } : {}),
        add: takeAdd,
        remove: takeRemove,
      });
    }
  };

  for (const group of input.groups) {
    if (!input.select(group.displayName)) continue;
    selectedKeys.add(group.key);
    if (clashing.has(group.key)) {
      const held = accountOf(group.key);
      if (held && !claimedBy.has(held.id)) {
        claimedBy.set(held.id, group.key);
        managedIds.add(held.id);
        result.managedMemberships += memberValues(held).length;
      }
      continue;
    }
    const link = links.get(group.key);
    let account = accountOf(group.key);
    let adopting = false;
    let supersedes: string | undefined;
    if (!account) {
      const former = formerKeys.get(group.key.toLowerCase());
      const renamed = former !== undefined ? accountOf(former) : undefined;
      if (former !== undefined && renamed && !claimedBy.has(renamed.id)) {
        account = renamed;
        supersedes = former;
      }
    }
    if (!account) {
      const named = byName.get(group.displayName.toLowerCase());
      // Another key's group (linked to it, or carrying another externalId) is never taken over: two
      // keys on one group would take it from each other every cycle.
      const owner = named ? (claimedBy.get(named.id) ?? linkedKey.get(named.id) ?? (typeof named['externalId'] === 'string' && named['externalId'] !== '' ? named['externalId'] : undefined)) : undefined;
      if (named && owner === undefined && settings.adopt === 'displayName') {
        account = named;
        adopting = true;
      } else if (named) {
        result.warnings.push(nameTaken(group, named, owner, owner !== undefined && (claimedBy.has(named.id) || linkedKey.has(named.id) || sourceKeys.has(owner))));
        continue;
      }
    }
    if (!account) {
      result.groups.push({
        id: nextId('gc'),
        kind: 'createGroup',
        externalId: group.key,
        label: group.displayName,
        resource: { schemas: [SCHEMA_GROUP], externalId: group.key, displayName: group.displayName, members: [] },
      });
      membershipOps(group, undefined, [], group.displayName);
      continue;
    }
    const scimId = account.id;
    managedIds.add(scimId);
    claimedBy.set(scimId, group.key);
    const changes = [];
    if (account['displayName'] !== group.displayName) changes.push({ path: 'displayName', from: account['displayName'] ?? null, to: group.displayName });
    if (account['externalId'] !== group.key) changes.push({ path: 'externalId', from: account['externalId'] ?? null, to: group.key });
    if (changes.length > 0) {
      result.groups.push({
        id: nextId('gu'),
        kind: 'updateGroup',
        externalId: group.key,
        label: group.displayName,
        scimId,
        changes,
        patch: changes.map((c) => ({ op: 'replace' as const, path: c.path, value: c.to })),
        ...(adopting ? { adopt: true } : {}),
        ...(supersedes !== undefined ? { supersedes } : {}),
      });
    } else if (link?.id !== scimId) {
      result.groups.push({ id: nextId('gl'), kind: 'linkGroup', externalId: group.key, label: group.displayName, scimId });
    }
    membershipOps(group, scimId, memberValues(account), group.displayName);
  }

  const renames = throughTemporaryNames(result.groups, byName, nextId);
  result.groups = renames.groups;
  result.memberships.unshift(...renames.later);

  // Managed groups the source no longer has, or that left the selection.
  const considered = new Set<string>();
  const retire = (key: string, account: ServerResource) => {
    const id = account.id;
    if (considered.has(id) || selectedKeys.has(key) || claimedBy.has(id)) return;
    considered.add(id);
    managedIds.add(id);
    const members = memberValues(account).length;
    result.managedMemberships += members;
    if (settings.deprovision !== 'delete') return;
    const label = typeof account['displayName'] === 'string' ? account['displayName'] : key;
    if (input.heldKeys?.has(key)) {
      result.held.push({ externalId: key, label, scimId: id });
      return;
    }
    // Its members go with it: the safety check counts them as removals (a groups column read empty
    // deletes every group, which no membership change would show).
    result.deprovision.push({ id: nextId('gd'), kind: 'deleteGroup', externalId: key, label, scimId: id, reason: sourceKeys.has(key) ? 'not-selected' : 'removed', members });
  };
  for (const [key, link] of links) {
    const account = byId.get(link.id) ?? byExternalId.get(key);
    if (account) retire(key, account);
  }
  for (const [externalId, account] of byExternalId) if (sourceKeys.has(externalId)) retire(externalId, account);

  result.managedGroups = managedIds.size;
  const nesting = settings.nested === 'direct' ? nestingWarning(input.groups, selectedKeys) : null;
  if (nesting) result.warnings.push(nesting);
  return result;
}

/** Appended to a group's new name while it waits to take it (a name another managed group gives up in the same apply). */
export const RENAMING_SUFFIX = ' (renaming)';

/**
 * Renames whose new name another renamed group holds now (two groups swapping names, or a chain):
 * sent together, each waits for a name the other has not given up yet, and all fail, every cycle.
 * So the groups phase keeps the renames whose new name is free (of the renamed groups: one held by
 * a group that is not renamed fails as it would anyway), and moves each other group whose name
 * another one wants to a temporary name ("beta (renaming)", free in the listing); the renames left
 * are done in the memberships phase, which starts once the groups phase has ended, when every name
 * they want has been given up. Names compare ignoring case, as the servers do.
 *
 * Returns the groups phase's operations, with the temporary renames in place of those put off, and
 * the renames put off (each still the whole rename, from the name listed, for the safety check).
 */
function throughTemporaryNames(ops: readonly Operation[], byName: ReadonlyMap<string, ServerResource>, nextId: (p: string) => string): { groups: Operation[]; later: UpdateGroupOp[] } {
  const renamed = new Map<string, UpdateGroupOp>();
  for (const op of ops) if (op.kind === 'updateGroup' && op.changes.some((c) => c.path === 'displayName')) renamed.set(op.scimId, op);
  const holderOf = (op: UpdateGroupOp): ServerResource | undefined => {
    const to = op.changes.find((c) => c.path === 'displayName')!.to;
    const holder = typeof to === 'string' ? byName.get(to.toLowerCase()) : undefined;
    return holder && holder.id !== op.scimId && renamed.has(holder.id) ? holder : undefined;
  };
  const waiting = new Set<string>();
  const wanted = new Set<string>();
  for (const op of renamed.values()) {
    const holder = holderOf(op);
    if (!holder) continue;
    waiting.add(op.scimId);
    wanted.add(holder.id);
  }
  if (waiting.size === 0) return { groups: [...ops], later: [] };
  const taken = new Set(byName.keys());
  const groups: Operation[] = [];
  const later: UpdateGroupOp[] = [];
  for (const op of ops) {
    if (op.kind !== 'updateGroup' || !waiting.has(op.scimId)) {
      groups.push(op);
      continue;
    }
    later.push(op);
    if (!wanted.has(op.scimId)) continue;
    const change = op.changes.find((c) => c.path === 'displayName')!;
    let temporary = `${String(change.to)}${RENAMING_SUFFIX}`;
    for (let n = 2; taken.has(temporary.toLowerCase()); n++) temporary = `${String(change.to)}${RENAMING_SUFFIX.slice(0, -1)} ${n})`;
    taken.add(temporary.toLowerCase());
    groups.push({
      id: nextId('gu'),
      kind: 'updateGroup',
      externalId: op.externalId,
      label: op.label,
      scimId: op.scimId,
      changes: [{ path: 'displayName', from: change.from, to: temporary }],
      patch: [{ op: 'replace', path: 'displayName', value: temporary }],
      temporary: true,
    });
  }
  return { groups, later };
}

/**
 * Source groups whose names are equal but for case: a target holds one group per name (SCIM
 * servers compare displayName ignoring case), so all but one are held, by key. The one kept does
 * not depend on row order: a group that has its managed group already, else the first key.
 */
function sameNameClashes(groups: readonly CanonicalGroup[], managed: (g: CanonicalGroup) => boolean): Map<string, { kept: CanonicalGroup; held: CanonicalGroup }> {
  const byName = new Map<string, CanonicalGroup[]>();
  for (const g of groups) {
    const name = g.displayName.toLowerCase();
    const same = byName.get(name);
    if (same) same.push(g);
    else byName.set(name, [g]);
  }
  const held = new Map<string, { kept: CanonicalGroup; held: CanonicalGroup }>();
  for (const same of byName.values()) {
    if (same.length < 2) continue;
    const [kept, ...rest] = same
      .map((g) => ({ g, rank: managed(g) ? 0 : 1 }))
      .sort((a, b) => a.rank - b.rank || (a.g.key < b.g.key ? -1 : a.g.key > b.g.key ? 1 : 0))
      .map(({ g }) => g);
    for (const g of rest) held.set(g.key, { kept: kept!, held: g });
  }
  return held;
}

/** Why a source group is not created: the target has a group of its name that this diff may not take. */
function nameTaken(group: CanonicalGroup, named: ServerResource, owner: string | undefined, ours: boolean): string {
  const what = `group "${group.displayName}" (${group.key})`;
  const id = String(named['id']);
  if (ours) {
    return `${what} is not created: the target's group of that name (id ${id}) is the one scim-sync manages for the source group ${owner}; left alone (a target holds one group per name).`;
  }
  if (owner !== undefined) {
    return (
      `${what} exists in the target as a group scim-sync does not manage (id ${id}, externalId "${owner}", no key of this source); left alone. ` +
      'groups.adopt: displayName takes over only groups without an externalId: rename or remove that group in the app, or clear its externalId.'
    );
  }
  return `${what} exists in the target as a group scim-sync does not manage (id ${id}); left alone. Set groups.adopt: displayName on this target to take it over.`;
}

const SHOWN_NESTINGS = 5;

/**
 * With `nested: direct` a group gets its direct members only: a group inside a group is not carried
 * (the target never sees it as a member, nor its people). One warning per target, naming the groups.
 */
function nestingWarning(groups: readonly CanonicalGroup[], selectedKeys: ReadonlySet<string>): string | null {
  const nameOf = new Map(groups.map((g) => [g.key, g.displayName]));
  const nesting = groups.flatMap((g) => {
    if (!selectedKeys.has(g.key)) return [];
    const inner = (g.groupKeys ?? []).filter((k) => nameOf.has(k));
    return inner.length > 0 ? [{ group: g, inner }] : [];
  });
  if (nesting.length === 0) return null;
  const shown = nesting.slice(0, SHOWN_NESTINGS).map(({ group, inner }) => {
    const names = inner.slice(0, SHOWN_NESTINGS).map((k) => `"${nameOf.get(k) ?? k}"`);
    const more = inner.length > SHOWN_NESTINGS ? ` and ${inner.length - SHOWN_NESTINGS} more` : '';
    return `"${group.displayName}" holds ${names.join(', ')}${more}`;
  });
  const more = nesting.length > SHOWN_NESTINGS ? `; and ${nesting.length - SHOWN_NESTINGS} more groups` : '';
  const count = nesting.length === 1 ? '1 group holds' : `${nesting.length} groups hold`;
  return (
    `${count} nested groups that groups.nested: direct cannot represent (their members are not given to the outer group): ` +
    `${shown.join('; ')}${more}. Set groups.nested: flatten on this target to give each group the members of the groups inside it.`
  );
}

/** The body of a group PUT: the planned resource with members resolved to SCIM ids. */
export function groupPutBody(resource: JsonObject, memberIds: readonly string[]): JsonObject {
  return { ...resource, members: memberIds.map((value) => ({ value })) };
}

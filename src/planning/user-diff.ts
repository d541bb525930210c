/**
 * The users part of a target's plan: who to create, update, link and deprovision. Pure and linear:
 * every lookup goes through a map built once (by SCIM id, externalId, userName, email).
 *
 * Contract:
 * - Only managed accounts are ever updated or deprovisioned: linked in the link store, or carrying
 *   the externalId of a person in the source. Other accounts are left alone, unless `adopt` names
 *   the attribute by which a source person may take one over.
 * - People whose source record was rejected (held keys) get no operation at all.
 */
import type { TargetSettings } from './target-settings.js';
import { desiredHash } from './desired-hash.js';
import { buildPatch, buildPut, diffUser, isActive, type UserDiff } from './user-changes.js';
import { buildUserResource, desiredWorkEmail, mapUser, type DesiredUser, type UserMapping } from '../mapping/user-mapping.js';
import type { ScopePredicate } from '../mapping/scope.js';
import type { CanonicalUser, DirectorySnapshot } from '../model/canonical.js';
import type { DeprovisionUserOp, MatchedBy, Operation, ParkedChange, UpdateUserOp } from '../model/plan.js';
import { attributeParkKey, type ParkedChanges } from './parked.js';
import { isExhausted, UniqueValues } from './unique-values.js';
import { versionOf, type JsonObject, type ServerResource } from '../model/scim.js';
import type { Link } from '../state/link-store.js';

export interface UserDiffInput {
  snapshot: DirectorySnapshot;
  mapping: UserMapping;
  inScope: ScopePredicate;
  /** Every user account the target holds. */
  actual: readonly ServerResource[];
  /** The target's user links, by externalId. */
  links: ReadonlyMap<string, Link>;
  settings: TargetSettings;
  /** User key -> names of the groups they are in, for role and entitlement rules. */
  memberOf?: ReadonlyMap<string, ReadonlySet<string>>;
  /** Fill `provisioned` (needed by the group and manager diffs, a cost otherwise). */
  collectProvisioned?: boolean;
  /** Source keys held off by an emergency deprovision: treated as out of scope, never re-activated. */
  heldOff?: ReadonlySet<string>;
  /** Parked changes (parked.ts): an attribute change parked with this value is left out of the update. */
  parked?: ParkedChanges;
}

/** A person who will have an account in the target once the users phase ran. */
export interface Provisioned {
  /** The account as listed, or null when it is created in this run. */
  account: ServerResource | null;
  label: string;
}

export interface UserDiffResult {
  users: Operation[];
  deprovision: Operation[];
  managedUsers: number;
  warnings: string[];
  /** By source key, in source order. */
  provisioned: Map<string, Provisioned>;
  /** SCIM ids of the accounts of held people. */
  heldIds: Set<string>;
  /** Attribute changes left out because they are parked. */
  parked: ParkedChange[];
}

function workEmail(resource: JsonObject): string | null {
  const emails = resource['emails'];
  if (!Array.isArray(emails)) return null;
  const objs = emails.filter((e): e is JsonObject => !!e && typeof e === 'object' && !Array.isArray(e));
  const pick = objs.find((e) => String(e['type'] ?? '').toLowerCase() === 'work') ?? objs.find((e) => e['primary'] === true) ?? objs[0];
  return typeof pick?.['value'] === 'string' ? pick['value'].toLowerCase() : null;
}

/**
 * Lookups over the target's accounts. Only the id map is built up front: in a steady-state cycle
 * every person is linked, and the other maps (by externalId, userName, email) are needed only for
 * people without a link, so they are built on first use.
 */
class AccountIndex {
  readonly byId = new Map<string, ServerResource>();
  private externalIds?: Map<string, ServerResource>;
  private userNames?: Map<string, ServerResource>;
  private emails?: Map<string, ServerResource>;

  constructor(private readonly actual: readonly ServerResource[]) {
    for (const r of actual) if (typeof r['id'] === 'string') this.byId.set(r['id'], r);
  }

  private build(key: (r: ServerResource) => string | null): Map<string, ServerResource> {
    const map = new Map<string, ServerResource>();
    for (const r of this.byId.values()) {
      const k = key(r);
      if (k !== null) map.set(k, r);
    }
    return map;
  }

  byExternalId(key: string): ServerResource | undefined {
    this.externalIds ??= this.build((r) => (typeof r['externalId'] === 'string' ? r['externalId'] : null));
    return this.externalIds.get(key);
  }

  byUserName(userName: string): ServerResource | undefined {
    this.userNames ??= this.build((r) => (typeof r['userName'] === 'string' ? r['userName'].toLowerCase() : null));
    return this.userNames.get(userName.toLowerCase());
  }

  byEmail(email: string): ServerResource | undefined {
    this.emails ??= this.build(workEmail);
    return this.emails.get(email.toLowerCase());
  }

  get size(): number {
    return this.actual.length;
  }
}

export function diffUsers(input: UserDiffInput): UserDiffResult {
  const { snapshot, mapping, inScope, links, settings } = input;
  const accounts = new AccountIndex(input.actual);
  const unique = new UniqueValues(mapping, input.actual);
  const held = new Set(snapshot.heldKeys);
  const users: Operation[] = [];
  const deprovision: Operation[] = [];
  const warnings: string[] = [];
  const managedIds = new Set<string>();
  const sourceKeys = new Set<string>();
  const provisioned = new Map<string, Provisioned>();
  const provision = input.collectProvisioned ? (key: string, p: Provisioned) => provisioned.set(key, p) : () => undefined;
  const heldIds = new Set<string>();
  const parkedOut: ParkedChange[] = [];
  let seq = 0;
  const nextId = (prefix: string) => `${prefix}-${(++seq).toString(36)}`;

  /** The version an op was planned on, so a concurrent change answers 412 instead of being overwritten. */
  const versioned = (account: ServerResource): { version?: string } => {
    const version = settings.useEtags ? versionOf(account) : undefined;
    return version ? { version } : {};
  };

  /** Found through its link, or through our externalId on it. */
  const matchOf = (account: ServerResource, link: Link | undefined): MatchedBy => (link?.id === account.id ? 'link' : 'externalId');

  const deprovisionOp = (account: ServerResource, key: string, label: string, reason: DeprovisionUserOp['reason'], matchedBy?: MatchedBy): DeprovisionUserOp => {
    const scimId = account.id;
    const base = { id: nextId('d'), kind: 'deprovisionUser' as const, externalId: key, label, scimId, reason, mode: settings.deprovision, ...versioned(account), ...(matchedBy ? { matchedBy } : {}) };
    if (settings.deprovision === 'delete') return base;
    if (settings.updateMethod === 'patch') return { ...base, patch: [{ op: 'replace', path: 'active', value: false }] };
    const resource = structuredClone(account) as JsonObject;
    delete resource['meta'];
    resource['active'] = false;
    return { ...base, resource };
  };

  for (const user of snapshot.users) {
    sourceKeys.add(user.key);
    const link = links.get(user.key);
    const account = (link && accounts.byId.get(link.id)) ?? accounts.byExternalId(user.key);
    if (account) managedIds.add(account.id);
    if (held.has(user.key)) {
      if (account) heldIds.add(account.id);
      continue;
    }
    const desired = mapUser(mapping, user, input.memberOf?.get(user.key));
    const heldOff = input.heldOff?.has(user.key) === true;
    const wanted = user.active && inScope(user) && !heldOff;
    if (!wanted) {
      if (account && isActive(account) && settings.operations.deactivate) {
        const reason = !user.active ? 'inactive' : heldOff ? 'held-off' : 'out-of-scope';
        deprovision.push(deprovisionOp(account, user.key, desired.userName || user.key, reason, matchOf(account, link)));
      }
      continue;
    }
    if (desired.userName === '') {
      warnings.push(`${describeRef(user)}: no userName for ${user.key}; skipped`);
      continue;
    }
    planWanted(user, desired, account, link);
  }

  function updateOp(user: CanonicalUser, desired: DesiredUser, account: ServerResource, diff: UserDiff, adopt: boolean, matchedBy: MatchedBy): UpdateUserOp {
    return {
      id: nextId('u'),
      kind: 'updateUser',
      externalId: user.key,
      label: desired.userName,
      scimId: account.id,
      changes: diff.changes,
      ...(settings.updateMethod === 'patch'
        ? { patch: buildPatch(mapping, desired, account, diff) }
        : { resource: buildPut(mapping, desired, account, true) }),
      hash: desiredHash(desired, true),
      ...(adopt ? { adopt: true } : {}),
      recreate: buildUserResource(mapping, desired, true),
      ...versioned(account),
      matchedBy,
    };
  }

  /** The diff without its parked attribute changes (listed in `parkedOut`). */
  function unparked(key: string, label: string, diff: UserDiff): UserDiff {
    const parked = input.parked;
    if (!parked?.size || diff.changes.length === 0) return diff;
    const dropped = new Set<string>();
    for (const change of diff.changes) {
      const entry = parked.get(attributeParkKey(key, change));
      if (!entry) continue;
      dropped.add(change.path);
      parkedOut.push({ ...entry, label });
    }
    if (dropped.size === 0) return diff;
    return { changes: diff.changes.filter((c) => !dropped.has(c.path)), changedRules: diff.changedRules.filter((r) => !dropped.has(r.path.key)) };
  }

  function planWanted(user: CanonicalUser, mapped: DesiredUser, account: ServerResource | undefined, link: Link | undefined): void {
    if (account) {
      const desired = unique.settle(user, mapped, account) as DesiredUser;
      const scimId = account.id;
      provision(user.key, { account, label: desired.userName });
      const diff = unparked(user.key, desired.userName, diffUser(mapping, desired, account, true));
      if (diff.changes.length > 0 && settings.operations.update) {
        users.push(updateOp(user, desired, account, diff, false, matchOf(account, link)));
      } else if (link?.id !== scimId) {
        // Hashed only here, for users that get an operation: most users in a cycle get none.
        users.push({ id: nextId('l'), kind: 'linkUser', externalId: user.key, label: desired.userName, scimId, hash: desiredHash(desired, true), matchedBy: 'externalId' });
      }
      return;
    }
    // Matched by what the mapping gives (a SelectUniqueValue rule: its first candidate).
    const byName = accounts.byUserName(mapped.userName);
    const email = desiredWorkEmail(mapping, mapped);
    const byMail = settings.adopt === 'email' && typeof email === 'string' ? accounts.byEmail(email) : undefined;
    const adoptable = settings.adopt === 'userName' ? byName : settings.adopt === 'email' ? byMail : undefined;
    if (adoptable && !managedIds.has(adoptable.id) && !isForeignlyKeyed(adoptable)) {
      const desired = unique.settle(user, mapped, adoptable) as DesiredUser;
      managedIds.add(adoptable.id);
      provision(user.key, { account: adoptable, label: desired.userName });
      const diff = unparked(user.key, desired.userName, diffUser(mapping, desired, adoptable, true));
      users.push(updateOp(user, desired, adoptable, diff, true, settings.adopt === 'email' ? 'email' : 'userName'));
      return;
    }
    // A userName picked by SelectUniqueValue steps past an account that holds it; any other is a conflict.
    if (byName && !unique.picks('userName')) {
      warnings.push(
        `userName "${mapped.userName}" (${user.key}) belongs to an account scim-sync does not manage (id ${String(byName['id'])}); ` +
          `left alone. Set adopt: userName on this target to take it over.`,
      );
      return;
    }
    if (!settings.operations.create) return;
    const desired = unique.settle(user, mapped, null);
    if (isExhausted(desired)) {
      warnings.push(`${describeRef(user)}: ${user.key} is not created: every candidate for ${desired.path} is taken in the target (${desired.candidates.join(', ')})`);
      return;
    }
    provision(user.key, { account: null, label: desired.userName });
    users.push({
      id: nextId('c'),
      kind: 'createUser',
      externalId: user.key,
      label: desired.userName,
      resource: buildUserResource(mapping, desired, true),
      hash: desiredHash(desired, true),
      adoptBy: settings.adopt === 'none' ? null : settings.adopt,
    });
  }

  /** An account keyed to some other identity (another tool's, or a stale source key) is not ours to take. */
  function isForeignlyKeyed(account: ServerResource): boolean {
    const ext = account['externalId'];
    return typeof ext === 'string' && ext !== '' && !sourceKeys.has(ext) && !links.has(ext);
  }

  // People gone from the source: only the link store (or our externalId) remembers them.
  let unlistedOfEmpty = 0;
  for (const [key, link] of links) {
    if (sourceKeys.has(key) || held.has(key)) continue;
    const account = accounts.byId.get(link.id) ?? accounts.byExternalId(key);
    if (account) {
      managedIds.add(account.id);
      if (isActive(account) && settings.operations.deactivate) {
        const label = typeof account['userName'] === 'string' ? account['userName'] : key;
        deprovision.push(deprovisionOp(account, key, label, 'removed', matchOf(account, link)));
      }
    } else if (accounts.size === 0) {
      unlistedOfEmpty++;
    } else if (settings.operations.deactivate && settings.updateMethod === 'patch') {
      // Linked but not listed: usually deleted by hand, rarely hidden by a server whose listing is
      // incomplete. A leaver must not keep access because a list page was wrong, so the executor
      // reads the account by id and deactivates it only if it is there and active; a 404 drops the
      // link. (Without PATCH there is no body to PUT.)
      deprovision.push({ ...deprovisionOp({ schemas: [], id: link.id }, key, key, 'removed', 'link'), unlisted: true });
    }
  }
  if (unlistedOfEmpty > 0 && settings.operations.deactivate) {
    // An empty listing is as likely a server fault as an emptied app: nobody is read by id and
    // deactivated on its word; a run against a listing that shows accounts does it.
    warnings.push(
      `the target lists no account, though ${unlistedOfEmpty} linked ${unlistedOfEmpty === 1 ? 'person has' : 'people have'} left the source: not deprovisioned this run`,
    );
  }

  for (const key of held) {
    const link = links.get(key);
    if (link) heldIds.add(link.id);
  }
  return { users, deprovision, managedUsers: managedIds.size, warnings, provisioned, heldIds, parked: parkedOut };
}

function describeRef(user: CanonicalUser): string {
  return user.ref.line ? `${user.ref.location}:${user.ref.line}` : user.ref.location;
}

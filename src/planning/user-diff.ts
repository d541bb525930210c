/**
 * The users part of a target's plan: who to create, update, link and deprovision. Pure and linear:
 * every lookup goes through a map built once (by SCIM id, externalId, a matching attribute).
 *
 * Contract:
 * - Only managed accounts are ever updated or deprovisioned: linked in the link store, or carrying
 *   the externalId of a person in the source. Other accounts are left alone, unless the matching
 *   rules (match-rules.ts) let the attribute that found one adopt it.
 * - A value that finds two or more accounts (two carrying one externalId, two with one userName)
 *   is ambiguous: reported, and neither account nor the person gets an operation, but for a
 *   leaver: every account carrying their externalId is theirs, and each is deprovisioned.
 * - Accounts carrying a linked person's externalId besides the one their link names are managed
 *   too: reported on every plan while the person is in scope (never updated), and deprovisioned
 *   with the person when they leave the source or the target's scope.
 * - People whose source record was rejected (held keys) get no operation at all, nor do people
 *   for whom a mapping rule failed (RuleFailed): they are held, with a warning, and listed in
 *   `heldKeys`. A leaver is deprovisioned all the same: that needs no mapped value.
 * - People a joined read found only partly (partial keys) have no value of their account cleared,
 *   and are not deprovisioned for being out of scope: what the missing source would give is unknown.
 */
import { foldUserName } from '../model/user-name.js';
import type { TargetSettings } from './target-settings.js';
import { desiredHash } from './desired-hash.js';
import { buildPatch, buildPut, diffUser, isActive, type UserDiff } from './user-changes.js';
import { buildUserResource, desiredValue, desiredWorkEmail, mapUserOrFailure, RuleFailed, type DesiredUser, type UserMapping } from '../mapping/user-mapping.js';
import type { ScopePredicate } from '../mapping/scope.js';
import { describeSourceRef, type CanonicalUser, type DirectorySnapshot } from '../model/canonical.js';
import type { DeprovisionUserOp, LinkUserOp, MatchedBy, Operation, ParkedChange, UpdateUserOp } from '../model/plan.js';
import { attributeParkKey, type ParkedChanges } from './parked.js';
import { keepingAccountValues } from './partial-values.js';
import { isExhausted, UniqueValues } from './unique-values.js';
import { AccountIndex } from './account-index.js';
import { adoptByOf, matchRules, WORK_EMAIL } from './match-rules.js';
import { versionOf, type JsonObject, type ServerResource } from '../model/scim.js';
import type { Link } from '../state/link-store.js';
import type { SettledPeople } from './settled-accounts.js';
import { mapKept } from '../model/joined-lists.js';

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
  /**
   * People settled while the listing was read (settled-accounts.ts), by source key, with their
   * userName: their linked account holds what they should have, so they get no operation.
   */
  settled?: SettledPeople;
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
  /** Source keys of the people held by this diff (not the source's held keys): references to them stay. */
  heldKeys: Set<string>;
  /** Attribute changes left out because they are parked. */
  parked: ParkedChange[];
  /** The target's accounts by SCIM id (built once here; preconditions look up the same accounts). */
  accountsById: () => ReadonlyMap<string, ServerResource>;
}

const NO_SETTLED: SettledPeople = { users: [], size: 0, at: () => undefined, has: () => false, keys: () => [] };
const NO_LINKS: ReadonlyMap<string, Link> = new Map();
const NONE: readonly ServerResource[] = Object.freeze([]);

/**
 * A person's accounts in the target: `account`, theirs by link or by our externalId on it, and
 * `others`: with `account`, the other accounts carrying their key (a link names theirs); without
 * it, the two or more accounts carrying their key, of which no link says which is theirs.
 */
interface Found {
  account: ServerResource | undefined;
  others: readonly ServerResource[];
}

export function diffUsers(input: UserDiffInput): UserDiffResult {
  const { snapshot, mapping, inScope, links, settings } = input;
  const accounts = new AccountIndex(input.actual);
  const unique = new UniqueValues(mapping, input.actual);
  const held = new Set(snapshot.heldKeys);
  const partial = new Set(snapshot.partialKeys ?? []);
  const users: Operation[] = [];
  const deprovision: Operation[] = [];
  const warnings: string[] = [];
  const managedIds = new Set<string>();
  const sourceKeys = new Set<string>();
  let snapshotKeys: Set<string> | undefined;
  const provisioned = new Map<string, Provisioned>();
  const provision = input.collectProvisioned ? (key: string, p: Provisioned) => provisioned.set(key, p) : () => undefined;
  const heldIds = new Set<string>();
  /** Accounts a person new in the source would match but may not take, by id: whom, and on what. */
  const claimed = new Map<string, { key: string; what: string }>();
  const heldKeys = new Set<string>();
  /** userNames (lower case) of the creates planned so far -> whose. */
  const creating = new Map<string, string>();
  const parkedOut: ParkedChange[] = [];
  let seq = 0;
  const nextId = (prefix: string) => `${prefix}-${(++seq).toString(36)}`;

  /** The version an op was planned on, so a concurrent change answers 412 instead of being overwritten. */
  const versioned = (account: ServerResource): { version?: string } => {
    const version = settings.useEtags ? versionOf(account) : undefined;
    return version ? { version } : {};
  };

  /** Holds one person this run, saying why: no operation, and their accounts keep their memberships. */
  const hold = (user: CanonicalUser, found: Found, why: string): void => {
    warnings.push(`${describeRef(user)}: ${user.key} is held: ${why}; neither created, updated nor deprovisioned this run`);
    heldKeys.add(user.key);
    keep(found);
  };
  /** The person's accounts keep their memberships (heldIds). */
  const keep = (found: Found): void => {
    if (found.account) heldIds.add(found.account.id);
    for (const a of found.others) heldIds.add(a.id);
  };

  /** Keys of everyone in this read; made on first use (a link to another person's account is rare). */
  let readKeySet: Set<string> | undefined;
  const readKeys = (): Set<string> => (readKeySet ??= new Set(snapshot.users.map((u) => u.key)));

  /** Found through its link, or through our externalId on it. */
  const matchOf = (account: ServerResource, link: Link | undefined): MatchedBy => (link?.id === account.id ? 'link' : 'externalId');

  const rules = matchRules(settings);
  /** SCIM ids of linked accounts: only asked about accounts found by a matching rule, so built on first use. */
  let linkedIdSet: Set<string> | undefined;
  const isLinked = (id: string): boolean => {
    if (!linkedIdSet) {
      linkedIdSet = new Set<string>();
      for (const l of links.values()) linkedIdSet.add(l.id);
    }
    return linkedIdSet.has(id);
  };

  /**
   * Accounts carrying a linked person's key that are not the account the link names, by key: made
   * by hand (an admin copying the key onto a second account) or by another tool. Ours by the key,
   * so never left active after the person leaves. One pass over the listing; most cycles find none.
   */
  const strays = new Map<string, ServerResource[]>();
  if (links.size > 0) {
    for (const a of input.actual) {
      const ext = a['externalId'];
      if (typeof ext !== 'string' || ext === '') continue;
      const linkId = links.get(ext)?.id;
      if (linkId === undefined || linkId === a.id) continue;
      const list = strays.get(ext);
      if (list) list.push(a);
      else strays.set(ext, [a]);
    }
  }

  /**
   * The account of a person by link, else by our externalId on it, and the other accounts carrying
   * their key (see Found).
   */
  const accountOf = (key: string, link: Link | undefined): Found => {
    const linked = link && accounts.byId.get(link.id);
    if (linked) {
      // A link to an account that carries another person's key (a state copied, restored or edited
      // by hand): through it, one person's data or deactivation would land on the other's account.
      // Not used: the person's account is the one with their key, as for a link to no listed account.
      const keyedTo = linked['externalId'];
      if (typeof keyedTo !== 'string' || keyedTo === '' || keyedTo === key || !readKeys().has(keyedTo)) return { account: linked, others: strays.get(key) ?? NONE };
      warnings.push(`${key}: its link names account ${linked.id}, which carries the externalId of ${keyedTo}, also in the source: the link is not used (a stale, copied or edited state?)`);
    }
    const keyed = accounts.withExternalId(key);
    if (keyed.length <= 1) return { account: keyed[0], others: NONE };
    return { account: undefined, others: keyed };
  };

  /** No link says which of two or more accounts carrying the key is the person's: reported, and kept as they are (held). */
  const ambiguous = (key: string, found: Found): void => {
    warnings.push(`externalId "${key}" is carried by ${found.others.length} accounts (ids ${found.others.map((a) => a.id).join(', ')}): neither is touched; remove the duplicate in the target`);
    keep(found);
  };

  /** A person in scope whose key other accounts carry besides their linked one: said on every plan, until they are gone. */
  const strayWarning = (key: string, account: ServerResource, others: readonly ServerResource[]): void => {
    const n = others.length;
    const named = others.map((a) => `${accountLabel(a, '?')} (id ${a.id})`).join(', ');
    warnings.push(
      `externalId "${key}" is carried by ${n} other account${n === 1 ? '' : 's'} besides its linked one (id ${account.id}): ${named}; ` +
        `scim-sync's by that key: not updated, and deprovisioned when ${key} leaves the source or this target's scope. ` +
        `Delete ${n === 1 ? 'it' : 'them'} in the target, or clear the externalId of an account kept on purpose`,
    );
  };

  /** The deprovisions of a leaver's other accounts: each active one, but those `theirs` says are someone else's. */
  const deprovisionOthers = (found: Found, key: string, reason: DeprovisionUserOp['reason'], theirs?: (id: string) => boolean): void => {
    for (const other of found.others) {
      if (theirs?.(other.id)) continue;
      managedIds.add(other.id);
      if (isActive(other) && settings.operations.deactivate) deprovision.push(deprovisionOp(other, key, accountLabel(other, key), reason, 'externalId'));
    }
  };

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

  // Settled people (settled-accounts.ts) get no operation and need no lookup: their accounts are
  // linked to them alone and carry no other person's key, so no other person's lookup counts them as
  // managed (linkedIds answers for them), and they are counted apart.
  const settled = input.settled ?? NO_SETTLED;
  // Settled people are told by their place in the snapshot's users: it must be this one's.
  if (settled.size > 0 && settled.users !== snapshot.users) throw new Error('diffUsers: the settled people are of another snapshot');
  /** Distinct people of the source, not settled, who have a link: with the settled, whether any link is of someone gone. */
  let linkedUnsettled = 0;
  for (let place = 0; place < snapshot.users.length; place++) {
    const user = snapshot.users[place]!;
    const label = settled.at(place);
    if (label !== undefined) {
      const others = strays.get(user.key);
      if (input.collectProvisioned || others) {
        const account = accounts.byId.get(links.get(user.key)!.id)!;
        if (input.collectProvisioned) provision(user.key, { account, label });
        // Settled people are active and in scope: their other accounts are only reported.
        if (others) {
          for (const a of others) managedIds.add(a.id);
          strayWarning(user.key, account, others);
        }
      }
      continue;
    }
    const link = links.get(user.key);
    if (link && !sourceKeys.has(user.key)) linkedUnsettled++;
    sourceKeys.add(user.key);
    const found = accountOf(user.key, link);
    const account = found.account;
    if (account) managedIds.add(account.id);
    for (const a of found.others) managedIds.add(a.id);
    if (held.has(user.key)) {
      keep(found);
      continue;
    }
    const desired = mapUserOrFailure(mapping, user, input.memberOf?.get(user.key));
    const heldOff = input.heldOff?.has(user.key) === true;
    const scope = user.active && !heldOff ? inScope(user) : 'out';
    if (typeof scope === 'object') {
      // A scope condition could not read this person's value: neither deprovisioned nor created over it.
      hold(user, found, scope.unknown);
      continue;
    }
    if (scope === 'out' && (account || found.others.length > 0) && user.active && !heldOff && partial.has(user.key)) {
      // Out of scope on values a secondary did not give: unknown, not out. Kept as they are, memberships and reports' manager reference too.
      hold(user, found, 'out of scope without the values a joined source did not give (it has no record of them)');
      continue;
    }
    // A partial person's memberships of groups the missing source lends are unknown too: none is removed.
    if (partial.has(user.key)) keep(found);
    const wanted = scope === 'in';
    if (!wanted) {
      const reason = !user.active ? 'inactive' : heldOff ? 'held-off' : 'out-of-scope';
      if (account && isActive(account) && settings.operations.deactivate) {
        const label = desired instanceof RuleFailed ? accountLabel(account, user.key) : desired.userName || user.key;
        deprovision.push(deprovisionOp(account, user.key, label, reason, matchOf(account, link)));
      }
      // Whichever account is theirs, every one carrying their key is: none keeps access they lost.
      deprovisionOthers(found, user.key, reason);
      continue;
    }
    if (!account && found.others.length > 0) {
      ambiguous(user.key, found);
      continue;
    }
    if (account && found.others.length > 0) strayWarning(user.key, account, found.others);
    if (desired instanceof RuleFailed) {
      hold(user, found, desired.message);
      continue;
    }
    if (desired.userName === '') {
      // Held, not skipped: a skipped person's accounts would lose their groups, a blank cell in the
      // export taking away what the person still has.
      hold(user, found, 'their userName is empty (the value it is mapped from is blank in the source)');
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

  /** The desired user as the planner may write it to this account: a partial person's keeps what is unknown (partial-values.ts). */
  function forAccount(user: CanonicalUser, desired: DesiredUser, account: ServerResource): DesiredUser {
    return partial.has(user.key) ? keepingAccountValues(mapping, desired, account) : desired;
  }

  /** Values the target's schema cannot take, said for the person (creating: a required one stops the create). */
  function sayUnsent(user: CanonicalUser, desired: DesiredUser, creating: boolean): void {
    for (const u of desired.unsent ?? []) {
      const what = creating ? (u.required ? `not created: ${u.reason}` : `${u.reason}: created without it`) : `${u.reason}: not sent, the account keeps its value`;
      warnings.push(`${describeRef(user)}: ${user.key}: ${what}`);
    }
  }

  function planWanted(user: CanonicalUser, mapped: DesiredUser, account: ServerResource | undefined, link: Link | undefined): void {
    if (account) {
      const desired = forAccount(user, unique.settle(user, mapped, account) as DesiredUser, account);
      if (desired.unsent) sayUnsent(user, desired, false);
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
    // The matching rules, in order, on what the mapping gives (a SelectUniqueValue rule: its first
    // candidate). The first attribute that finds an account decides.
    for (const on of rules.on) {
      const value = matchingValue(on, mapped);
      if (value === null) continue;
      const found = accounts.withValue(on, value);
      if (found.length === 0) continue;
      const what = `${attributeLabel(on)} "${value}" (${user.key})`;
      if (found.length > 1) {
        warnings.push(`${what} matches ${found.length} accounts (ids ${found.map((a) => a.id).join(', ')}): neither is touched, and nobody is created`);
        return;
      }
      const match = found[0]!;
      const adopting = rules.adopt.has(on);
      if (adopting && adoptable(match)) {
        const desired = forAccount(user, unique.settle(user, mapped, match) as DesiredUser, match);
        if (desired.unsent) sayUnsent(user, desired, false);
        managedIds.add(match.id);
        provision(user.key, { account: match, label: desired.userName });
        const diff = unparked(user.key, desired.userName, diffUser(mapping, desired, match, true));
        const matchedBy: MatchedBy = on === 'userName' ? 'userName' : on === WORK_EMAIL ? 'email' : 'attribute';
        users.push({ ...updateOp(user, desired, match, diff, true, matchedBy), ...(matchedBy === 'attribute' ? { matchedOn: on } : {}) });
        return;
      }
      // A value picked by SelectUniqueValue steps past an account that holds it.
      if (!adopting && unique.picks(on)) continue;
      warnings.push(`${what} ${notAdopted(match, on)}`);
      claimed.set(match.id, { key: user.key, what: `${attributeLabel(on)} "${value}"` });
      return;
    }
    if (!settings.operations.create) return;
    const desired = unique.settle(user, mapped, null);
    if (isExhausted(desired)) {
      warnings.push(`${describeRef(user)}: ${user.key} is not created: every candidate for ${desired.path} is taken in the target (${desired.candidates.join(', ')})`);
      return;
    }
    if (desired.unsent) {
      sayUnsent(user, desired, true);
      if (desired.unsent.some((u) => u.required)) return;
    }
    // Two people the mapping gives one userName (a template without SelectUniqueValue): the second
    // would meet a conflict and could take the first's new account. The first in source order is
    // created; the next cycle finds that account keyed to the first and leaves the second out too.
    const name = foldUserName(desired.userName);
    const first = creating.get(name);
    if (first !== undefined) {
      warnings.push(`${describeRef(user)}: ${user.key} is not created: the mapping gives it userName "${desired.userName}", as it does ${first}, created in this plan; make the mapping give distinct userNames (e.g. SelectUniqueValue)`);
      return;
    }
    creating.set(name, user.key);
    provision(user.key, { account: null, label: desired.userName });
    users.push({
      id: nextId('c'),
      kind: 'createUser',
      externalId: user.key,
      label: desired.userName,
      resource: buildUserResource(mapping, desired, true),
      hash: desiredHash(desired, true),
      adoptBy: adoptByOf(rules),
      // Linked, but not listed (a link the listing shows, refused as another's account, is no re-create).
      ...(link && !accounts.byId.has(link.id) ? { unlistedLink: link.id } : {}),
    });
  }

  /**
   * Only an account nobody owns may be adopted: not linked, not managed for someone in this plan,
   * and carrying no externalId (one is another person's key, a stale one of ours, or another tool's).
   */
  function adoptable(account: ServerResource): boolean {
    const ext = account['externalId'];
    return !managedIds.has(account.id) && !isLinked(account.id) && !(typeof ext === 'string' && ext !== '');
  }

  /** Why a matched account is left alone, and what would change that. */
  function notAdopted(account: ServerResource, on: string): string {
    const ext = account['externalId'];
    const keyed = typeof ext === 'string' && ext !== '';
    snapshotKeys ??= new Set(snapshot.users.map((u) => u.key));
    if (managedIds.has(account.id) || isLinked(account.id) || (keyed && (links.has(ext) || snapshotKeys.has(ext)))) {
      return `is held by an account scim-sync manages for another person (id ${account.id}); left alone`;
    }
    if (keyed) return `belongs to an account keyed to another identity (id ${account.id}, externalId "${String(ext)}"); left alone`;
    const hint = rules.explicit
      ? `Add ${on} to match.adopt on this target to take it over.`
      : on === 'userName'
        ? 'Set adopt: userName on this target to take it over.'
        : 'Set adopt: email on this target to take it over.';
    return `belongs to an account scim-sync does not manage (id ${account.id}); left alone. ${hint}`;
  }

  /** A person's value of a matching attribute, as the mapping gives it. */
  function matchingValue(on: string, desired: DesiredUser): string | null {
    const v = on === 'userName' ? desired.userName : on === WORK_EMAIL ? desiredWorkEmail(mapping, desired) : desiredValue(mapping, desired, on);
    return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null;
  }

  // People gone from the source: only the link store (or our externalId) remembers them.
  let unlistedOfEmpty = 0;
  // Every link is of someone in the source: nobody is gone.
  const gone = links.size > settled.size + linkedUnsettled ? links : NO_LINKS;
  // The accounts of the people in this read: the unsettled ones' are in managedIds by now.
  let settledIdSet: Set<string> | undefined;
  const settledIds = (): Set<string> => (settledIdSet ??= new Set(mapKept(settled.keys(), (k) => links.get(k)?.id)));
  /** An account managed for someone in the source (a gone key may be on it, copied or stale). */
  const someoneElses = (id: string): boolean => managedIds.has(id) || settledIds().has(id);
  // The links this plan writes, by account: made once, on the first person gone.
  let linkOps: Map<string, LinkUserOp> | undefined;
  for (const [key, link] of gone) {
    if (settled.has(key) || sourceKeys.has(key) || held.has(key)) continue;
    // The account now carries the key of someone in the source who takes it over in this plan (a
    // re-keyed person whose account was given the new key): the old key's link goes with it, rather
    // than stay behind as a stale link warned about every cycle.
    linkOps ??= new Map(users.filter((op): op is LinkUserOp => op.kind === 'linkUser').map((op) => [op.scimId, op]));
    const taking = linkOps.get(link.id);
    // Not while an account still carries the old key: that one is the leaver's, and only this link
    // remembers them (a copied link naming a colleague's account).
    if (taking && taking.externalId !== key && accounts.byId.get(link.id)?.['externalId'] === taking.externalId && accounts.withExternalId(key).length === 0) {
      taking.supersedes = key;
      continue;
    }
    const found = accountOf(key, link);
    const account = found.account;
    if (account && account.id === link.id && (managedIds.has(account.id) || settledIds().has(account.id))) {
      // Gone, but the link names the account of someone who is here (a stale or copied link): theirs is not deprovisioned.
      warnings.push(`${key} has left the source, but its link names account ${account.id}, which is the account of someone in the source: not deprovisioned (a stale, copied or edited state?)`);
      // The accounts that carry the leaver's key are still theirs.
      deprovisionOthers(found, key, 'removed', someoneElses);
      continue;
    }
    if (!account && found.others.length > 0) {
      // No link says which account carrying the key was theirs; all are, and none keeps access.
      deprovisionOthers(found, key, 'removed', someoneElses);
      continue;
    }
    const rekeyed = account ? claimed.get(account.id) : undefined;
    if (account && rekeyed && sameKey(rekeyed.key, key)) {
      // The same key but for case or white space: an HR system that re-keyed someone, not a leaver
      // and a stranger. Deactivated, they would lose every app while their new key meets a conflict.
      managedIds.add(account.id);
      keep(found);
      warnings.push(
        `${key} has left the source and ${rekeyed.key}, new in it, has its ${rekeyed.what}: the same person under a key spelled differently? ` +
          `Not deprovisioned, and not created; set the account's externalId (id ${account.id}) to ${rekeyed.key} in the app to take it over, or spell the key as before in the source`,
      );
      continue;
    }
    if (account) {
      managedIds.add(account.id);
      if (isActive(account) && settings.operations.deactivate) {
        deprovision.push(deprovisionOp(account, key, accountLabel(account, key), 'removed', matchOf(account, link)));
      }
      deprovisionOthers(found, key, 'removed', someoneElses);
    } else if (accounts.size === 0) {
      unlistedOfEmpty++;
    } else if (accounts.byId.has(link.id)) {
      // Listed, but the account of someone else (accountOf refused the link): never deprovisioned through it.
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
  return { users, deprovision, managedUsers: managedIds.size + settled.size, warnings, provisioned, heldIds, heldKeys, parked: parkedOut, accountsById: () => accounts.byId };
}

/** Two source keys that differ only in case, Unicode form or white space at their ends. */
function sameKey(a: string, b: string): boolean {
  return a !== b && a.normalize('NFKC').trim().toLowerCase() === b.normalize('NFKC').trim().toLowerCase();
}

/** How a deprovision names an account when the mapping gives no userName: as the account has it, else by key. */
function accountLabel(account: ServerResource, key: string): string {
  return typeof account['userName'] === 'string' ? account['userName'] : key;
}

function attributeLabel(key: string): string {
  return key === WORK_EMAIL ? 'work email' : key;
}

function describeRef(user: CanonicalUser): string {
  return describeSourceRef(user.ref);
}

/**
 * Reads every person under the user base, page by page, into canonical users. A bad entry is a
 * SourceIssue naming its DN and is skipped; when its key is known it is held (neither updated nor
 * deprovisioned). Manager DNs become the manager's key once every person is read.
 */
import { foldUserName } from '../../model/user-name.js';
import type { CanonicalUser, SourceIssue } from '../../model/canonical.js';
import { isBinaryFormat } from './binary-key.js';
import { fetchAttributeVia, type FollowingSearch, type LdapSearcher } from './connection.js';
import { normalizeDn } from './dn.js';
import { firstStringOf, stringsOf, textsOf, valuesOf, type LdapEntry, type LdapValue } from './entry.js';
import type { LdapSettings } from './flavor-defaults.js';
import { completeRanges, hasRanges } from './range.js';
import { entryActive, entryAttributes, entryKey } from './user-entry.js';

export interface UsersRead {
  readonly users: CanonicalUser[];
  /** The key of the person a DN names, in any spelling (member and manager references), or undefined. */
  readonly keyOfDn: (dn: string) => string | undefined;
  /** Lowercased uid -> key, for posixGroup memberUid: made on first use (most directories have no posixGroup). */
  readonly keyByUid: () => ReadonlyMap<string, string>;
  /** Key -> normalised DNs of the groups the entry's memberOf names (membership: memberOf). */
  readonly memberOf: ReadonlyMap<string, readonly string[]>;
  readonly issues: SourceIssue[];
  readonly heldKeys: Set<string>;
  readonly entries: number;
  /** Key -> normalised DN of a manager who is not among the people read (a narrowed read resolves them itself). */
  readonly unresolvedManagers: ReadonlyMap<string, string>;
}

export interface UserReadNeeds {
  readonly uid: boolean;
  readonly memberOf: boolean;
}

function issue(dn: string, code: SourceIssue['code'], message: string): SourceIssue {
  return { code, message: `${dn}: ${message}`, ref: { location: dn } };
}

/** DNs of the people matching users.disabled.filter (one extra, attribute-less search). */
async function disabledDns(searcher: LdapSearcher, settings: LdapSettings['users']): Promise<Set<string>> {
  const dns = new Set<string>();
  const filter = settings.disabled?.filter;
  if (!filter) return dns;
  for await (const page of searcher.search({ base: settings.base, scope: settings.scope, filter: `(&${settings.filter}${filter})`, attributes: ['1.1'] })) {
    for (const entry of page) dns.add(normalizeDn(entry.dn));
  }
  return dns;
}

/** `then`: a search to send as soon as the people search's last page is answered (the groups'). */
export async function readUsers(searcher: LdapSearcher, settings: LdapSettings['users'], needs: UserReadNeeds, then?: FollowingSearch): Promise<UsersRead> {
  const requested = new Set<string>([settings.key.attribute, ...settings.attributes.values()]);
  if (settings.manager) requested.add(settings.manager);
  if (settings.disabled?.userAccountControl) requested.add('userAccountControl');
  if (settings.disabled?.attribute) requested.add(settings.disabled.attribute);
  if (needs.uid) requested.add(settings.uidAttribute);
  if (needs.memberOf) requested.add('memberOf');
  const binary = isBinaryFormat(settings.key.format) ? [settings.key.attribute, settings.key.attribute.toLowerCase()] : [];
  const fetch = fetchAttributeVia(searcher, binary);

  const disabled = await disabledDns(searcher, settings);
  // Mutable while reading: manager keys are filled in once everyone is read.
  const users: { -readonly [K in keyof CanonicalUser]: CanonicalUser[K] }[] = [];
  // By position in `users`: a Map of 50,000 numbers costs more than the array.
  const managerDns: (string | undefined)[] = [];
  // Keys by DN as the server wrote it: member and manager values usually spell a DN exactly so, and
  // a look-up there skips normalising it (a directory has several such references per person). By
  // normal form only the DNs not written in it: most are (keyOfDn).
  const keyByWrittenDn = new Map<string, string>();
  const keyByDn = new Map<string, string>();
  // Each accepted person's key and uid values, for keyByUid.
  const uidKeys: string[] = [];
  const uidValues: (readonly LdapValue[])[] = [];
  const memberOf = new Map<string, string[]>();
  const issues: SourceIssue[] = [];
  const heldKeys = new Set<string>();
  const byKey = new Map<string, string>();
  const userNames = new Map<string, string>();
  let entries = 0;

  // A held person stays a member of their groups (and a manager): the planner leaves them as they are.
  const known = (entry: LdapEntry, dn: string, key: string): void => {
    keyByWrittenDn.set(entry.dn, key);
    if (dn !== entry.dn) keyByDn.set(dn, key);
  };
  const hold = (entry: LdapEntry, dn: string, key: string): void => {
    heldKeys.add(key);
    known(entry, dn, key);
  };

  const accept = (entry: LdapEntry): void => {
    entries++;
    const dn = normalizeDn(entry.dn);
    const keyed = entryKey(entry, settings.key);
    if (!('key' in keyed)) {
      issues.push(issue(entry.dn, keyed.code, keyed.message));
      return;
    }
    const { key } = keyed;
    const firstDn = byKey.get(key);
    if (firstDn !== undefined) {
      issues.push(issue(entry.dn, 'LDAP_DUPLICATE_KEY', `${settings.key.attribute} "${key}" is also the key of ${firstDn}`));
      heldKeys.add(key);
      return;
    }
    byKey.set(key, entry.dn);
    const active = entryActive(entry, settings.disabled, disabled.has(dn));
    if (!('active' in active)) {
      issues.push(issue(entry.dn, active.code, active.message));
      hold(entry, dn, key);
      return;
    }
    const attributes = entryAttributes(entry, settings.attributes);
    const userName = attributes['userName'];
    if (typeof userName === 'string') {
      const folded = foldUserName(userName);
      const owner = userNames.get(folded);
      if (owner !== undefined) {
        issues.push(issue(entry.dn, 'LDAP_DUPLICATE_USERNAME', `userName "${userName}" is also the userName of ${owner}`));
        hold(entry, dn, key);
        return;
      }
      userNames.set(folded, entry.dn);
    }
    known(entry, dn, key);
    if (needs.uid) {
      uidKeys.push(key);
      uidValues.push(valuesOf(entry, settings.uidAttribute));
    }
    if (needs.memberOf) memberOf.set(key, stringsOf(entry, 'memberOf').map(normalizeDn));
    const manager = settings.manager ? firstStringOf(entry, settings.manager) : undefined;
    // A manager read before their reports (directories list a tree top-down) is resolved at once,
    // as keyOfDn would find them by their DN as written: the DN then dies young instead of being
    // kept (and copied by the collector) until everyone is read. Other spellings wait for the end.
    const managerKey = manager === undefined ? null : (keyByWrittenDn.get(manager) ?? null);
    if (manager !== undefined && managerKey === null) managerDns[users.length] = manager;
    const ref = { location: entry.dn };
    // One literal per shape: objects that gain a property later cost a second allocation each.
    users.push(settings.manager ? { key, active: active.active, attributes, managerKey, ref } : { key, active: active.active, attributes, ref });
  };

  for await (const page of searcher.search({ base: settings.base, scope: settings.scope, filter: settings.filter, attributes: [...requested], binaryAttributes: binary }, then)) {
    for (const entry of page) accept(hasRanges(entry) ? await completeRanges(entry, fetch) : entry);
  }
  const keyOfDn = (dn: string): string | undefined => {
    const key = keyByWrittenDn.get(dn);
    if (key !== undefined) return key;
    const normal = normalizeDn(dn);
    return keyByWrittenDn.get(normal) ?? keyByDn.get(normal);
  };
  // A manager outside the people read has no key here: the user is synced without one.
  const unresolvedManagers = new Map<string, string>();
  managerDns.forEach((dn, index) => {
    if (dn === undefined) return;
    const managerKey = keyOfDn(dn);
    users[index]!.managerKey = managerKey ?? null;
    if (managerKey === undefined) unresolvedManagers.set(users[index]!.key, normalizeDn(dn));
  });
  let keyByUid: Map<string, string> | undefined;
  const uids = (): ReadonlyMap<string, string> => {
    if (!keyByUid) {
      keyByUid = new Map();
      for (let i = 0; i < uidKeys.length; i++) for (const uid of textsOf(uidValues[i]!)) keyByUid.set(uid.toLowerCase(), uidKeys[i]!);
    }
    return keyByUid;
  };
  return { users, keyOfDn, keyByUid: uids, memberOf, issues, heldKeys, entries, unresolvedManagers };
}

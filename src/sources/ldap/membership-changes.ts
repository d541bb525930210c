/**
 * Group membership changes from OpenLDAP's accesslog. Adding someone to a group or removing them
 * changes the group entry only: the memberof overlay rewrites the member's memberOf without touching
 * their modifyTimestamp or entryCSN, so a time search never names them. The accesslog does: an
 * auditAdd or auditModify record lists the values added (`member:+ <dn>`) and removed
 * (`member:- <dn>`), and for a replace (`member:= ...`) or the removal of every value, reqOld holds
 * the values before (when the overlay's logold matched the group). The people named are looked up
 * where they are now to give their keys; someone no longer there was deleted or moved, which the
 * log's own record for them names.
 */
import { escapeFilter } from 'ldapts';
import { isBinaryFormat } from './binary-key.js';
import type { LdapSearcher, SearchRequest } from './connection.js';
import { withinScope } from './dn.js';
import { textOf, valuesOf, type LdapEntry } from './entry.js';
import type { LdapSettings } from './flavor-defaults.js';
import { entryKey } from './user-entry.js';

/** Which attributes of a group name its members: by DN, and by uid (posixGroup). */
export interface MembershipAttributes {
  /** Lowercased. */
  readonly byDn: ReadonlySet<string>;
  /** Lowercased, or null. */
  readonly byUid: string | null;
}

export function membershipAttributes(settings: LdapSettings): MembershipAttributes {
  const groups = settings.groups;
  const byDn = groups?.memberAttributes ?? ['member', 'uniqueMember'];
  const byUid = groups ? groups.memberUidAttribute : 'memberUid';
  return { byDn: new Set(byDn.map((a) => a.toLowerCase())), byUid: byUid?.toLowerCase() ?? null };
}

export interface MembersNamed {
  readonly dns: string[];
  readonly uids: string[];
  /** Set when the record changed a membership attribute without saying whose: why. */
  readonly unknown?: string;
}

/** `name:op value` of a reqMod value, or `name: value` of a reqOld one. */
function split(text: string): { name: string; op: string; value: string | null } | null {
  const colon = text.indexOf(':');
  if (colon < 0) return null;
  const name = text.slice(0, colon).split(';')[0]!.trim().toLowerCase();
  const rest = text.slice(colon + 1);
  const op = rest[0] === ' ' || rest === '' ? '' : rest[0]!;
  const after = op === '' ? rest : rest.slice(1);
  return { name, op, value: after.startsWith(' ') ? after.slice(1) : after === '' ? null : after };
}

/** Who an add or modify record says joined or left a group. */
export function membersNamed(record: LdapEntry, attributes: MembershipAttributes): MembersNamed {
  const dns: string[] = [];
  const uids: string[] = [];
  const wholly = new Set<string>();
  const collect = (name: string, value: string) => {
    if (attributes.byDn.has(name)) dns.push(value);
    else if (name === attributes.byUid) uids.push(value);
  };
  for (const raw of valuesOf(record, 'reqMod')) {
    const mod = split(textOf(raw));
    if (!mod || !(attributes.byDn.has(mod.name) || mod.name === attributes.byUid)) continue;
    if (mod.value !== null) collect(mod.name, mod.value);
    // A replace, or a delete of every value: who was there before is in reqOld only.
    if (mod.op === '=' || (mod.op === '-' && mod.value === null)) wholly.add(mod.name);
  }
  if (wholly.size > 0) {
    const old = valuesOf(record, 'reqOld');
    if (old.length === 0) return { dns, uids, unknown: `the accesslog record replaces ${[...wholly].join(', ')} without the values before (log them with olcAccessLogOld)` };
    for (const raw of old) {
      const value = split(textOf(raw));
      if (value && value.value !== null && wholly.has(value.name)) collect(value.name, value.value);
    }
  }
  return { dns, uids };
}

/** Requests at once while looking people up: the connection answers them by message id. */
const AT_ONCE = 16;

/** The keys of the people named (by DN within the users base, or by uid), as they are now; those not there are left out. */
export async function keysOfMembers(searcher: LdapSearcher, users: LdapSettings['users'], dns: readonly string[], uids: readonly string[]): Promise<string[]> {
  const key = users.key;
  const binaryAttributes = isBinaryFormat(key.format) ? [key.attribute] : [];
  const requests: SearchRequest[] = [
    ...[...new Set(dns)]
      .filter((dn) => withinScope(dn, users.base, users.scope))
      .map((dn): SearchRequest => ({ base: dn, scope: 'base', filter: '(objectClass=*)', attributes: [key.attribute], binaryAttributes, absentBase: 'none' })),
    ...[...new Set(uids)].map(
      (uid): SearchRequest => ({ base: users.base, scope: users.scope, filter: escapeFilter`(${users.uidAttribute}=${uid})`, attributes: [key.attribute], binaryAttributes }),
    ),
  ];
  const keys: string[] = [];
  const lookUp = async (request: SearchRequest) => {
    for await (const page of searcher.search(request)) {
      for (const entry of page) {
        const keyed = entryKey(entry, key);
        if ('key' in keyed) keys.push(keyed.key);
      }
    }
  };
  for (let i = 0; i < requests.length; i += AT_ONCE) await Promise.all(requests.slice(i, i + AT_ONCE).map(lookUp));
  return keys;
}

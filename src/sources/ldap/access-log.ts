/**
 * What a time search cannot see, from OpenLDAP's accesslog overlay (slapo-accesslog): deletions and
 * moves out of the users base (the successful auditDelete and auditModRDN records since the
 * window's position whose entry was within the base: the entry is gone, or no longer under the
 * base), and group membership changes (auditAdd and auditModify records, membership-changes.ts).
 *
 * The key of the entry as it was is read from, in order: reqOld (the overlay's logold/logoldattr
 * record the old values of the key attribute), reqEntryUUID (when the key is entryUUID, which 2.5
 * logs on every record), and the entry's RDN (when the key is the naming attribute). A record whose
 * key none of them gives is returned as unresolved: the feed then asks for a full read rather than
 * drop a leaver. A rename within the base that keeps the key needs nothing: the time search finds
 * the entry under its new name. An entry moved out of the base is also read where it went (a move
 * keeps its attributes, so its key unless the key is in its name); one with entries under it (an
 * OU) took all of them out, and they are named nowhere: that is unresolved too, as is a moved entry
 * no longer there to read.
 */
import { aheadOfClock, advanceWindow, type Sighting, type TimeWindow } from './change-position.js';
import { formatKey, isBinaryFormat } from './binary-key.js';
import type { LdapSearcher } from './connection.js';
import { parentDn, rdnValues, withinScope } from './dn.js';
import { stringsOf, valuesOf, type LdapEntry, type LdapValue } from './entry.js';
import type { KeySetting, LdapSettings } from './flavor-defaults.js';
import { keysOfMembers, membersNamed, membershipAttributes } from './membership-changes.js';
import { entryKey } from './user-entry.js';
import { formatGeneralizedTime, parseGeneralizedTime } from './generalized-time.js';

export interface LogChanges {
  readonly keys: readonly string[];
  /** What could not be named: one line each, e.g. `delete of uid=x,ou=people,...: ...`. */
  readonly unresolved: readonly string[];
  readonly window: TimeWindow;
  /** Records stamped ahead of the clock (the server's clock is ahead of this one's), each with the DN it wrote. */
  readonly ahead: readonly Sighting[];
}

/** Past this many people named by membership changes in one pass, a full read is cheaper than looking each up. */
export const MAX_MEMBERS_NAMED = 1000;

export function accessLogFilter(since: number): string {
  const kinds = ['auditDelete', 'auditModRDN', 'auditAdd', 'auditModify'].map((c) => `(objectClass=${c})`).join('');
  return `(&(|${kinds})(reqResult=0)(reqStart>=${formatGeneralizedTime(since)}))`;
}

/** The key attribute's value in the record's reqOld (values are `attribute: value`). */
function keyFromOld(record: LdapEntry, key: KeySetting): string | null {
  const wanted = key.attribute.toLowerCase();
  for (const value of valuesOf(record, 'reqOld')) {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    const colon = bytes.indexOf(0x3a);
    if (colon < 0) continue;
    // Attribute options (`;binary`) are not part of the name.
    const name = bytes.subarray(0, colon).toString('latin1').split(';')[0]!.trim().toLowerCase();
    if (name !== wanted) continue;
    const raw = bytes.subarray(bytes[colon + 1] === 0x20 ? colon + 2 : colon + 1);
    const result = formatKey(isBinaryFormat(key.format) ? Buffer.from(raw) : raw.toString('utf8'), key.format);
    if ('key' in result) return result.key;
  }
  return null;
}

function keyOf(record: LdapEntry, dn: string, key: KeySetting): string | null {
  const old = keyFromOld(record, key);
  if (old !== null) return old;
  const uuid = stringsOf(record, 'reqEntryUUID')[0];
  if (uuid !== undefined && key.attribute.toLowerCase() === 'entryuuid') {
    const result = formatKey(uuid, key.format);
    if ('key' in result) return result.key;
  }
  const named = rdnValues(dn, key.attribute);
  if (named.length === 1 && !isBinaryFormat(key.format)) {
    const result = formatKey(named[0]!, key.format);
    if ('key' in result) return result.key;
  }
  return null;
}

function newDnOf(record: LdapEntry, dn: string): string | null {
  const recorded = stringsOf(record, 'reqNewDN')[0];
  if (recorded !== undefined) return recorded;
  const rdn = stringsOf(record, 'reqNewRDN')[0];
  if (rdn === undefined) return null;
  const superior = stringsOf(record, 'reqNewSuperior')[0] ?? parentDn(dn);
  return superior ? `${rdn},${superior}` : rdn;
}

/** The entry now at `dn` (its key attribute and whether entries lie under it), or null when it is not there any more. */
async function entryNow(searcher: LdapSearcher, dn: string, key: KeySetting): Promise<LdapEntry | null> {
  const binaryAttributes = isBinaryFormat(key.format) ? [key.attribute] : [];
  for await (const page of searcher.search({ base: dn, scope: 'base', filter: '(objectClass=*)', attributes: [key.attribute, 'hasSubordinates'], binaryAttributes, absentBase: 'none' })) {
    if (page[0]) return page[0];
  }
  return null;
}

interface Move {
  readonly dn: string;
  readonly newDn: string;
  /** The old key, when the record gave it. */
  readonly key: string | null;
}

/** Adds the key a rename or move of an entry within the base leaves to re-read, or says why it cannot. */
async function nameMove(searcher: LdapSearcher, users: LdapSettings['users'], move: Move, keys: Set<string>, unresolved: string[]): Promise<void> {
  const { dn, newDn } = move;
  let key = move.key;
  // With the key in the entry's name, a rename changes it: only the record can tell the old one.
  const keyInName = rdnValues(dn, users.key.attribute).length > 0 || rdnValues(newDn, users.key.attribute).length > 0;
  const noKey = `the accesslog record holds no ${users.key.attribute} (log it with olcAccessLogOldAttr)`;
  if (withinScope(newDn, users.base, users.scope)) {
    // Renamed within the base: the time search finds it under its new name, with its key.
    if (key !== null) keys.add(key);
    else if (keyInName) unresolved.push(`rename of ${dn} to ${newDn}: ${noKey}`);
    return;
  }
  // Moved out: a move keeps every attribute, so the entry where it went still has the old key.
  const now = await entryNow(searcher, newDn, users.key);
  if (now === null) {
    if (key !== null) keys.add(key);
    unresolved.push(`move of ${dn} to ${newDn}: the entry is no longer there to tell who it was or whether entries under it left too`);
    return;
  }
  if (key === null && !keyInName) {
    const keyed = entryKey(now, users.key);
    // An entry without the key attribute (an OU) is nobody: only what lies under it matters.
    if ('key' in keyed) key = keyed.key;
    else if (keyed.code !== 'LDAP_MISSING_KEY') unresolved.push(`move of ${dn} to ${newDn}: ${keyed.message}`);
  }
  if (key !== null) keys.add(key);
  else if (keyInName) unresolved.push(`move of ${dn} to ${newDn}: ${noKey}`);
  if (stringsOf(now, 'hasSubordinates')[0]?.toUpperCase() === 'TRUE') {
    unresolved.push(`move of ${dn} to ${newDn}: the entries under it left the base too and are not named`);
  }
}

const isClass = (values: readonly LdapValue[], name: string) => values.some((v) => typeof v === 'string' && v.toLowerCase() === name);

/**
 * Reads the log from the window, at `now` (this machine's clock, whole seconds: see
 * advanceWindow). With `resolve` false (a first position being taken) only the window moves:
 * nothing is named or looked up.
 */
export async function readAccessLog(
  searcher: LdapSearcher,
  logBase: string,
  settings: LdapSettings,
  window: TimeWindow,
  overlap: number,
  now: number,
  resolve = true,
): Promise<LogChanges> {
  const users = settings.users;
  const membership = membershipAttributes(settings);
  const keys = new Set<string>();
  const unresolved: string[] = [];
  const sightings: Sighting[] = [];
  const moves: Move[] = [];
  const memberDns: string[] = [];
  const memberUids: string[] = [];
  for await (const page of searcher.search({
    base: logBase,
    scope: 'sub',
    filter: accessLogFilter(window.since - overlap),
    attributes: ['objectClass', 'reqStart', 'reqDN', 'reqMod', 'reqOld', 'reqEntryUUID', 'reqNewRDN', 'reqNewSuperior', 'reqNewDN'],
    binaryAttributes: isBinaryFormat(users.key.format) ? ['reqOld'] : [],
  })) {
    for (const record of page) {
      const id = stringsOf(record, 'reqStart')[0] ?? record.dn;
      const time = parseGeneralizedTime(id);
      const dn = stringsOf(record, 'reqDN')[0];
      sightings.push({ id, version: '', time, dn: dn ?? record.dn });
      if (!resolve || window.seen[id] !== undefined || dn === undefined) continue;
      const classes = valuesOf(record, 'objectClass');
      const removal = isClass(classes, 'auditdelete') || isClass(classes, 'auditmodrdn');
      if (!removal) {
        // An add or modify anywhere (a group may live outside the users base): whose membership it changed.
        const named = membersNamed(record, membership);
        memberDns.push(...named.dns);
        memberUids.push(...named.uids);
        if (named.unknown) unresolved.push(`membership change of ${dn}: ${named.unknown}`);
        continue;
      }
      if (!withinScope(dn, users.base, users.scope)) continue;
      const key = keyOf(record, dn, users.key);
      if (isClass(classes, 'auditdelete')) {
        if (key !== null) keys.add(key);
        else unresolved.push(`delete of ${dn}: the accesslog record holds no ${users.key.attribute} (log it with olcAccessLogOldAttr)`);
        continue;
      }
      const newDn = newDnOf(record, dn);
      if (newDn === null) {
        unresolved.push(`rename of ${dn}: the accesslog record has no new name`);
        continue;
      }
      moves.push({ dn, newDn, key });
    }
  }
  const named = new Set(memberDns).size + new Set(memberUids).size;
  if (named > MAX_MEMBERS_NAMED) unresolved.push(`group membership changes name ${named} people`);
  else for (const key of await keysOfMembers(searcher, users, memberDns, memberUids)) keys.add(key);
  for (const move of moves) await nameMove(searcher, users, move, keys, unresolved);
  return { keys: [...keys], unresolved, window: advanceWindow(window, sightings, overlap, now), ahead: aheadOfClock(sightings, now) };
}

/**
 * Active Directory changes by update sequence number, as Microsoft documents polling with
 * uSNChanged: read the domain controller's highestCommittedUSN (and who it is: dsServiceName, and
 * its invocationID from that NTDS Settings object) before searching, then ask for everything with
 * uSNChanged above the last value stored. The value read first becomes the next position, so a
 * change committed during the pass is found again next time rather than lost.
 *
 * Three searches name who may have changed:
 * - the users base, without the user filter (someone who stopped matching it is someone to re-read);
 * - the domain's Deleted Objects container with the show-deleted control: tombstones (and, with the
 *   recycle bin, deleted objects) keep objectGUID and lastKnownParent, so a deletion under the base
 *   names its key;
 * - the whole domain with the user filter, when the base is narrower than the domain: a person
 *   moved out of the base (the usual "Disabled Users" OU) changed uSNChanged there, and AD keeps no
 *   trace of where an entry was before a move, so every changed person outside the base is named
 *   and the re-read decides. Continuation references to the domain's other partitions are skipped.
 *
 * DirSync (which needs the "Replicating Directory Changes" right) is not used.
 */
import { formatKey, isBinaryFormat } from './binary-key.js';
import type { LdapSearcher, SearchRequest } from './connection.js';
import { normalizeDn, rdnsAsWritten, rdnValues, withinScope } from './dn.js';
import { stringsOf, valuesOf } from './entry.js';
import type { LdapSettings } from './flavor-defaults.js';
import { entryKey } from './user-entry.js';
import { SourceError } from '../../errors.js';

/** LDAP_SERVER_SHOW_DELETED_OID: deleted objects are returned too. */
export const SHOW_DELETED_CONTROL = '1.2.840.113556.1.4.417';

export interface DomainController {
  /** dsServiceName: the DN of the DC's NTDS Settings object. */
  readonly server: string;
  readonly invocationId: string;
  readonly highestCommittedUsn: bigint;
}

/** The DC's name for people: the server object's cn in its dsServiceName (CN=NTDS Settings,CN=DC1,...). */
export function controllerName(server: string): string {
  return rdnsAsWritten(server)
    .slice(1, 2)
    .flatMap((rdn) => rdnValues(rdn, 'cn'))[0] ?? server;
}

async function first(searcher: LdapSearcher, request: SearchRequest) {
  for await (const page of searcher.search(request)) if (page[0]) return page[0];
  return undefined;
}

export async function readDomainController(searcher: LdapSearcher, where: string): Promise<DomainController> {
  const dse = await first(searcher, {
    base: '',
    scope: 'base',
    filter: '(objectClass=*)',
    attributes: ['highestCommittedUSN', 'dsServiceName'],
    paged: false,
  });
  const usn = dse ? stringsOf(dse, 'highestCommittedUSN')[0] : undefined;
  const server = dse ? stringsOf(dse, 'dsServiceName')[0] : undefined;
  if (usn === undefined || !/^\d+$/.test(usn.trim()) || server === undefined) {
    throw new SourceError(
      `${where}: the root DSE has no highestCommittedUSN and dsServiceName: not an Active Directory domain controller ` +
        '(source.changes.mode usn reads them; use modifyTimestamp for other servers)',
    );
  }
  const settings = await first(searcher, { base: server, scope: 'base', filter: '(objectClass=*)', attributes: ['invocationId'], binaryAttributes: ['invocationId'] });
  const raw = settings ? valuesOf(settings, 'invocationId')[0] : undefined;
  const invocation = raw === undefined ? null : formatKey(raw, 'guid');
  if (invocation === null || !('key' in invocation)) {
    throw new SourceError(`${where}: cannot read the invocationID of ${server} (the bind account needs to read it)`);
  }
  return { server, invocationId: invocation.key, highestCommittedUsn: BigInt(usn.trim()) };
}

/** The domain naming context holding the base: its trailing DC= components. */
export function domainOf(base: string): string | null {
  const rdns = rdnsAsWritten(base);
  let start = rdns.length;
  while (start > 0 && rdnValues(rdns[start - 1]!, 'dc').length > 0) start--;
  return start < rdns.length ? rdns.slice(start).join(',') : null;
}

export interface UsnChanges {
  readonly keys: readonly string[];
  /** Per key, the highest uSNChanged seen of it (entry or tombstone): a change of theirs moves it. */
  readonly versions: ReadonlyMap<string, string>;
  readonly changed: number;
  readonly deleted: number;
  readonly outside: number;
}

/** Keys of what changed on the DC with uSNChanged >= `from`. */
export async function readUsnChanges(searcher: LdapSearcher, users: LdapSettings['users'], from: bigint, where: string): Promise<UsnChanges> {
  const key = users.key;
  const binaryAttributes = isBinaryFormat(key.format) ? [key.attribute] : [];
  const since = `(uSNChanged>=${from})`;
  const keys = new Set<string>();
  const versions = new Map<string, string>();
  const add = (entry: Parameters<typeof entryKey>[0]): boolean => {
    const keyed = entryKey(entry, key);
    if (!('key' in keyed)) return false;
    keys.add(keyed.key);
    const usn = stringsOf(entry, 'uSNChanged')[0];
    const had = versions.get(keyed.key);
    if (usn !== undefined && /^\d+$/.test(usn) && (had === undefined || BigInt(usn) > BigInt(had))) versions.set(keyed.key, usn);
    return true;
  };

  let changed = 0;
  for await (const page of searcher.search({ base: users.base, scope: users.scope, filter: since, attributes: [key.attribute, 'uSNChanged'], binaryAttributes })) {
    for (const entry of page) if (add(entry)) changed++;
  }

  const domain = domainOf(users.base);
  if (domain === null) throw new SourceError(`${where}: users.base "${users.base}" names no domain (DC=...): cannot find its Deleted Objects`);
  let deleted = 0;
  for await (const page of searcher.search({
    base: `CN=Deleted Objects,${domain}`,
    scope: 'one',
    filter: `(&(isDeleted=TRUE)${since})`,
    attributes: [key.attribute, 'lastKnownParent', 'uSNChanged'],
    binaryAttributes,
    controls: [{ oid: SHOW_DELETED_CONTROL, critical: true }],
  })) {
    for (const entry of page) {
      // Deleted elsewhere in the domain (a computer, a group outside the base): not one of ours. But
      // an OU deleted as a tree leaves its people's last parent inside Deleted Objects (the OU's own
      // tombstone), which says nothing of where they were: named, and the re-read decides.
      const parent = stringsOf(entry, 'lastKnownParent')[0];
      if (parent !== undefined && !withinScope(`cn=deleted,${parent}`, users.base, users.scope) && !withinScope(parent, `CN=Deleted Objects,${domain}`, 'sub')) continue;
      if (add(entry)) deleted++;
    }
  }

  let outside = 0;
  if (!(users.scope === 'sub' && normalizeDn(users.base) === normalizeDn(domain))) {
    for await (const page of searcher.search({
      base: domain,
      scope: 'sub',
      filter: `(&${users.filter}${since})`,
      attributes: [key.attribute, 'uSNChanged'],
      binaryAttributes,
      references: 'skip',
    })) {
      for (const entry of page) if (!withinScope(entry.dn, users.base, users.scope) && add(entry)) outside++;
    }
  }
  return { keys: [...keys], versions, changed, deleted, outside };
}

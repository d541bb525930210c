/**
 * LDAP / Active Directory as a source of truth. One connection, users then groups, every search
 * paged; any failure of the connection or of a search fails the whole read (SourceError) so the
 * planner never sees a shorter directory that would read as departures.
 */
import type { LdapSourceConfig } from '../../config/schema/index.js';
import type { DirectorySnapshot } from '../../model/canonical.js';
import type { SourceDirectory } from '../source-directory.js';
import { LdapConnection, type LdapSearcher } from './connection.js';
import { ldapDescription, ldapSettings, type LdapSettings } from './flavor-defaults.js';
import { groupSearch, readGroups } from './groups.js';
import { readUsers, type UsersRead } from './users.js';
import { isBinaryFormat } from './binary-key.js';
import { withinScope } from './dn.js';
import { keyFilter } from './key-filter.js';
import { entryKey } from './user-entry.js';
import { undefinedAttributes } from './schema-check.js';

/** The snapshot from any searcher (the seam the AD-only paths are tested through). */
export async function readDirectory(searcher: LdapSearcher, settings: LdapSettings, source: string): Promise<DirectorySnapshot> {
  return (await readWith(searcher, settings, source)).snapshot;
}

async function readWith(searcher: LdapSearcher, settings: LdapSettings, source: string): Promise<{ snapshot: DirectorySnapshot; users: UsersRead }> {
  const groups = settings.groups;
  // The group search goes out as the people search's last page comes in, not once that page is
  // handled: the server finds the groups while we map the last people.
  const groupRead = groups ? searcher.following?.(groupSearch(groups)) : undefined;
  const users = await readUsers(
    searcher,
    settings.users,
    {
      uid: groups !== undefined && groups.membership === 'group' && groups.memberUidAttribute !== null,
      memberOf: groups?.membership === 'memberOf',
    },
    groupRead,
  );
  const read = groups ? await readGroups(searcher, settings, users, groupRead?.pages) : undefined;
  return {
    users,
    snapshot: {
      source,
      users: users.users,
      groups: read?.groups ?? [],
      issues: [...users.issues, ...(read?.issues ?? [])],
      warnings: read?.warnings ?? [],
      heldKeys: [...users.heldKeys, ...(read?.heldKeys ?? [])],
      recordsRead: users.entries + (read?.entries ?? 0),
    },
  };
}

/**
 * One person: the user search narrowed to their key (so the disabled-accounts search is narrowed
 * too), their manager's key by a base search of the manager's entry (when it is a person the full
 * read would see), and the groups as a full read finds them, with this person as their only known
 * member (one person's commands change only their own memberships).
 */
export async function readPersonFrom(searcher: LdapSearcher, settings: LdapSettings, source: string, key: string): Promise<DirectorySnapshot> {
  const users = settings.users;
  const match = keyFilter(users.key.attribute, key, users.key.format);
  if (!match) return { source, users: [], groups: [], issues: [], warnings: [], heldKeys: [], recordsRead: 0 };
  const { snapshot, users: read } = await readWith(searcher, { ...settings, users: { ...users, filter: `(&${users.filter}${match})` } }, source);
  const person = snapshot.users.find((u) => u.key === key);
  const managerDn = person ? read.unresolvedManagers.get(key) : undefined;
  if (!person || managerDn === undefined || !withinScope(managerDn, users.base, users.scope)) return snapshot;
  let managerKey: string | null = null;
  const binary = isBinaryFormat(users.key.format) ? [users.key.attribute] : [];
  for await (const page of searcher.search({ base: managerDn, scope: 'base', filter: users.filter, attributes: [users.key.attribute], binaryAttributes: binary, absentBase: 'none' })) {
    const keyed = page[0] ? entryKey(page[0], users.key) : undefined;
    if (keyed && 'key' in keyed) managerKey = keyed.key;
  }
  return { ...snapshot, users: snapshot.users.map((u) => (u === person ? { ...u, managerKey } : u)) };
}

export class LdapSource implements SourceDirectory {
  readonly description: string;
  readonly narrowLookups = true;

  constructor(private readonly config: LdapSourceConfig) {
    this.description = ldapDescription(config);
  }

  /** The canonical names of the attribute map: entries carry those and no others. */
  async offeredAttributes(): Promise<ReadonlySet<string>> {
    return new Set(ldapSettings(this.config).users.attributes.keys());
  }

  async checkNames(): Promise<{ problems: string[] } | { unchecked: string }> {
    return this.withConnection((connection) => undefinedAttributes(connection, this.config));
  }

  async read(): Promise<DirectorySnapshot> {
    return this.withConnection((connection) => readDirectory(connection, ldapSettings(this.config), this.description));
  }

  async readOne(key: string): Promise<DirectorySnapshot> {
    return this.withConnection((connection) => readPersonFrom(connection, ldapSettings(this.config), this.description, key));
  }

  private async withConnection<T>(work: (connection: LdapConnection) => Promise<T>): Promise<T> {
    const connection = await LdapConnection.open(this.config);
    try {
      return await work(connection);
    } finally {
      await connection.close();
    }
  }
}

/**
 * LDAP / Active Directory as a source of truth. One connection, users then groups, every search
 * paged; any failure of the connection or of a search fails the whole read (SourceError) so the
 * planner never sees a shorter directory that would read as departures.
 */
import type { LdapSourceConfig } from '../../config/schema/index.js';
import type { DirectorySnapshot } from '../../model/canonical.js';
import type { SourceDirectory } from '../source-directory.js';
import { LdapConnection, type LdapSearcher } from './connection.js';
import { ldapSettings, type LdapSettings } from './flavor-defaults.js';
import { readGroups } from './groups.js';
import { readUsers } from './users.js';

/** The snapshot from any searcher (the seam the AD-only paths are tested through). */
export async function readDirectory(searcher: LdapSearcher, settings: LdapSettings, source: string): Promise<DirectorySnapshot> {
  const groups = settings.groups;
  const users = await readUsers(searcher, settings.users, {
    uid: groups !== undefined && groups.membership === 'group' && groups.memberUidAttribute !== null,
    memberOf: groups?.membership === 'memberOf',
  });
  const read = groups ? await readGroups(searcher, settings, users) : undefined;
  return {
    source,
    users: users.users,
    groups: read?.groups ?? [],
    issues: [...users.issues, ...(read?.issues ?? [])],
    warnings: read?.warnings ?? [],
    heldKeys: [...users.heldKeys, ...(read?.heldKeys ?? [])],
    recordsRead: users.entries + (read?.entries ?? 0),
  };
}

export class LdapSource implements SourceDirectory {
  readonly description: string;

  constructor(private readonly config: LdapSourceConfig) {
    this.description = `ldap:${config.url}/${config.users.base}`;
  }

  /** The canonical names of the attribute map: entries carry those and no others. */
  async offeredAttributes(): Promise<ReadonlySet<string>> {
    return new Set(ldapSettings(this.config).users.attributes.keys());
  }

  async read(): Promise<DirectorySnapshot> {
    const connection = await LdapConnection.open(this.config);
    try {
      return await readDirectory(connection, ldapSettings(this.config), this.description);
    } finally {
      await connection.close();
    }
  }
}

/**
 * Google Workspace as a source of truth, through the Admin SDK Directory API with a service
 * account and domain-wide delegation. Users (key: the immutable user id), then groups and their
 * direct members (users and nested groups, keyed by id). Any page that cannot be read fails the
 * whole read (SourceError): the planner never sees a shorter directory.
 */
import type { GoogleSourceConfig } from '../../config/schema/index.js';
import type { CanonicalGroup, CanonicalUser, DirectorySnapshot, SourceIssue } from '../../model/canonical.js';
import { narrowSnapshot, type SourceDirectory } from '../source-directory.js';
import { adminApi, DIRECTORY as BASE, GROUP_SCOPE, USER_SCOPE } from './admin-client.js';
import type { DirectoryApi } from './directory-api.js';
import type { Pacing } from './google-retry.js';
import { GOOGLE_ATTRIBUTES, toCanonicalUser } from './google-user.js';
import { canonicalGroup, PersonGroups } from './person-groups.js';


type Json = Record<string, unknown>;

export class GoogleSource implements SourceDirectory {
  readonly description: string;
  /** A users or groups query scopes who is read, which a single get cannot judge: then readOne reads everything. */
  readonly narrowLookups: boolean;
  /** The groups of one person's reads: the listing and each group's parents, read once for all the people this source reads. */
  private readonly personGroups = new PersonGroups((api) => this.listGroups(api));

  constructor(
    private readonly config: GoogleSourceConfig,
    /** How retries wait; tests pass one that does not sleep. */
    private readonly pacing: Partial<Pacing> = {},
  ) {
    this.description = `google:${config.domain ?? config.customer}`;
    this.narrowLookups = !config.query && !config.groups?.query;
  }

  async offeredAttributes(): Promise<ReadonlySet<string>> {
    return new Set(GOOGLE_ATTRIBUTES);
  }

  private api(readGroups: boolean): Promise<DirectoryApi> {
    return adminApi(this.config, readGroups ? [USER_SCOPE, GROUP_SCOPE] : [USER_SCOPE], this.pacing);
  }

  /**
   * One person by user id (users.get), their manager by email, and the groups as the full read
   * lists them, with the person in those they are a direct member of (groups.list by userKey) and
   * the nesting above those (person-groups.ts: the requests it costs). A person not in the source
   * is in none of them, so they are taken out of every managed group. A users or groups query
   * scopes who is read, which a single get cannot judge: then the directory is read whole and
   * narrowed.
   */
  async readOne(key: string): Promise<DirectorySnapshot> {
    if (this.config.query || this.config.groups?.query) return narrowSnapshot(await this.read(), key);
    const readGroups = this.config.groups?.enabled === true;
    const api = await this.api(readGroups);
    const empty = { source: this.description, users: [], groups: [], issues: [], warnings: [], heldKeys: [], recordsRead: 0 };
    const raw = await api.find(`${BASE}/users/${encodeURIComponent(key)}`, { projection: 'full' });
    if (!raw || !this.inScope(raw) || raw['id'] !== key) return readGroups ? { ...empty, groups: await this.personGroups.of(api, null) } : empty;
    const read = toCanonicalUser(raw);
    if (!('user' in read)) return { ...empty, issues: [{ code: read.code, message: read.message, ref: { location: `users/${String(raw['primaryEmail'] ?? key)}` } }], heldKeys: [key], recordsRead: 1 };
    // As the full read leaves it, a manager who is no one of the directory read is no reference:
    // another customer's address (which Google refuses to look up), a deleted one, another domain.
    // Our credentials are not in doubt here: they have just read the person.
    const manager = read.managerEmail ? await api.lookup(`${BASE}/users/${encodeURIComponent(read.managerEmail)}`, {}) : undefined;
    const managerKey = manager && 'found' in manager && this.inScope(manager.found) && typeof manager.found['id'] === 'string' ? manager.found['id'] : null;
    const user = read.managerEmail ? { ...read.user, managerKey } : read.user;
    const groups = readGroups ? await this.personGroups.of(api, key) : [];
    return { ...empty, users: [user], groups, recordsRead: 1 };
  }

  /** A user within the configured domain (a read by customer takes every domain). */
  private inScope(raw: Json): boolean {
    const domain = this.config.domain?.toLowerCase();
    return !domain || String(raw['primaryEmail'] ?? '').toLowerCase().endsWith(`@${domain}`);
  }

  async read(): Promise<DirectorySnapshot> {
    const readGroups = this.config.groups?.enabled === true;
    const api = await this.api(readGroups);
    const rawUsers = await api.listAll(`${BASE}/users`, { ...this.scope(), maxResults: '500', projection: 'full', query: this.config.query }, 'users');
    const issues: SourceIssue[] = [];
    // The people of records that could not be read, by id when it is there: held, never read as gone.
    const heldKeys: string[] = [];
    const users: CanonicalUser[] = [];
    const keyByEmail = new Map<string, string>();
    const managerEmail = new Map<number, string>();
    for (const raw of onceEach(rawUsers, issues, heldKeys)) {
      const read = toCanonicalUser(raw);
      if (!('user' in read)) {
        issues.push({ code: read.code, message: read.message, ref: { location: `users/${String(raw['primaryEmail'] ?? raw['id'] ?? '?')}` } });
        if (typeof raw['id'] === 'string' && raw['id'] !== '') heldKeys.push(raw['id']);
        continue;
      }
      keyByEmail.set(read.primaryEmail.toLowerCase(), read.user.key);
      for (const alias of Array.isArray(raw['aliases']) ? raw['aliases'] : []) if (typeof alias === 'string') keyByEmail.set(alias.toLowerCase(), read.user.key);
      if (read.managerEmail) managerEmail.set(users.length, read.managerEmail);
      users.push(read.user);
    }
    // A manager outside the people read (another domain, left out by the query) leaves the reference empty.
    const withManagers = users.map((u, i) => (managerEmail.has(i) ? { ...u, managerKey: keyByEmail.get(managerEmail.get(i)!) ?? null } : u));

    const warnings: SourceIssue[] = [];
    const groups = readGroups ? await this.readGroups(api, new Set(users.map((u) => u.key)), warnings) : [];
    return { source: this.description, users: withManagers, groups, issues, warnings, heldKeys, recordsRead: rawUsers.length };
  }

  /** Every group of the customer or the domain (a read by `domain` lists that domain's alone), per the groups query. */
  private listGroups(api: DirectoryApi): Promise<Json[]> {
    return api.listAll(`${BASE}/groups`, { ...this.scope(), maxResults: '200', query: this.config.groups?.query }, 'groups');
  }

  /** Either the whole customer or one of its domains (the API takes one or the other). */
  private scope(): Record<string, string> {
    return this.config.domain ? { domain: this.config.domain } : { customer: this.config.customer };
  }

  private async readGroups(api: DirectoryApi, userKeys: ReadonlySet<string>, warnings: SourceIssue[]): Promise<CanonicalGroup[]> {
    const rawGroups = await this.listGroups(api);
    const groupIds = new Set(rawGroups.map((g) => String(g['id'])));
    const groups: CanonicalGroup[] = [];
    for (const raw of rawGroups) {
      const id = String(raw['id']);
      const email = typeof raw['email'] === 'string' ? raw['email'] : id;
      const location = `groups/${email}`;
      const members = await api.listAll(`${BASE}/groups/${encodeURIComponent(id)}/members`, { maxResults: '200' }, 'members');
      const memberKeys: string[] = [];
      const groupKeys: string[] = [];
      for (const m of members) {
        const memberId = typeof m['id'] === 'string' ? m['id'] : '';
        if (m['type'] === 'GROUP' && groupIds.has(memberId)) groupKeys.push(memberId);
        else if (m['type'] === 'USER' && userKeys.has(memberId)) memberKeys.push(memberId);
        else warnings.push({ code: 'GOOGLE_MEMBER_OUTSIDE', message: `${email}: member ${String(m['email'] ?? memberId)} (${String(m['type'])}) is not among the people or groups read; left out`, ref: { location } });
      }
      groups.push(canonicalGroup(raw, memberKeys, groupKeys));
    }
    return groups;
  }
}

/**
 * The users listed, each once. A listing is paged, and a user renamed while it runs (their
 * primaryEmail orders the pages) can be listed twice: copies that say the same are one user; copies
 * that differ cannot tell which is now, so that person is held (neither updated nor deprovisioned),
 * as a source's duplicate key is, and the read reports it.
 */
function onceEach(rawUsers: readonly Json[], issues: SourceIssue[], heldKeys: string[]): Json[] {
  const copies = new Map<string, string>();
  const differing = new Set<string>();
  for (const raw of rawUsers) {
    const id = raw['id'];
    if (typeof id !== 'string' || id === '') continue;
    const copy = JSON.stringify(raw);
    const first = copies.get(id);
    if (first === undefined) copies.set(id, copy);
    else if (first !== copy && !differing.has(id)) {
      differing.add(id);
      heldKeys.push(id);
      issues.push({ code: 'GOOGLE_DUPLICATE_ID', message: `user ${id} (${String(raw['primaryEmail'] ?? '?')}) is listed twice, with different values (renamed while the listing ran?): held until a read lists them once`, ref: { location: `users/${String(raw['primaryEmail'] ?? id)}` } });
    }
  }
  const taken = new Set<string>();
  return rawUsers.filter((raw) => {
    const id = raw['id'];
    if (typeof id !== 'string' || id === '') return true;
    if (differing.has(id) || taken.has(id)) return false;
    taken.add(id);
    return true;
  });
}

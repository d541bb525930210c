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


type Json = Record<string, unknown>;

export class GoogleSource implements SourceDirectory {
  readonly description: string;
  /** A users or groups query scopes who is read, which a single get cannot judge: then readOne reads everything. */
  readonly narrowLookups: boolean;

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
   * One person by user id (users.get), their manager by email, and the groups they are a direct
   * member of (groups.list by userKey). A users or groups query scopes who is read, which a single
   * get cannot judge: then the directory is read whole and narrowed.
   */
  async readOne(key: string): Promise<DirectorySnapshot> {
    if (this.config.query || this.config.groups?.query) return narrowSnapshot(await this.read(), key);
    const readGroups = this.config.groups?.enabled === true;
    const api = await this.api(readGroups);
    const empty = { source: this.description, users: [], groups: [], issues: [], warnings: [], heldKeys: [], recordsRead: 0 };
    const raw = await api.find(`${BASE}/users/${encodeURIComponent(key)}`, { projection: 'full' });
    if (!raw || !this.inScope(raw) || raw['id'] !== key) return empty;
    const read = toCanonicalUser(raw);
    if (!('user' in read)) return { ...empty, issues: [{ code: read.code, message: read.message, ref: { location: `users/${String(raw['primaryEmail'] ?? key)}` } }], heldKeys: [key], recordsRead: 1 };
    // As the full read leaves it, a manager who is no one of the directory read is no reference:
    // another customer's address (which Google refuses to look up), a deleted one, another domain.
    // Our credentials are not in doubt here: they have just read the person.
    const manager = read.managerEmail ? await api.lookup(`${BASE}/users/${encodeURIComponent(read.managerEmail)}`, {}) : undefined;
    const managerKey = manager && 'found' in manager && this.inScope(manager.found) && typeof manager.found['id'] === 'string' ? manager.found['id'] : null;
    const user = read.managerEmail ? { ...read.user, managerKey } : read.user;
    // A person's groups in every domain: a full read with `domain` lists only that domain's, so only those are kept.
    const rawGroups = readGroups ? (await api.listAll(`${BASE}/groups`, { userKey: key, maxResults: '200' }, 'groups')).filter((g) => this.inDomain(g['email'])) : [];
    const groups = rawGroups.map((g): CanonicalGroup => {
      const email = typeof g['email'] === 'string' ? g['email'] : String(g['id']);
      return { key: String(g['id']), displayName: typeof g['name'] === 'string' && g['name'] !== '' ? g['name'] : email, memberKeys: [key], groupKeys: [], ref: { location: `groups/${email}` } };
    });
    return { ...empty, users: [user], groups, recordsRead: 1 };
  }

  /** A user within the configured domain (a read by customer takes every domain). */
  private inScope(raw: Json): boolean {
    return this.inDomain(raw['primaryEmail']);
  }

  /** Whether an address is of the configured domain; any is, without one. */
  private inDomain(email: unknown): boolean {
    const domain = this.config.domain?.toLowerCase();
    return !domain || String(email ?? '').toLowerCase().endsWith(`@${domain}`);
  }

  async read(): Promise<DirectorySnapshot> {
    const readGroups = this.config.groups?.enabled === true;
    const api = await this.api(readGroups);
    // Either the whole customer or one of its domains (the API takes one or the other).
    const scope: Record<string, string> = this.config.domain ? { domain: this.config.domain } : { customer: this.config.customer };

    const rawUsers = await api.listAll(`${BASE}/users`, { ...scope, maxResults: '500', projection: 'full', query: this.config.query }, 'users');
    const issues: SourceIssue[] = [];
    // The people of records that could not be read, by id when it is there: held, never read as gone.
    const heldKeys: string[] = [];
    const users: CanonicalUser[] = [];
    const keyByEmail = new Map<string, string>();
    const managerEmail = new Map<number, string>();
    for (const raw of rawUsers) {
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
    const groups = readGroups ? await this.readGroups(api, scope, new Set(users.map((u) => u.key)), warnings) : [];
    return { source: this.description, users: withManagers, groups, issues, warnings, heldKeys, recordsRead: rawUsers.length };
  }

  private async readGroups(api: DirectoryApi, scope: Record<string, string>, userKeys: ReadonlySet<string>, warnings: SourceIssue[]): Promise<CanonicalGroup[]> {
    const rawGroups = await api.listAll(`${BASE}/groups`, { ...scope, maxResults: '200', query: this.config.groups?.query }, 'groups');
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
      groups.push({ key: id, displayName: typeof raw['name'] === 'string' && raw['name'] !== '' ? raw['name'] : email, memberKeys, groupKeys, ref: { location } });
    }
    return groups;
  }
}

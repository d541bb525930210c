/**
 * The change feed of an LDAP or Active Directory source (see sources/change-feed.ts): each poll
 * opens one connection as the source does (same URL, TLS, bind, paging, failures as SourceError),
 * asks what changed since the stored position, and closes it. Nothing is held between polls, so a
 * server that drops idle connections costs nothing, and one poll every few seconds costs a bind.
 *
 * The mode follows source.changes.mode (auto: usn for flavor ad, modifyTimestamp otherwise):
 * - modifyTimestamp: timestamp-changes.ts for adds and changes under the users base, and the
 *   accesslog (access-log.ts) for deletions and moves out of it when changes.accessLogBase is set;
 *   without it those wait for the full cycle.
 * - usn: usn-changes.ts against the one domain controller of source.url, whose identity and
 *   invocationID are part of the position: another DC, or the same one restored, forces a full read.
 *
 * A time ahead of this machine's clock never moves the position (change-position.ts): an entry
 * stamped in the future is handed out, and named in the feed's warnings for as long as it is there;
 * a position stored ahead of the clock (by a version that let one move it) asks for a full read.
 *
 * Positions (change-position.ts) move only in commit(). Without one (first start, a lost or
 * unreadable token, a change of mode) a poll takes the current position, before anything else is
 * read, and asks for a full read; committing that batch after the full cycle stores it, so nothing
 * that changed meanwhile is missed.
 */
import type { LdapSourceConfig } from '../../config/schema/index.js';
import type { FeedTokenStore } from '../../state/feed-tokens.js';
import type { ChangeBatch, ChangeFeed } from '../change-feed.js';
import { readAccessLog } from './access-log.js';
import { aheadOfNowSeconds, decodePosition, encodePosition, type Sighting, type TimeWindow, type TimestampPosition, type UsnPosition } from './change-position.js';
import { LdapConnection, type LdapSearcher } from './connection.js';
import { ldapSettings, type LdapSettings } from './flavor-defaults.js';
import { formatGeneralizedTime } from './generalized-time.js';
import { readTimedChanges } from './timestamp-changes.js';
import { controllerName, readDomainController, readUsnChanges } from './usn-changes.js';

export type LdapChangeMode = 'modifyTimestamp' | 'usn' | 'off';

/** What source.changes.mode means for this source. */
export function ldapChangeMode(config: LdapSourceConfig): LdapChangeMode {
  const mode = config.changes.mode;
  if (mode !== 'auto') return mode;
  return config.flavor === 'ad' ? 'usn' : 'modifyTimestamp';
}

const NO_POSITION = 'no earlier position';
/** Where a first position starts reading: every entry (its newest time is the position). */
const EVERYTHING: TimeWindow = { since: 0, seen: {} };

/** Whether a pass that names nobody still moved the position: a newer time, or log records met for the first time. */
function moved(last: TimestampPosition, entries: TimeWindow, log: TimeWindow | undefined): boolean {
  if (entries.since !== last.entries.since) return true;
  if (log === undefined) return false;
  const before = last.log;
  return before === undefined || log.since !== before.since || Object.keys(log.seen).some((id) => before.seen[id] === undefined);
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * The warning that names what a pass met stamped ahead of the clock, or none. The same while the
 * same entries are there (no clock reading in it), so the service logs it once.
 */
function aheadWarning(ahead: readonly Sighting[], what: [string, string], advice: string): string[] {
  if (ahead.length === 0) return [];
  const shown = ahead.slice(0, 3).map((s) => `${s.dn ?? s.id} (${formatGeneralizedTime(s.time!)})`);
  const more = ahead.length > shown.length ? ` and ${ahead.length - shown.length} more` : '';
  return [`${plural(ahead.length, ...what)} stamped ahead of this machine's clock: ${shown.join(', ')}${more}; ${advice}`];
}

/** Whether a stored window lies ahead of the clock, beyond what clocks differ by. */
const aheadOfNow = (window: TimeWindow | undefined, now: number) => window !== undefined && aheadOfNowSeconds(window.since, now);

export class LdapChangeFeed implements ChangeFeed {
  readonly description: string;
  private readonly mode: LdapChangeMode;
  private readonly settings: LdapSettings;
  /** What the last pass found wrong and worked around (see warnings()). */
  private lastWarnings: readonly string[] = [];

  constructor(
    private readonly config: LdapSourceConfig,
    private readonly tokens: FeedTokenStore,
    private readonly name: string,
  ) {
    this.mode = ldapChangeMode(config);
    this.settings = ldapSettings(config);
    const how = this.mode === 'usn' ? 'uSNChanged' : this.mode === 'off' ? 'off' : config.changes.accessLogBase ? 'modifyTimestamp, accesslog' : 'modifyTimestamp';
    this.description = `ldap:${config.url} changes (${how})`;
  }

  async poll(signal?: AbortSignal): Promise<ChangeBatch | null> {
    if (this.mode === 'off') return null;
    signal?.throwIfAborted();
    const stored = await this.tokens.get(this.name);
    const connection = await LdapConnection.open(this.config);
    try {
      return this.mode === 'usn' ? await this.usnPass(connection, stored) : await this.timestampPass(connection, stored, signal);
    } finally {
      await connection.close();
    }
  }

  warnings(): readonly string[] {
    return this.lastWarnings;
  }

  async close(): Promise<void> {
    // Nothing is held between polls.
  }

  private batch(keys: readonly string[], description: string, next: string, full?: string, marks?: ReadonlyMap<string, string>): ChangeBatch {
    let committed = false;
    return {
      keys,
      ...(marks === undefined ? {} : { marks }),
      description,
      ...(full === undefined ? {} : { full }),
      commit: async () => {
        if (committed) return;
        committed = true;
        await this.tokens.set(this.name, next);
      },
    };
  }

  /** Why a stored token gives no position to continue from, or null when it does. */
  private unusable(stored: string | undefined, position: ReturnType<typeof decodePosition>): string | null {
    if (stored === undefined) return NO_POSITION;
    if (position === null) return 'the stored position cannot be read: full read';
    if (position.mode !== this.mode) return `the stored position is for ${position.mode}, the feed now reads ${this.mode}: full read`;
    return null;
  }

  private async timestampPass(searcher: LdapSearcher, stored: string | undefined, signal?: AbortSignal): Promise<ChangeBatch | null> {
    const { overlapSeconds: overlap, accessLogBase } = this.config.changes;
    const users = this.settings.users;
    const now = Math.floor(Date.now() / 1000);
    const position = stored === undefined ? null : decodePosition(stored);
    let unusable = this.unusable(stored, position);
    if (unusable === null) {
      const { entries, log } = position as TimestampPosition;
      // Stored ahead of the clock: the changes made since it was stored are all below it.
      const ahead = aheadOfNow(entries, now) ? entries : aheadOfNow(log, now) ? log! : undefined;
      if (ahead) unusable = `the stored position ${formatGeneralizedTime(ahead.since)} is ahead of this machine's clock (${formatGeneralizedTime(now)}): full read`;
    }
    if (unusable !== null) {
      const taken = await readTimedChanges(searcher, users, EVERYTHING, overlap, now);
      const entries = taken.window;
      signal?.throwIfAborted();
      // The log from the newest entry time: anything older is in the full read this batch asks for.
      const log = accessLogBase ? await readAccessLog(searcher, accessLogBase, this.settings, { since: entries.since, seen: {} }, overlap, now, false) : undefined;
      this.lastWarnings = this.aheadWarnings(taken.ahead, log?.ahead ?? []);
      const next: TimestampPosition = { mode: 'modifyTimestamp', entries, ...(log ? { log: log.window } : {}) };
      return this.batch([], `position taken at ${formatGeneralizedTime(entries.since)}`, encodePosition(next), unusable);
    }
    const last = position as TimestampPosition;
    const changes = await readTimedChanges(searcher, users, last.entries, overlap, now);
    signal?.throwIfAborted();
    // A log configured since the position was stored starts where the entries were.
    const removed = accessLogBase ? await readAccessLog(searcher, accessLogBase, this.settings, last.log ?? { since: last.entries.since, seen: {} }, overlap, now) : undefined;
    this.lastWarnings = this.aheadWarnings(changes.ahead, removed?.ahead ?? []);
    const next = encodePosition({ mode: 'modifyTimestamp', entries: changes.window, ...(removed ? { log: removed.window } : {}) });
    const keys = [...new Set([...changes.keys, ...(removed?.keys ?? [])])];
    const from = formatGeneralizedTime(last.entries.since);
    const description =
      `${plural(changes.keys.length, 'entry', 'entries')} changed` +
      (removed ? `, ${plural(removed.keys.length, 'entry', 'entries')} named by the accesslog (deleted, moved out or group membership)` : '') +
      ` since ${from}`;
    if (removed && removed.unresolved.length > 0) {
      const more = removed.unresolved.length > 1 ? ` (and ${removed.unresolved.length - 1} more)` : '';
      return this.batch(keys, description, next, `${removed.unresolved[0]}${more}: full read`);
    }
    // Nobody to name and no new ground (what was seen may only have been deleted): nothing to store.
    if (keys.length === 0 && !moved(last, changes.window, removed?.window)) return null;
    // Someone the accesslog names has no mark: what it recorded (a deletion, a membership) is not in
    // the entry's version.
    const logged = new Set(removed?.keys ?? []);
    // An empty version (no entryCSN nor timestamp readable: an ACL hides them) tells nothing: no mark.
    const marks = new Map(keys.flatMap((k) => (logged.has(k) || !changes.versions.get(k) ? [] : [[k, changes.versions.get(k)!] as const])));
    return this.batch(keys, description, next, undefined, marks);
  }

  private aheadWarnings(entries: readonly Sighting[], log: readonly Sighting[]): string[] {
    return [
      ...aheadWarning(entries, ['entry', 'entries'], 'each is synced when it changes, but the position does not follow it: check its modifyTimestamp and createTimestamp, or the server\'s clock'),
      ...aheadWarning(log, ['accesslog record', 'accesslog records'], 'is the server\'s clock ahead of this one?'),
    ];
  }

  private async usnPass(searcher: LdapSearcher, stored: string | undefined): Promise<ChangeBatch | null> {
    // Read first: whatever commits while the searches run is above it and is found again next time.
    const dc = await readDomainController(searcher, `LDAP ${this.config.url}`);
    const now: UsnPosition = { mode: 'usn', server: dc.server, invocationId: dc.invocationId, usn: String(dc.highestCommittedUsn) };
    const next = encodePosition(now);
    const name = controllerName(dc.server);
    const position = stored === undefined ? null : decodePosition(stored);
    const unusable = this.unusable(stored, position);
    if (unusable !== null) return this.batch([], `position taken at USN ${now.usn} on ${name}`, next, unusable);
    const last = position as UsnPosition;
    if (last.invocationId.toLowerCase() !== now.invocationId.toLowerCase() || last.server.toLowerCase() !== now.server.toLowerCase()) {
      const was = controllerName(last.server);
      return this.batch([], `invocationID ${last.invocationId} -> ${now.invocationId}`, next, `domain controller ${name}${was !== name ? ` (was ${was})` : ''} changed invocationID: full read`);
    }
    const lastUsn = BigInt(last.usn);
    if (dc.highestCommittedUsn < lastUsn) {
      return this.batch([], `highestCommittedUSN ${last.usn} -> ${now.usn}`, next, `domain controller ${name} went back from USN ${last.usn} to ${now.usn}: full read`);
    }
    if (dc.highestCommittedUsn === lastUsn) return null;
    const changes = await readUsnChanges(searcher, this.settings.users, lastUsn + 1n, `LDAP ${this.config.url}`);
    const description =
      `${plural(changes.changed, 'entry', 'entries')} changed, ${plural(changes.deleted, 'entry', 'entries')} deleted` +
      (changes.outside > 0 ? `, ${plural(changes.outside, 'person', 'people')} changed outside the base` : '') +
      ` since USN ${last.usn} on ${name}`;
    return this.batch(changes.keys, description, next, undefined, changes.versions);
  }
}

/**
 * The Google source's change feed (see ../change-feed.ts): polls the admin activity report (Admin
 * SDK Reports API, activities.list for all users, applicationName=admin) and names the people its
 * events concern, by their source key (the Directory API user id, see google-user.ts).
 *
 * The report is eventually consistent: Google lists an event minutes, at times hours, after its
 * time. Each poll therefore asks again for the last `changes.overlapSeconds` (an hour by default),
 * or from the newest event taken if that is older, and skips the activities the token remembers by
 * id (time and uniqueQualifier). The token remembers every activity taken since the start of any
 * later window (`seenFrom`), and never more than MAX_SEEN of them: past that, the window starts no
 * earlier than what they cover. An event listed later than the window is missed by the feed and
 * caught by the next full reconcile.
 *
 * Events name people by email; each email is looked up (users.get takes a primary address or an
 * alias) to find the key. Google answers an address of a domain the customer does not own with 403
 * or 400, not 404: that too is no person of the directory. An email that no longer resolves (the person was deleted, or renamed
 * and the old address dropped) is looked up in the token's memory of addresses resolved earlier
 * (admins usually suspend before they delete, so a leaver is mostly seen first). One still unknown
 * asks for a full reconcile: the feed cannot name that person, and a deprovision must not wait. So
 * does a membership change of something that is not a person of the directory (a nested group, an
 * outside address), anyone removed from a group (kept so, though a person read alone now takes
 * them out of it too: person-groups.ts), a group renamed or deleted (when groups are read), and a
 * pass that concerns more than MAX_PEOPLE people (one full read is then cheaper than that many
 * lookups).
 *
 * Without a token the first batch asks for a full reconcile, and its commit sets the position to
 * the time of that poll. A position older than the report's retention does the same.
 *
 * `users.watch` push channels are not used: polling covers the same events, without a public
 * endpoint or channel renewal.
 */
import type { GoogleSourceConfig } from '../../config/schema/index.js';
import type { FeedTokenStore } from '../../state/feed-tokens.js';
import type { ChangeBatch, ChangeFeed } from '../change-feed.js';
import { readActivity, type ActivityEffect, type AdminActivity } from './admin-activities.js';
import { adminApi, DIRECTORY, REPORTS_SCOPE, USER_SCOPE } from './admin-client.js';
import { SourceError } from '../../errors.js';
import { digest } from '../../model/record-digest.js';
import type { DirectoryApi } from './directory-api.js';
import type { Pacing } from './google-retry.js';

const REPORT = '/admin/reports/v1/activity/users/all/applications/admin';
const TOKEN_VERSION = 1;
/** The report keeps 180 days; a position older than this misses events for sure. */
const RETENTION_MS = 179 * 24 * 3600 * 1000;
/** More people than this in one pass: a full reconcile, not one lookup per person. */
export const MAX_PEOPLE = 200;
/** Addresses remembered (most recently resolved last): enough for a leaver suspended weeks before deletion. */
const MAX_REMEMBERED = 5000;
/**
 * Activity ids remembered at most: an hour of a very busy customer's admin events, about 1 MB of
 * token. A bulk change beyond it shortens the window for that hour rather than grow the token.
 */
export const MAX_SEEN = 20_000;
/** What a token from before seenFrom covered: the overlap then defaulted to 300 s before `at`. */
const LEGACY_SEEN_MS = 300_000;
/**
 * A position set from our clock (the first, or one past the retention) starts windows this much
 * before it: the full reconcile it asks for covers what came before, but Google stamps events by
 * its own clock, which may be behind ours.
 */
const CLOCK_MARGIN_MS = 300_000;

interface Token {
  /** RFC 3339: the newest event taken, or the first poll's time. */
  readonly at: string;
  /** Ids of every activity taken whose time is at or after seenFrom, oldest first. */
  readonly seen: readonly string[];
  /** RFC 3339: no window starts before this (what `seen` covers). */
  readonly seenFrom: string;
  /** Email (lowercased) -> user key, of people the feed has resolved. */
  readonly emails: ReadonlyMap<string, string>;
}

export interface GoogleChangeFeedOptions {
  /** How retries of a failed request wait; tests pass one that does not sleep. */
  readonly pacing?: Partial<Pacing>;
  /** Activity ids remembered at most; tests make it small. Default MAX_SEEN. */
  readonly maxSeen?: number;
}

const timeOf = (id: string) => Date.parse(id.slice(0, id.indexOf('|')));

/**
 * The ids at or after `from`, oldest first, at most `max`: past that the oldest go, and `from`
 * moves past them (a window that reached them would hand them out again).
 */
function remembered(ids: readonly string[], from: number, max: number): { seen: string[]; seenFrom: string } {
  const kept = ids.filter((id) => timeOf(id) >= from).sort((a, b) => timeOf(a) - timeOf(b));
  if (kept.length <= max) return { seen: kept, seenFrom: new Date(from).toISOString() };
  const after = timeOf(kept[kept.length - max - 1]!) + 1;
  return { seen: kept.filter((id) => timeOf(id) >= after), seenFrom: new Date(after).toISOString() };
}

export class GoogleChangeFeed implements ChangeFeed {
  readonly description: string;
  private readonly overlapMs: number;
  private api: Promise<DirectoryApi> | undefined;

  constructor(
    private readonly config: GoogleSourceConfig,
    private readonly tokens: FeedTokenStore,
    private readonly name: string,
    private readonly options: GoogleChangeFeedOptions = {},
  ) {
    this.description = `google:${config.domain ?? config.customer} changes (admin activity report)`;
    this.overlapMs = (config.changes?.overlapSeconds ?? 3600) * 1000;
  }

  private client(): Promise<DirectoryApi> {
    // One client (and so one access token, renewed as it nears expiry) for the feed's life.
    this.api ??= adminApi(this.config, [REPORTS_SCOPE, USER_SCOPE], this.options.pacing);
    return this.api;
  }

  private async stored(): Promise<Token | undefined> {
    const raw = await this.tokens.get(this.name);
    if (raw === undefined) return undefined;
    try {
      const doc = JSON.parse(raw) as { v?: unknown; at?: unknown; seen?: unknown; seenFrom?: unknown; emails?: unknown };
      if (doc.v !== TOKEN_VERSION || typeof doc.at !== 'string' || Number.isNaN(Date.parse(doc.at)) || !Array.isArray(doc.seen)) return undefined;
      const emails = doc.emails && typeof doc.emails === 'object' ? Object.entries(doc.emails).filter((e): e is [string, string] => typeof e[1] === 'string') : [];
      const seenFrom = typeof doc.seenFrom === 'string' && !Number.isNaN(Date.parse(doc.seenFrom)) ? doc.seenFrom : new Date(Date.parse(doc.at) - LEGACY_SEEN_MS).toISOString();
      return { at: doc.at, seen: doc.seen.filter((s): s is string => typeof s === 'string'), seenFrom, emails: new Map(emails) };
    } catch {
      return undefined;
    }
  }

  private batch(keys: string[], description: string, next: Token, full?: string, marks?: ReadonlyMap<string, string>): ChangeBatch {
    return {
      keys,
      ...(marks === undefined ? {} : { marks }),
      description,
      ...(full !== undefined ? { full } : {}),
      commit: async () => {
        const emails = [...next.emails].slice(-MAX_REMEMBERED);
        await this.tokens.set(this.name, JSON.stringify({ v: TOKEN_VERSION, at: next.at, seen: next.seen, seenFrom: next.seenFrom, emails: Object.fromEntries(emails) }));
      },
    };
  }

  async poll(): Promise<ChangeBatch | null> {
    const token = await this.stored();
    const now = Date.now();
    const where = `the admin activity report of ${this.description.split(' ')[0]}`;
    if (!token) {
      const fresh = { at: new Date(now).toISOString(), seen: [], seenFrom: new Date(now - CLOCK_MARGIN_MS).toISOString(), emails: new Map<string, string>() };
      return this.batch([], `no earlier position in ${where}`, fresh, `no earlier position in ${where}`);
    }
    const at = Date.parse(token.at);
    if (now - at > RETENTION_MS) {
      const reason = `the last position in ${where} (${token.at}) is older than the report keeps events`;
      return this.batch([], reason, { ...token, at: new Date(now).toISOString(), seen: [], seenFrom: new Date(now - CLOCK_MARGIN_MS).toISOString() }, reason);
    }

    const api = await this.client();
    // Late events are what the window is for, not the position: it reaches back from now, however
    // recent the newest event taken (and from that event, when the feed has been quiet longer).
    const seenFrom = Date.parse(token.seenFrom);
    const startTime = new Date(Math.max(seenFrom, Math.min(at, now - this.overlapMs))).toISOString();
    const listed = (await api.listAll(REPORT, { startTime, maxResults: '1000' }, 'items')).map(readActivity).filter((a): a is AdminActivity => a !== undefined);
    const seen = new Set(token.seen);
    const fresh = listed.filter((a) => !seen.has(a.id));
    if (fresh.length === 0) return null;

    // Positions come from Google's clock (the events' times), never from ours.
    const newest = Math.max(at, ...listed.map((a) => Date.parse(a.time)));
    // Later windows start no earlier than this (now only moves on); never before what `seen` covered.
    const keepFrom = Math.max(seenFrom, Math.min(newest, now - this.overlapMs));
    const next = {
      at: new Date(newest).toISOString(),
      ...remembered([...new Set([...token.seen, ...listed.map((a) => a.id)])], keepFrom, this.options.maxSeen ?? MAX_SEEN),
      emails: new Map(token.emails),
    };
    const events = `${fresh.length} admin event${fresh.length === 1 ? '' : 's'} since ${startTime}`;
    const effects = fresh.flatMap((a) => a.effects).filter((e) => this.concerns(e));
    if (effects.length === 0) return this.batch([], `${events}, none about the people or groups read`, next);

    const groupChange = effects.find((e) => e.kind === 'group');
    if (groupChange) return this.batch([], events, next, `${groupChange.event} of ${groupChange.group}: the group's members all change`);
    // A person read alone comes with the groups they are in now: the group they left is not among
    // them, so naming them would change nothing, and committing would drop the removal.
    const left = effects.find((e) => e.kind === 'member' && e.leaves);
    if (left?.kind === 'member') return this.batch([], events, next, `${left.event} of ${left.email} from ${left.group}: only a full read sees the group someone left`);
    const emails = new Set(effects.flatMap((e) => (e.kind === 'person' ? e.emails : e.kind === 'member' ? [e.email] : [])));
    if (emails.size > MAX_PEOPLE) return this.batch([], events, next, `${events} name ${emails.size} addresses, more than ${MAX_PEOPLE}: one full read is cheaper`);

    const found = new Map<string, string>();
    let answered = false;
    let refused: string | undefined;
    for (const email of emails) {
      const user = await api.lookup(`${DIRECTORY}/users/${encodeURIComponent(email)}`, { projection: 'basic' });
      if ('found' in user) {
        answered = true;
        if (typeof user.found['id'] === 'string') found.set(email, user.found['id']);
      } else if (user.absent === 'refused') refused ??= `${email} (${user.answer})`;
    }
    if (refused !== undefined && !answered) await this.confirmUsersReadable(api, refused);
    const keys = new Set<string>();
    // Per key, the ids of the events that named them: a later event about them changes the mark.
    const named = new Map<string, string[]>();
    for (const a of fresh) {
      for (const effect of a.effects) {
        if (!this.concerns(effect)) continue;
        const emails = effect.kind === 'person' ? effect.emails : effect.kind === 'member' ? [effect.email] : [];
        for (const e of emails) for (const key of [found.get(e), token.emails.get(e)]) if (key !== undefined) named.set(key, [...(named.get(key) ?? []), a.id]);
      }
    }
    for (const effect of effects) {
      const named = effect.kind === 'person' ? effect.emails : effect.kind === 'member' ? [effect.email] : [];
      const current = named.map((e) => found.get(e)).filter((k): k is string => k !== undefined);
      // A deleted person's address may already belong to someone else: name both.
      const before = named.map((e) => token.emails.get(e)).filter((k): k is string => k !== undefined);
      if (current.length + before.length === 0) {
        const what = effect.kind === 'person' ? 'no such user now, and the address was not seen before' : 'not a person of the directory (a nested group or an outside address)';
        return this.batch([], events, next, `${effect.event} of ${named.join(' -> ')}: ${what}`);
      }
      for (const key of [...current, ...before]) keys.add(key);
      // Remembered under every address the event used (a rename's old one too), most recent last.
      if (current.length > 0) {
        for (const e of named) {
          next.emails.delete(e);
          next.emails.set(e, current[current.length - 1]!);
        }
      }
    }
    const marks = new Map([...keys].map((k) => [k, digest([...new Set(named.get(k) ?? [])].sort()).slice(0, 16)]));
    return this.batch([...keys], `${events}: ${keys.size} ${keys.size === 1 ? 'person' : 'people'}`, next, undefined, marks);
  }

  /**
   * Google refuses to look up another customer's address as it refuses an admin who may not read
   * users at all. Read as "no such person", the second would ask for a full reconcile every poll
   * that then fails; so, when no address of the pass was answered, one page of the directory
   * tells which it is, and a refusal there fails the poll, loudly.
   */
  private async confirmUsersReadable(api: DirectoryApi, refused: string): Promise<void> {
    const scope = this.config.domain ? { domain: this.config.domain } : { customer: this.config.customer };
    try {
      await api.get(`${DIRECTORY}/users`, { ...scope, maxResults: '1', projection: 'basic' });
    } catch (error) {
      if (!(error instanceof SourceError)) throw error;
      throw new SourceError(`Google Workspace: ${this.config.subject} may not read users, it seems: the lookup of ${refused} was refused, and so was a page of users: ${error.message}`, {}, {
        cause: error,
      });
    }
  }

  /** Events about another domain of the customer, or about groups when none are read, concern no one here. */
  private concerns(effect: ActivityEffect): boolean {
    if (effect.kind !== 'person' && this.config.groups?.enabled !== true) return false;
    const domain = this.config.domain?.toLowerCase();
    if (!domain) return true;
    const ours = (email: string) => email.endsWith(`@${domain}`);
    return effect.kind === 'person' ? effect.emails.some(ours) : effect.kind === 'member' ? ours(effect.email) || ours(effect.group) : ours(effect.group);
  }

  async close(): Promise<void> {
    // Nothing held open: each request is its own.
  }
}

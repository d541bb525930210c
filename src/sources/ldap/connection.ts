/**
 * The LDAP connection: ldaps:// or ldap:// with StartTLS, an optional CA file, a simple bind, and
 * paged searches (simple paged results control, RFC 2696). ldapts opens, secures and binds the
 * connection and encodes the requests; the answers are read by our own decoder (message-channel),
 * which is what makes reading a large directory about as fast as OpenLDAP's ldapsearch.
 *
 * Every failure becomes a SourceError naming the server, base and filter: a lost connection, a
 * size or time limit hit (never read as the end of the data), a referral we do not follow, a
 * timeout. It never reconnects in the middle of a read: a fresh connection would be unbound and see
 * less.
 */
import { readFileSync } from 'node:fs';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { Client, Control, FilterParser, InvalidCredentialsError, PagedResultsControl, ResultCodeError, SearchRequest as SearchRequestMessage, type Filter } from 'ldapts';
import type { LdapSourceConfig } from '../../config/schema/index.js';
import { SourceError } from '../../errors.js';
import type { LdapEntry } from './entry.js';
import { MessageChannel, type SearchAnswer } from './message-channel.js';
import type { FetchAttribute } from './range.js';
import { AttributeNames } from './attribute-list.js';

export interface SearchRequest {
  readonly base: string;
  readonly scope: 'base' | 'one' | 'sub';
  readonly filter: string;
  readonly attributes: readonly string[];
  /** Attributes whose values are returned as bytes, never decoded as text. */
  readonly binaryAttributes?: readonly string[];
  /** Controls without a value sent with the search besides paging, e.g. AD's show-deleted. */
  readonly controls?: readonly { readonly oid: string; readonly critical: boolean }[];
  /** false: no paged-results control (a read of the root DSE, which some servers refuse to page). Default true. */
  readonly paged?: boolean;
  /** 'none': a base that does not exist answers no entries instead of failing the read. Default 'fail'. */
  readonly absentBase?: 'fail' | 'none';
  /**
   * 'skip': continuation references are dropped, for a search that wants only the entries this server
   * holds (AD's domain root refers to its DNS and configuration partitions). Default 'refuse'
   * (source.ignoreReferrals applies).
   */
  readonly references?: 'refuse' | 'skip';
}

/**
 * A search made ready to follow another: handed to that one's search(), it is sent the moment the
 * other's last page is answered, while that page is still being handled. Its pages are read as a
 * search's are; read before it was sent, it is sent then.
 */
export interface FollowingSearch {
  readonly pages: AsyncIterable<readonly LdapEntry[]>;
  /** Sends the first page request (once; later calls do nothing). */
  start(): void;
}

/** What the readers need from a directory: paged searches. The seam the AD-only logic is tested through. */
export interface LdapSearcher {
  /**
   * Yields the entries page by page; throws SourceError when the read cannot be complete. `then`
   * is started as soon as this search's last page is answered (one connection: the server works on
   * it while we handle that page).
   */
  search(request: SearchRequest, then?: FollowingSearch): AsyncIterable<readonly LdapEntry[]>;
  /** A search to hand to another's search() as `then`; a searcher without it reads one search after another. */
  following?(request: SearchRequest): FollowingSearch;
}

/** Reads one entry's attribute by a base search (range retrieval). */
export function fetchAttributeVia(searcher: LdapSearcher, binaryAttributes: readonly string[] = []): FetchAttribute {
  return async (dn, attribute) => {
    for await (const page of searcher.search({ base: dn, scope: 'base', filter: '(objectClass=*)', attributes: [attribute], binaryAttributes })) {
      if (page[0]) return page[0];
    }
    return null;
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function describeLdapError(error: unknown): string {
  if (error instanceof ResultCodeError) return `${error.message.trim() || error.name} (LDAP result ${error.code})`;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** What a failed SearchResultDone means for the read (RFC 4511 appendix A). */
function describeResult(answer: SearchAnswer): string {
  const { resultCode, diagnostic, referrals } = answer.result;
  const said = diagnostic.trim() ? `: "${diagnostic.trim()}"` : '';
  const code = (name: string) => `(${name}, LDAP result ${resultCode}${said})`;
  switch (resultCode) {
    case 3:
      return `the server time limit was hit ${code('timeLimitExceeded')}: the answer is incomplete`;
    case 4:
      return `the server size limit was hit ${code('sizeLimitExceeded')}: the answer is incomplete`;
    case 10:
      return `the server referred the search to ${referrals.join(', ') || 'another server'} ${code('referral')}; referrals are not followed`;
    case 11:
      return `an administrative limit was hit ${code('adminLimitExceeded')}: the answer is incomplete`;
    case 32:
      return `the search base does not exist ${code('noSuchObject')}`;
    default:
      return `the search failed (LDAP result ${resultCode}${said})`;
  }
}

/**
 * Which setting lifts a limit that stops a paged read. OpenLDAP caps the total of a paged search at
 * the size limit too, unless the reading account has `size.prtotal` raised; AD caps pages at
 * MaxPageSize (pageSize above it is refused or truncated).
 */
function limitHint(answer: SearchAnswer): string {
  const code = answer.result.resultCode;
  if (code === 4 || code === 11) {
    return (
      '. The reading account needs a higher limit for paged searches: on OpenLDAP olcLimits for its DN with size.prtotal=unlimited ' +
      '(and size.soft/size.hard at least pageSize); on Active Directory a pageSize at most MaxPageSize (1000 by default)'
    );
  }
  if (code === 3) return '. Raise the server time limit for the reading account (OpenLDAP: olcLimits time=unlimited) or narrow the search';
  return '';
}

const NO_COOKIE = Buffer.alloc(0);

/** Where a search's errors say they happened, and how its pages are asked for. */
interface Pager {
  readonly where: string;
  ask(cookie: Buffer, pageSize: number, answered?: (answer: SearchAnswer) => void): Promise<SearchAnswer>;
}
const NO_SUCH_OBJECT = 32;

export class LdapConnection implements LdapSearcher {
  /** Reads our searches' answers once the connection is bound. */
  private channel: MessageChannel | null = null;

  private constructor(
    private readonly client: Client,
    private readonly config: LdapSourceConfig,
    private readonly socket: () => Socket | undefined,
  ) {}

  /** Connects, upgrades to TLS as configured and binds. */
  static async open(config: LdapSourceConfig): Promise<LdapConnection> {
    const url = new URL(config.url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const tls: ConnectionOptions = {
      // A name to check the certificate against; SNI refuses IP addresses.
      ...(config.tls.serverName ? { servername: config.tls.serverName } : isIP(host) ? { host } : { servername: host }),
    };
    if (config.tls.caFile) {
      try {
        tls.ca = readFileSync(config.tls.caFile);
      } catch (error) {
        throw new SourceError(`source.tls.caFile ${config.tls.caFile}: cannot read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    }
    const secure = url.protocol.toLowerCase() === 'ldaps:';
    // ldapts makes the sockets through these hooks, so the one it ends up using (TLS after StartTLS) is known.
    let socket: Socket | undefined;
    const client = new Client({
      url: config.url,
      timeout: config.timeoutMs,
      connectTimeout: config.connectTimeoutMs,
      // ldapts treats any tlsOptions as "connect with TLS": give them for ldaps:// only.
      ...(secure ? { tlsOptions: tls } : {}),
      strictDN: false,
      createConnection: ((...args: Parameters<typeof netConnect>) => (socket = netConnect(...args))) as typeof netConnect,
      createSecureConnection: ((...args: Parameters<typeof tlsConnect>) => (socket = tlsConnect(...args))) as typeof tlsConnect,
    });
    const connection = new LdapConnection(client, config, () => socket);
    const step = async (what: string, action: () => Promise<void>): Promise<void> => {
      try {
        await withTimeout(action(), config.connectTimeoutMs + config.timeoutMs, what);
      } catch (error) {
        await connection.close();
        const network = (error as NodeJS.ErrnoException).code;
        if (typeof network === 'string' && /^E[A-Z]+$/.test(network)) {
          // ldapts connects on the first request: say that the connection failed, not the bind.
          throw new SourceError(`LDAP ${config.url}: cannot connect to ${url.host} (${network})`, {}, { cause: error });
        }
        const reason = error instanceof InvalidCredentialsError ? 'invalid credentials' : describeLdapError(error);
        throw new SourceError(`LDAP ${config.url}: ${what} failed: ${reason}`, {}, { cause: error });
      }
    };
    if (!secure && config.startTls) await step('StartTLS', () => client.startTLS(tls));
    const bind = config.bind;
    if (bind) await step(`bind as ${bind.dn}`, () => client.bind(bind.dn, bind.password.reveal()));
    else await step('connect', () => client.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] }).then(() => undefined));
    return connection;
  }

  /** The request of each page of one search, sent on this connection (throws SourceError when it cannot be). */
  private pager(request: SearchRequest): Pager {
    const where = `LDAP ${this.config.url}: search base "${request.base}" filter ${request.filter}`;
    const channel = this.usableChannel(where);
    let filter: Filter;
    try {
      filter = FilterParser.parseString(request.filter);
    } catch (error) {
      throw new SourceError(`${where}: the filter is not valid LDAP filter syntax (${describeLdapError(error)})`, {}, { cause: error });
    }
    const options = { binary: new Set((request.binaryAttributes ?? []).map((a) => a.toLowerCase())), names: new AttributeNames() };
    const extra = (request.controls ?? []).map((c) => new Control(c.oid, { critical: c.critical }));
    const paged = request.paged ?? true;
    const ask = (cookie: Buffer, pageSize: number, answered?: (answer: SearchAnswer) => void): Promise<SearchAnswer> =>
      channel.request(
        (messageId) =>
          new SearchRequestMessage({
            messageId,
            baseDN: request.base,
            scope: request.scope,
            filter,
            attributes: [...request.attributes],
            // 0 = no client-side limit: a server limit then fails the search instead of truncating it.
            sizeLimit: 0,
            timeLimit: this.config.timeLimitSeconds,
            derefAliases: 'never',
            controls: paged ? [new PagedResultsControl({ value: { size: pageSize, cookie } }), ...extra] : extra,
          }).write(),
        options,
        this.config.timeoutMs,
        answered,
      );
    return { where, ask };
  }

  following(request: SearchRequest): FollowingSearch {
    let pager: Pager | undefined;
    let first: Promise<SearchAnswer> | undefined;
    const start = (): void => {
      if (first || pager) return;
      try {
        pager = this.pager(request);
      } catch {
        return; // the same SourceError is thrown when its pages are read
      }
      first = pager.ask(NO_COOKIE, this.config.pageSize);
      // Awaited when the pages are read; the read that was to come first may fail before they are.
      first.catch(() => undefined);
    };
    const pages = (async function* (connection: LdapConnection) {
      start();
      yield* connection.pages(request, pager ?? connection.pager(request), first);
    })(this);
    return { pages, start };
  }

  search(request: SearchRequest, then?: FollowingSearch): AsyncIterable<readonly LdapEntry[]> {
    // The pager is made when the pages are first asked for, as a generator's body runs.
    return (async function* (connection: LdapConnection) {
      yield* connection.pages(request, connection.pager(request), undefined, then);
    })(this);
  }

  private async *pages(request: SearchRequest, { where, ask }: Pager, first: Promise<SearchAnswer> | undefined, then?: FollowingSearch): AsyncIterable<readonly LdapEntry[]> {
    // The next page is asked for as the channel reads this one's cookie, before this page's promise
    // settles and its entries are handed on: the server prepares it while we handle this one. After
    // the last page (no cookie to go on with) the following search is sent the same way.
    let next: Promise<SearchAnswer> | null = null;
    let stopping = false;
    // Once a page came with a cookie, an answer without the paging control is a server (or a proxy)
    // that lost the paging state, not the last page (RFC 2696 ends with an empty cookie): read as
    // complete, everyone after it would count as gone.
    let paged = false;
    const answered = (answer: SearchAnswer): void => {
      if (stopping || answer.result.resultCode !== 0) return;
      if (answer.cookie && answer.cookie.length > 0) {
        paged = true;
        next = ask(answer.cookie, this.config.pageSize, answered);
        // Awaited with the next page; the connection may fail before that.
        next.catch(() => undefined);
      } else if (answer.cookie !== null || !paged) then?.start();
    };
    let count = 0;
    let pending: Promise<SearchAnswer> | null = first ?? ask(NO_COOKIE, this.config.pageSize, answered);
    try {
      while (pending) {
        let answer: SearchAnswer;
        try {
          answer = await pending;
        } catch (error) {
          pending = null;
          throw new SourceError(`${where}: ${describeLdapError(error)} after ${count} entries`, {}, { cause: error });
        }
        // Already asked for (answered), or asked for below; released in `finally` if we stop here.
        pending = next;
        next = null;
        if (request.references !== 'skip') this.refuseReferences(where, answer.references);
        if (answer.result.resultCode === NO_SUCH_OBJECT && request.absentBase === 'none') return;
        if (answer.result.resultCode === NO_SUCH_OBJECT) {
          // The base is the cause, whatever the filter (the first search may be the disabled-accounts one).
          throw new SourceError(`LDAP ${this.config.url}: the search base "${request.base}" does not exist (noSuchObject, LDAP result 32): check the configured base DN`);
        }
        if (answer.result.resultCode !== 0) {
          throw new SourceError(`${where}: ${describeResult(answer)} after ${count + answer.entries.length} entries${limitHint(answer)}`);
        }
        if (answer.cookie === null && paged) {
          throw new SourceError(
            `${where}: the server stopped paging after ${count + answer.entries.length} entries (a page came back without the paged-results control): the answer is incomplete, not the whole directory`,
          );
        }
        if (answer.cookie && answer.cookie.length > 0) paged = true;
        count += answer.entries.length;
        // A first page asked for by following() had no `answered`: its next page is asked for here.
        if (!pending && answer.cookie && answer.cookie.length > 0) pending = ask(answer.cookie, this.config.pageSize, answered);
        yield answer.entries;
      }
    } finally {
      // Left early (the reader stopped, or failed): release the server's paging state (RFC 2696: size 0).
      stopping = true;
      if (pending) {
        const unread = await pending.catch(() => null);
        if (unread?.cookie && unread.cookie.length > 0) await ask(unread.cookie, 0).catch(() => null);
      }
    }
  }

  private refuseReferences(where: string, references: readonly string[]): void {
    const refused = references.filter((ref) => !this.config.ignoreReferrals.some((prefix) => ref.toLowerCase().startsWith(prefix.toLowerCase())));
    if (refused.length > 0) {
      throw new SourceError(
        `${where}: the server referred part of the answer to ${refused.join(', ')}; referrals are not followed, so the read is incomplete ` +
          '(narrow the base, or list harmless ones in source.ignoreReferrals)',
      );
    }
  }

  /** ldapts would reconnect silently, unbound and without TLS: a dropped connection ends the read. */
  private usableChannel(where: string): MessageChannel {
    const socket = this.socket();
    if (!this.client.isConnected || (this.config.bind && !this.client.isBound) || !socket || this.channel?.broken) {
      throw new SourceError(`${where}: ${this.channel?.broken?.message ?? 'the connection to the server was lost'}`);
    }
    this.channel ??= new MessageChannel(socket);
    return this.channel;
  }

  async close(): Promise<void> {
    this.channel?.release();
    this.channel = null;
    try {
      await this.client.unbind();
    } catch {
      // Closing a connection that already failed: nothing left to release.
    }
  }
}

/**
 * The LDAP connection: ldaps:// or ldap:// with StartTLS, an optional CA file, a simple bind, and
 * paged searches (simple paged results control, RFC 2696). Every failure becomes a SourceError naming
 * the server, base and filter: a lost connection, a size or time limit hit (never read as the end of
 * the data), a referral we do not follow, a timeout. It never reconnects in the middle of a read: a
 * fresh connection would be unbound and see less.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Client, InvalidCredentialsError, ResultCodeError, SizeLimitExceededError, TimeLimitExceededError } from 'ldapts';
import type { LdapSourceConfig } from '../../config/schema.js';
import { SourceError } from '../../errors.js';
import { toLdapEntry, type LdapEntry } from './entry.js';
import type { FetchAttribute } from './range.js';

export interface SearchRequest {
  readonly base: string;
  readonly scope: 'base' | 'one' | 'sub';
  readonly filter: string;
  readonly attributes: readonly string[];
  /** Attributes whose values are returned as bytes, never decoded as text. */
  readonly binaryAttributes?: readonly string[];
}

/** What the readers need from a directory: paged searches. The seam the AD-only logic is tested through. */
export interface LdapSearcher {
  /** Yields the entries page by page; throws SourceError when the read cannot be complete. */
  search(request: SearchRequest): AsyncIterable<readonly LdapEntry[]>;
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
  if (error instanceof SizeLimitExceededError) return 'the server size limit was hit (sizeLimitExceeded): the answer is incomplete';
  if (error instanceof TimeLimitExceededError) return 'the server time limit was hit (timeLimitExceeded): the answer is incomplete';
  if (error instanceof ResultCodeError) return `${error.message.trim() || error.name} (LDAP result ${error.code})`;
  if (error instanceof Error) return error.message;
  return String(error);
}

export class LdapConnection implements LdapSearcher {
  private constructor(
    private readonly client: Client,
    private readonly config: LdapSourceConfig,
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
    const client = new Client({
      url: config.url,
      timeout: config.timeoutMs,
      connectTimeout: config.connectTimeoutMs,
      // ldapts treats any tlsOptions as "connect with TLS": give them for ldaps:// only.
      ...(secure ? { tlsOptions: tls } : {}),
      strictDN: false,
    });
    const connection = new LdapConnection(client, config);
    const step = async (what: string, action: () => Promise<void>): Promise<void> => {
      try {
        await withTimeout(action(), config.connectTimeoutMs + config.timeoutMs, what);
      } catch (error) {
        await connection.close();
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

  async *search(request: SearchRequest): AsyncIterable<readonly LdapEntry[]> {
    const where = `LDAP ${this.config.url}: search base "${request.base}" filter ${request.filter}`;
    this.ensureUsable(where);
    let count = 0;
    const pages = this.client.searchPaginated(request.base, {
      scope: request.scope,
      filter: request.filter,
      attributes: [...request.attributes],
      explicitBufferAttributes: [...(request.binaryAttributes ?? [])],
      paged: { pageSize: this.config.pageSize },
      // 0 = no client-side limit: a server limit then fails the search instead of truncating it.
      sizeLimit: 0,
      timeLimit: this.config.timeLimitSeconds,
      derefAliases: 'never',
    });
    const iterator = pages[Symbol.asyncIterator]();
    for (;;) {
      let next: IteratorResult<{ searchEntries: Record<string, unknown>[]; searchReferences: string[] }>;
      try {
        this.ensureUsable(where);
        next = (await iterator.next()) as typeof next;
      } catch (error) {
        if (error instanceof SourceError) throw error;
        throw new SourceError(`${where}: ${describeLdapError(error)} after ${count} entries`, {}, { cause: error });
      }
      if (next.done) return;
      const refused = next.value.searchReferences.filter(
        (ref) => !this.config.ignoreReferrals.some((prefix) => ref.toLowerCase().startsWith(prefix.toLowerCase())),
      );
      if (refused.length > 0) {
        throw new SourceError(
          `${where}: the server referred part of the answer to ${refused.join(', ')}; referrals are not followed, so the read is incomplete ` +
            '(narrow the base, or list harmless ones in source.ignoreReferrals)',
        );
      }
      count += next.value.searchEntries.length;
      yield next.value.searchEntries.map((e) => toLdapEntry(e as Record<string, unknown> & { dn: string }));
    }
  }

  /** ldapts would reconnect silently, unbound and without TLS: a dropped connection ends the read. */
  private ensureUsable(where: string): void {
    if (!this.client.isConnected || (this.config.bind && !this.client.isBound)) {
      throw new SourceError(`${where}: the connection to the server was lost`);
    }
  }

  async close(): Promise<void> {
    try {
      await this.client.unbind();
    } catch {
      // Closing a connection that already failed: nothing left to release.
    }
  }
}

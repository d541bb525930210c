/**
 * SCIM 2.0 over HTTP (transport.ts). Turns every response into a resource or a typed error (via
 * error-mapping.ts). Every request, retries included, passes the target's request budget. Reads
 * (GET) are retried here, by retry-policy.ts; writes are retried by the executor, which knows
 * whether a retry is safe. The transport itself retries nothing.
 */
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { redact } from '../../config/secret.js';
import { AuthError, BadRequestError, isRetryable, NotFoundError, ProtocolError, RateLimitedError, StoppedError, TransientError, type ErrorContext } from '../../errors.js';
import { DEFAULT_RETRY_POLICY, retryDelay, type RetryPolicy } from './retry-policy.js';
import {
  SCHEMA_PATCH_OP,
  type JsonObject,
  type PatchOperation,
  type ScimListResponse,
  type ServerResource,
} from '../../model/scim.js';
import { eqFilter, memberCheckFilter } from '../scim-filter.js';
import type { BulkOperation, BulkResult, ListOptions, LookupAttribute, MemberChange, ResourceType, ScimTarget, WriteOptions } from '../scim-target.js';
import { shapePatch, type ShapeOf } from '../patch-shape.js';
import { resourcePath } from '../resource-path.js';
import { createdMismatch } from '../created-answer.js';
import { clip } from '../../model/printable.js';
import { resolveQuirks, supportsOperator, type RateLimit, type TargetQuirks } from '../../config/profiles.js';
import { authProvider, type AuthProvider, type ClientAuth } from './auth.js';
import { errorForStatus, errorForTransport, errorInBody } from './error-mapping.js';
import { parseSchemas, type TargetSchemas } from '../../model/scim-schema.js';
import { parseCapabilities, DEFAULT_CAPABILITIES, type ScimCapabilities } from './capabilities.js';
import { BudgetRefused, MAX_REFUSAL_MS, sharedBudget, timerDelay, type RequestBudget, type Release } from './request-budget.js';
import { isBlank, parseJsonBody } from './json-body.js';
import { Transport, type HttpAnswer, type TlsMaterial } from './transport.js';
import { requestEnded } from './request-events.js';
import { HeldBytes, PagesAhead } from './pages-ahead.js';

export type { ClientAuth } from './auth.js';

const SCHEMA_BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';

export interface ScimClientOptions {
  /** Target name, for errors. */
  target: string;
  baseUrl: string;
  auth: ClientAuth;
  /** Per-request timeout, ms. */
  timeoutMs: number;
  /** Sockets kept open to the server; match the target's concurrency. */
  maxSockets: number;
  /** Retries of reads (GET) on network errors, 5xx and 429. Default: retry-policy.ts defaults. */
  readRetry?: RetryPolicy;
  /** The server's quirks, resolved from profile and overrides. Default: generic (RFC as written). */
  quirks?: TargetQuirks;
  /** Budget for every request to this target; null = unlimited. Default: quirks.rateLimit. */
  rateLimit?: RateLimit | null;
  /** PEM material from the target's `tls` settings. */
  tls?: TlsMaterial;
  /** Largest response body read, bytes (after decompression); a larger one fails the request. Default DEFAULT_MAX_RESPONSE_BYTES. */
  maxResponseBytes?: number;
}

/** 64 MiB: a page of 1,000 fat users is a few MB; far more is a server gone wrong, not data. */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;


/** Page size when neither the config nor the server's discovery says one. */
const DEFAULT_PAGE_SIZE = 100;
/** Largest page asked for, whatever discovery admits. */
const MAX_PAGE_SIZE = 1000;

interface RawPage {
  resources: JsonObject[];
  totalResults: number;
  /**
   * The answer's bytes as received (how large a page of this listing is: PagesAhead), compressed if
   * the server compressed it: one measure for pages read at once and pages held as received.
   */
  size: number;
}

interface HeldPage {
  answer: HttpAnswer;
  /** Its bytes as received and held: HttpAnswer.received. */
  size: number;
}

/** Answers asked for ahead and not yet read (PagesAhead): at most 64 MB of them in the process, all listings together. */
const HELD = new HeldBytes(64 * 1024 * 1024);

/** The path and query of a listing's page. */
function pagePath(type: ResourceType, options: ListOptions & { pageSize: number }, startIndex: number): string {
  const query = new URLSearchParams({ startIndex: String(startIndex), count: String(options.pageSize) });
  if (options.filter) query.set('filter', options.filter);
  if (options.attributes?.length) query.set('attributes', options.attributes.join(','));
  if (options.excludedAttributes?.length) query.set('excludedAttributes', options.excludedAttributes.join(','));
  return `/${type}?${query.toString()}`;
}

/** A page past this many is a server that never ends a listing: refuse rather than spin. */
const MAX_PAGES = 100_000;

/**
 * A URL without its user:password part: an HTTP library may send it as Basic auth whatever the
 * target's `auth` says; the config refuses such URLs, and this keeps it so for any other caller.
 */
function withoutUserInfo(url: string): string {
  const u = new URL(url);
  if (!u.username && !u.password) return url;
  u.username = '';
  u.password = '';
  return u.toString();
}

/** A write's answer as the resource the server says it now holds; null without one (204, or no id to trust). */
function answered(body: JsonObject | null): ServerResource | null {
  return body && typeof body['id'] === 'string' && body['id'] !== '' ? (body as ServerResource) : null;
}

/** The ScimTarget adapter over HTTP (see scim-target.ts for the role). */
export class ScimClient implements ScimTarget {
  readonly target: string;
  readonly name: string;
  readonly quirks: TargetQuirks;
  /** Proxy the requests go through (credentials hidden), or null. */
  readonly proxy: string | null;
  /** What discover() found; DEFAULT_CAPABILITIES until it ran. Callers get it from discover(), as a value. */
  private capabilities: ScimCapabilities = DEFAULT_CAPABILITIES;
  private discovered = false;
  private readonly transport: Transport;
  private readonly base: string;
  /** The base URL's path ('/scim/v2'), which every request path starts with. */
  private readonly basePath: string;
  /** Headers every request carries, before its credential and its own. */
  private readonly fixedHeaders: Record<string, string>;
  /**
   * The fixed headers with the credential's, with and without a body's content-type, for the
   * credential's headers object they were made from (a new object when the credential changes).
   * Merged afresh for each request, it was about 3% of the process's CPU in a profile of 2,000
   * creates. A holder, so that the views stoppedBy() makes (one per operation) share it.
   */
  private readonly merged: { current?: { credential: Record<string, string>; bare: Record<string, string>; withBody: Record<string, string> } } = {};
  private readonly auth: AuthProvider;
  private readonly budget: RequestBudget;
  private readonly createBudget: RequestBudget | null;
  private readonly readRetry: RetryPolicy;
  private readonly maxResponseBytes: number;
  /** List pages in flight at once (the connections kept to the server). */
  private readonly listConcurrency: number;
  /** Set on a view made by stoppedBy(): its signal, and whether a write of the view has been answered with success. */
  private stop: { signal: AbortSignal; wrote: boolean } | undefined;

  constructor(options: ScimClientOptions) {
    this.target = options.target;
    this.name = options.target;
    this.base = withoutUserInfo(options.baseUrl).replace(/\/+$/, '');
    this.quirks = options.quirks ?? resolveQuirks('generic');
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.auth = authProvider(options.auth, { target: options.target, timeoutMs: options.timeoutMs, tls: options.tls, maxResponseBytes: this.maxResponseBytes });
    this.budget = sharedBudget(`${this.target} ${this.base}`, options.rateLimit !== undefined ? options.rateLimit : this.quirks.rateLimit);
    this.createBudget = this.quirks.createRateLimit ? sharedBudget(`${this.target} ${this.base} POST /Users`, this.quirks.createRateLimit) : null;
    this.readRetry = options.readRetry ?? DEFAULT_RETRY_POLICY;
    this.listConcurrency = Math.max(1, options.maxSockets);
    this.transport = new Transport(this.base, { maxSockets: options.maxSockets, timeoutMs: options.timeoutMs, maxResponseBytes: this.maxResponseBytes, tls: options.tls });
    this.proxy = this.transport.proxy;
    this.basePath = new URL(this.base).pathname.replace(/\/+$/, '');
    this.fixedHeaders = {
      accept: 'application/scim+json, application/json',
      'accept-encoding': 'gzip, deflate, br',
      'user-agent': 'scim-sync/0.1',
      // Lower-case already (resolveQuirks), so a profile's header replaces ours rather than doubling it.
      ...this.quirks.headers,
    };
  }

  /**
   * This client for one operation that `signal` stops: once it aborts, a request of the view that
   * has not begun, or waits (for the budget, a Retry-After, a read's retry), is not sent and fails
   * with StoppedError; a request in flight ends as it would. After a write of the view has been
   * answered with success, the operation has changed the target and its requests go on to its end.
   * The view shares everything else with this client (connections, budget, credential).
   */
  stoppedBy(signal: AbortSignal): ScimClient {
    const view = Object.assign(Object.create(ScimClient.prototype) as ScimClient, this);
    view.stop = { signal, wrote: false };
    return view;
  }

  /** The stop signal this request heeds: none once the view's write went through. */
  private stopSignal(): AbortSignal | undefined {
    return this.stop && !this.stop.wrote ? this.stop.signal : undefined;
  }

  private stoppedError(context: ErrorContext): StoppedError {
    const reason = this.stop?.signal.reason;
    return new StoppedError(`not sent: ${reason instanceof Error ? reason.message : 'stopped'}`, context, { cause: reason });
  }

  /**
   * One request; returns the parsed JSON body (or null for 204) or throws a typed error. A GET is
   * retried per the read retry policy; a rejected OAuth token is renewed once.
   */
  private request(method: string, path: string, body?: unknown, ctx: ErrorContext = {}, version?: string): Promise<JsonObject | null> {
    return this.retried(method, path, ctx, async (context) => this.interpret(await this.exchange(method, path, body, context, version), context));
  }

  /** `attempt` until it succeeds, as request() says: a GET per the read retry policy, a rejected OAuth token renewed once. */
  private async retried<T>(method: string, path: string, ctx: ErrorContext, attempt: (context: ErrorContext) => Promise<T>): Promise<T> {
    const context: ErrorContext = { target: this.target, request: `${method} ${path.split('?')[0]}`, ...ctx };
    let renewed = false;
    for (let tries = 1; ; tries++) {
      try {
        const answer = await attempt(context);
        if (this.stop && method !== 'GET') this.stop.wrote = true;
        return answer;
      } catch (error) {
        // A 401 from the SCIM server (not from a token endpoint) may be a token revoked early.
        if (error instanceof AuthError && error.context.status === 401 && error.context.request === context.request && !renewed && this.auth.renew()) {
          renewed = true;
          continue;
        }
        const delay = method === 'GET' ? retryDelay(error, tries, this.readRetry) : null;
        if (delay === null) throw error;
        const signal = this.stopSignal();
        await sleep(timerDelay(delay), undefined, signal ? { signal } : {}).catch(() => {
          throw this.stoppedError(context);
        });
      }
    }
  }

  /** One request sent through the budget; its answer as received, an error status thrown as its typed error. */
  private async exchange(method: string, path: string, body: unknown, context: ErrorContext, version: string | undefined, keepEncoded = false): Promise<HttpAnswer> {
    const signal = this.stopSignal();
    if (signal?.aborted) throw this.stoppedError(context);
    const isCreate = method === 'POST' && path === '/Users';
    let releaseCreate: Release | undefined;
    let release: Release;
    try {
      releaseCreate = isCreate && this.createBudget ? await this.createBudget.acquire(signal) : undefined;
      // Most requests find a token free: no promise, no tick.
      release = this.budget.tryAcquire() ?? (await this.budget.acquire(signal));
    } catch (error) {
      releaseCreate?.();
      if (error instanceof BudgetRefused) throw this.refusedError(error, context);
      throw signal?.aborted ? this.stoppedError(context) : error;
    }
    let response: HttpAnswer;
    let began = 0;
    try {
      // The credential is taken once the budget lets the request go: a token fetched before a long
      // wait could expire on the way.
      const headers = this.headersFor(await this.auth.headers(), body !== undefined, version);
      began = performance.now();
      response = await this.transport.send({ method, path: this.basePath + path, headers, body: body === undefined ? undefined : JSON.stringify(body), keepEncoded });
    } catch (error) {
      if (began) requestEnded({ target: this.target, method, status: 0, seconds: (performance.now() - began) / 1000 });
      throw errorForTransport(error, context, this.base);
    } finally {
      release();
      releaseCreate?.();
    }
    const error = response.status >= 300 ? errorForStatus(response.status, response.headers, response.body, context) : undefined;
    const retryAfterMs = error instanceof RateLimitedError ? error.retryAfterMs : undefined;
    requestEnded({ target: this.target, method, status: response.status, seconds: (performance.now() - began) / 1000, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
    if (error) {
      if (error instanceof RateLimitedError) this.budget.penalise(error.retryAfterMs, this.readRetry.maxRetryAfterMs);
      throw error;
    }
    return response;
  }

  /** A request's headers: shared objects, frozen (the transport only reads them; a change would go out on every later request). */
  private headersFor(credential: Record<string, string>, hasBody: boolean, version: string | undefined): Record<string, string> {
    let merged = this.merged.current;
    if (merged?.credential !== credential) {
      const bare = Object.freeze({ ...this.fixedHeaders, ...credential });
      merged = this.merged.current = { credential, bare, withBody: Object.freeze({ ...bare, 'content-type': 'application/scim+json' }) };
    }
    const headers = hasBody ? merged.withBody : merged.bare;
    return version === undefined ? headers : { ...headers, 'if-match': version };
  }

  /** A successful answer's body: a JSON object (null for none), or the typed error it is (an error in a 200's body, garbage). */
  private interpret(response: HttpAnswer, context: ErrorContext): JsonObject | null {
    if (response.status === 204 || isBlank(response.bytes)) return null;
    let parsed: unknown;
    try {
      parsed = parseJsonBody(response.bytes);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    } catch {
      const excerpt = redact(response.body.replace(/\s+/g, ' ')).slice(0, 120);
      throw new ProtocolError(`answer is not a SCIM JSON object: "${excerpt}"`, { ...context, status: response.status });
    }
    const refused = errorInBody(response.status, response.headers, parsed as JsonObject, () => response.body, context);
    if (refused) {
      if (refused instanceof RateLimitedError) this.budget.penalise(refused.retryAfterMs, this.readRetry.maxRetryAfterMs);
      throw refused;
    }
    return parsed as JsonObject;
  }

  /**
   * A request the budget refused: the server asked for a pause longer than the retry policy waits
   * (maxRetryAfterMs), so the request fails now, rather than holding it and every other for that long.
   */
  private refusedError(refusal: BudgetRefused, context: ErrorContext): RateLimitedError {
    const remaining = refusal.until - Date.now();
    const asked = `the server asked for a pause of ${Math.ceil(refusal.retryAfterMs / 1000)} s (Retry-After), longer than the ${Math.round(this.readRetry.maxRetryAfterMs / 1000)} s requests are held for`;
    const asksAgain = refusal.retryAfterMs > MAX_REFUSAL_MS ? ` (an hour at most: then it is asked again)` : '';
    return new RateLimitedError(`rate limited: ${asked}; requests to ${this.target} fail until ${new Date(refusal.until).toISOString()}${asksAgain}`, context, Math.max(0, remaining));
  }

  /**
   * The first page of a listing, through the same checks as pages() (a ListResponse, a numeric
   * totalResults, an id on every resource): what `check` reads to prove a sync can list.
   */
  async firstPage(type: ResourceType, count: number): Promise<{ resources: ServerResource[]; totalResults: number }> {
    const { fresh, totalResults } = await this.page(type, { pageSize: count }, this.quirks.startIndex === 'zero-based' ? 0 : 1, new Set());
    return { resources: fresh, totalResults };
  }

  private resource(body: JsonObject | null, ctx: ErrorContext): ServerResource {
    if (!body || typeof body['id'] !== 'string' || body['id'] === '') {
      throw new ProtocolError('answer lacks the resource id', { target: this.target, ...ctx });
    }
    return body as ServerResource;
  }

  async discover(): Promise<ScimCapabilities> {
    this.discovered = true;
    try {
      this.capabilities = parseCapabilities(await this.request('GET', '/ServiceProviderConfig'));
    } catch (error) {
      // Servers without the discovery endpoint exist; assume the RFC's common ground.
      if (!(error instanceof NotFoundError)) throw error;
      this.capabilities = DEFAULT_CAPABILITIES;
    }
    return this.capabilities;
  }

  /**
   * The schema extensions the server lists for Users (RFC 7644 §4, /ResourceTypes/User), lowercased;
   * null when it does not say (no such endpoint, or an answer without `schemaExtensions`): then
   * nothing is assumed missing.
   */
  async userSchemaExtensions(): Promise<ReadonlySet<string> | null> {
    const type = await this.discoveryDocument('/ResourceTypes/User');
    const listed = type?.['schemaExtensions'];
    if (!Array.isArray(listed)) return null;
    const schemas = listed.map((e) => (e && typeof e === 'object' && !Array.isArray(e) ? e['schema'] : undefined));
    return new Set(schemas.filter((s): s is string => typeof s === 'string').map((s) => s.toLowerCase()));
  }

  /**
   * The schemas the server describes (RFC 7644 §4, /Schemas), for checking mapped values against
   * them; null when it serves none (no endpoint, an answer not understood, or no schema in it).
   */
  async schemas(): Promise<TargetSchemas | null> {
    const body = await this.discoveryDocument('/Schemas');
    const parsed = body ? parseSchemas(body) : null;
    return parsed && parsed.size > 0 ? parsed : null;
  }

  /** A discovery document, or null when the server does not serve it (404, 4xx/501, not SCIM JSON). */
  private async discoveryDocument(path: string): Promise<JsonObject | null> {
    try {
      return await this.request('GET', path);
    } catch (error) {
      // Not there, or not understood: servers are uneven about discovery, and it only informs.
      if (error instanceof NotFoundError || error instanceof BadRequestError || error instanceof ProtocolError) return null;
      throw error;
    }
  }

  /**
   * The page size to ask for: the configured one, else the largest the server admits (discovery's
   * filter.maxResults, at most MAX_PAGE_SIZE; DEFAULT_PAGE_SIZE when it does not say); capped by the
   * profile and by what discovery said either way.
   */
  pageSize(wanted?: number): number {
    const said = this.capabilities.filter.maxResults;
    const chosen = wanted ?? (said !== null && said > 0 ? MAX_PAGE_SIZE : DEFAULT_PAGE_SIZE);
    return Math.min(chosen, this.quirks.maxPageSize ?? Infinity, said !== null && said > 0 ? said : Infinity);
  }

  /**
   * Every resource of a type, page by page. Ends on an empty page, or on a short page once
   * totalResults is reached (a short page alone may be the server capping `count`); a full page at
   * totalResults gets one more request, in case the count was too low; skips resources a page
   * repeats (servers with an off-by-one startIndex); refuses a server whose later page repeats
   * earlier ones entirely while totalResults says more exist (it ignores startIndex, and the
   * listing would be partial), and a listing that ends short of totalResults (refuseShortfall).
   * Quirks: `totalResults: unreliable` ends on a short page alone, and accepts fewer than announced;
   * `startIndex: zero-based` counts from 0; `startIndex: ignored` reads one page of the largest size
   * and refuses when the server holds more.
   *
   * When totalResults can be trusted, from the third page on the pages it announces are requested
   * ahead (pages-ahead.ts): as many at once as the target has connections, the next as soon as one
   * is answered, at the startIndexes the loop would ask for next (the first page's length apart),
   * held as received (64 MB at most in the process: HELD); they are still read in order through
   * the same checks, and one the loop does not reach (a short page moved the next startIndex) is
   * dropped unread. A page the read-ahead had no room for, the loop asks for itself.
   * `readAfter`: pages after the second are read once it resolves (their answers held meanwhile).
   */
  async *pages(type: ResourceType, options: ListOptions): AsyncGenerator<ServerResource[]> {
    const seen = new Set<string>();
    const request = `GET /${type}`;
    const pageSize = this.pageSize(options.pageSize);
    const list = { ...options, pageSize };
    const trustTotal = this.quirks.totalResults === 'exact';
    if (this.quirks.startIndex === 'ignored') {
      const { fresh, totalResults } = await this.page(type, list, 1, seen);
      if (fresh.length === 0) this.refuseShortfall(0, totalResults, request, options.filter !== undefined);
      if (trustTotal && totalResults > fresh.length) {
        throw new ProtocolError(
          `the server ignores startIndex (quirk startIndex: ignored) and holds ${totalResults} resources, more than one page of ${pageSize}`,
          { target: this.target, request },
        );
      }
      if (fresh.length > 0) yield fresh;
      return;
    }
    const first = this.quirks.startIndex === 'zero-based' ? 0 : 1;
    const ahead = new PagesAhead((at) => this.heldPage(type, list, at), this.listConcurrency, HELD);
    const fetch = async (startIndex: number): Promise<RawPage> => {
      const held = ahead.take(startIndex);
      return held ? this.readHeld(await held, type, list, startIndex) : this.rawPage(type, list, startIndex);
    };
    let readAfter = options.readAfter;
    let total = 0;
    /** totalResults as the last page said it, trusted or not. */
    let announced = 0;
    let startIndex = first;
    let page = 0;
    let step = 0;
    try {
      for (; page < MAX_PAGES; page++) {
        if (page >= 2 && readAfter) {
          await readAfter;
          readAfter = undefined;
        } else if (ahead.arrived(startIndex)) {
          // Already here: a turn of the event loop first, so that the answers that arrived
          // meanwhile are taken in and the next pages asked for while this one is read.
          await nextTurn();
        }
        const { resources, totalResults, size } = await fetch(startIndex);
        const fresh = this.accept(resources, seen, request);
        // Taken before the yield: `fresh` may be the page's own array, and the caller's to keep.
        const listed = resources.length;
        const freshCount = fresh.length;
        announced = totalResults;
        total = trustTotal ? totalResults : 0;
        if (page === 0) step = listed;
        if (freshCount > 0) yield fresh;
        if (listed === 0) break;
        if (freshCount === 0) {
          if (seen.size < total) {
            throw new ProtocolError(
              `the server repeats page ${page} at startIndex ${startIndex} while totalResults says ${total} exist (${seen.size} seen): ` +
                'it ignores startIndex, so the listing cannot be completed',
              { target: this.target, request },
            );
          }
          break;
        }
        if (seen.size >= total && listed < pageSize) break;
        startIndex += listed;
        // Ahead: the pages totalResults says remain, only once a second page brought new resources
        // (a server that ignores startIndex costs no extra request).
        if (trustTotal && step > 0 && page >= 1) ahead.from(startIndex, step, first + total, size);
      }
    } finally {
      // Pages asked for and never reached: their answers are dropped (failures included).
      ahead.close();
    }
    if (page >= MAX_PAGES) throw new ProtocolError(`listing never ended after ${MAX_PAGES} pages`, { target: this.target, request });
    if (first === 1 && seen.size < total) {
      // Fewer than announced: either totalResults is wrong, or the server counts from 0 and
      // startIndex=1 skipped its first resource. One probe at 0 tells (a compliant server treats
      // it as 1 and repeats what we have).
      const { fresh } = await this.page(type, list, 0, seen);
      if (fresh.length > 0) yield fresh;
    }
    if (seen.size === 0 || seen.size < total) this.refuseShortfall(seen.size, seen.size === 0 ? announced : total, request, options.filter !== undefined);
  }

  /**
   * A listing that ended before the count the server announced: read as complete, the missing
   * accounts would look absent, and each linked person would be planned as a create (a request
   * each, and duplicates where the server takes them). None at all while the count says some exist
   * is refused whatever the quirks say; fewer than announced, unless `totalResults: unreliable`.
   */
  private refuseShortfall(listed: number, announced: number, request: string, filtered = false): void {
    // A search (a lookup by userName, by externalId) is an answer whatever count a server puts
    // beside it: some give the collection's size, with a hit or a miss.
    if (listed >= announced || filtered) return;
    const why = listed === 0 ? 'no resource at all' : `only ${listed} resources`;
    throw new ProtocolError(
      `the listing ended with ${why} while totalResults says ${announced} exist: refused, as a partial listing would read as missing accounts` +
        (listed > 0 ? ' (set quirks.totalResults: unreliable if this server miscounts)' : ''),
      { target: this.target, request },
    );
  }

  private async page(type: ResourceType, options: ListOptions & { pageSize: number }, startIndex: number, seen: Set<string>) {
    const { resources, totalResults } = await this.rawPage(type, options, startIndex);
    return { resources, fresh: this.accept(resources, seen, `GET /${type}`), totalResults };
  }

  /** One page as the server answered it, checked to be a ListResponse with a numeric totalResults. */
  private rawPage(type: ResourceType, options: ListOptions & { pageSize: number }, startIndex: number): Promise<RawPage> {
    const path = pagePath(type, options, startIndex);
    return this.retried('GET', path, {}, async (context) => {
      const answer = await this.exchange('GET', path, undefined, context, undefined);
      return this.listPage(this.interpret(answer, context), type, answer.received);
    });
  }

  /**
   * A page asked for ahead (PagesAhead): its answer as received, its status checked, its body read
   * when the listing reaches it (readHeld). Held as the server encoded it: a compressed page is a
   * tenth of its text or less, so the bound on held bytes keeps ten times as many pages ahead.
   */
  private async heldPage(type: ResourceType, options: ListOptions & { pageSize: number }, startIndex: number): Promise<HeldPage> {
    const path = pagePath(type, options, startIndex);
    const answer = await this.retried('GET', path, {}, (context) => this.exchange('GET', path, undefined, context, undefined, true));
    return { answer, size: answer.received };
  }

  /**
   * A page asked for ahead, read: decoded if it was held encoded, then as rawPage() reads one. A
   * body that is a transient error (a 503 or a 429 inside a 200, or bytes that do not decode) is
   * asked for again as any page is, retries and all.
   */
  private async readHeld(held: HeldPage, type: ResourceType, options: ListOptions & { pageSize: number }, startIndex: number): Promise<RawPage> {
    const context = { target: this.target, request: `GET /${type}` };
    try {
      const answer = await this.transport.decoded(held.answer).catch((error: unknown) => {
        throw errorForTransport(error, context, this.base);
      });
      return this.listPage(this.interpret(answer, context), type, held.size);
    } catch (error) {
      if (isRetryable(error)) return this.rawPage(type, options, startIndex);
      throw error;
    }
  }

  private listPage(answer: JsonObject | null, type: ResourceType, size: number): RawPage {
    const body = answer as unknown as ScimListResponse | null;
    const request = `GET /${type}`;
    if (!body || (body.Resources !== undefined && !Array.isArray(body.Resources))) {
      throw new ProtocolError('list answer is not a SCIM ListResponse', { target: this.target, request });
    }
    const totalResults = Number(body.totalResults);
    if (!Number.isFinite(totalResults)) {
      throw new ProtocolError('list answer lacks a numeric totalResults', { target: this.target, request });
    }
    return { resources: body.Resources ?? [], totalResults, size };
  }

  /**
   * The resources of a page not seen before, in order; every one must carry its id. One set
   * operation per resource (add, then the size says whether it was new), and the page itself when
   * nothing in it repeats (as on every page of a sound server): no copy of it.
   */
  private accept(resources: readonly JsonObject[], seen: Set<string>, request: string): ServerResource[] {
    let fresh: ServerResource[] | null = null;
    for (let i = 0; i < resources.length; i++) {
      const r: unknown = resources[i];
      if (r === null || typeof r !== 'object' || Array.isArray(r)) {
        const what = r === null ? 'null' : Array.isArray(r) ? 'an array' : `a ${typeof r}`;
        throw new ProtocolError(`a listed resource is ${what}, not a SCIM resource (Resources[${i}])`, { target: this.target, request });
      }
      const id = (r as JsonObject)['id'];
      // An empty id would name the collection in every URL built from it (resource-path.ts).
      if (typeof id !== 'string' || id === '') throw new ProtocolError('a listed resource lacks its id', { target: this.target, request });
      const size = seen.size;
      seen.add(id);
      if (seen.size !== size) fresh?.push(r as ServerResource);
      else fresh ??= resources.slice(0, i) as ServerResource[];
    }
    return fresh ?? (resources as ServerResource[]);
  }

  async listAll(type: ResourceType, options: ListOptions): Promise<ServerResource[]> {
    const all: ServerResource[] = [];
    for await (const page of this.pages(type, options)) for (const r of page) all.push(r);
    return all;
  }

  /**
   * Resources matching an `eq` filter. A server without filters (per discovery or quirks) is not
   * asked: many answer an unsupported filter with an empty list, which would read as "not found".
   */
  async findBy(type: ResourceType, attribute: LookupAttribute, value: string): Promise<ServerResource[]> {
    const filter = eqFilter(attribute, value);
    if (!this.capabilities.filter.supported || !supportsOperator(this.quirks, 'eq')) {
      throw new ProtocolError(`this server does not support filters, so ${type} cannot be looked up (${filter})`, { target: this.target, request: `GET /${type}` });
    }
    return this.listAll(type, { filter, pageSize: 10 });
  }

  /** A resource's path, refused (before any request) for an id no URL can carry. */
  private path(type: ResourceType, id: string, method: string, resource: string): string {
    return resourcePath(type, id, { target: this.target, resource, request: `${method} /${type}/${id}` });
  }

  async withMembers(group: ServerResource, among?: readonly string[]): Promise<ServerResource> {
    if (this.quirks.groupMembersInList) return 'members' in group ? group : this.get('Groups', group.id);
    if (!among) return group;
    const held = await this.membersAmong(group.id, among);
    return { ...group, members: held.map((value) => ({ value })) };
  }

  /**
   * Which of `among` the group holds, one filtered request per user (memberCheckFilter), up to the
   * target's concurrency at once, in the order of `among`. A server without the filter cannot say:
   * refused, since members read as none would never be removed.
   */
  private async membersAmong(groupId: string, among: readonly string[]): Promise<string[]> {
    const request = 'GET /Groups';
    if (!this.capabilities.filter.supported || !supportsOperator(this.quirks, 'eq') || !supportsOperator(this.quirks, 'and')) {
      throw new ProtocolError(
        'group members cannot be read: the profile says the server returns none (groupMembersInList: false), and it has no eq-and filter to ask with',
        { target: this.target, request, resource: groupId },
      );
    }
    const held = new Set<string>();
    let next = 0;
    const worker = async () => {
      while (next < among.length) {
        const userId = among[next++]!;
        const { fresh } = await this.page('Groups', { filter: memberCheckFilter(groupId, userId), pageSize: 1 }, 1, new Set());
        if (fresh.some((g) => g.id === groupId)) held.add(userId);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.listConcurrency, among.length) }, worker));
    return among.filter((id) => held.has(id));
  }

  async get(type: ResourceType, id: string): Promise<ServerResource> {
    return this.resource(await this.request('GET', this.path(type, id, 'GET', id)), { resource: id });
  }

  /**
   * A create answered with success but without the id (some gateways lose it for names holding
   * `+`, a quote or `/`) is ambiguous, like a lost answer: the resource may well exist, and the
   * caller looks it up instead of failing or posting it again. So is one answered with another
   * resource (created-answer.ts): its id is not taken for the new one's.
   */
  async create(type: ResourceType, body: JsonObject, resource: string): Promise<ServerResource> {
    const answer = await this.request('POST', `/${type}`, body, { resource });
    const context = { target: this.target, resource, request: `POST /${type}` };
    if (!answer || typeof answer['id'] !== 'string' || answer['id'] === '') {
      throw new TransientError('the server answered the create with success but without the resource id: it may exist', context, true);
    }
    const mismatch = createdMismatch(body, answer);
    if (mismatch) {
      throw new TransientError(
        `the server answered the create with another resource (id ${clip(answer['id'], 100)}, ${mismatch}): not linked to it; it may exist, and is looked up by externalId`,
        context,
        true,
      );
    }
    return answer as ServerResource;
  }

  // `options.version`: the resource's meta.version when it was read; sent as If-Match (a 412 means it changed since).

  async replace(type: ResourceType, id: string, body: JsonObject, resource: string, options: WriteOptions = {}): Promise<ServerResource | null> {
    return answered(await this.request('PUT', this.path(type, id, 'PUT', resource), { ...body, id }, { resource }, options.version));
  }

  async patch(type: ResourceType, id: string, operations: PatchOperation[], resource: string, options: WriteOptions = {}): Promise<ServerResource | null> {
    return answered(await this.request('PATCH', this.path(type, id, 'PATCH', resource), this.patchBody(operations, options.shapeOf), { resource }, options.version));
  }

  /** Members added by SCIM id, removed by a `value eq` path each: one PATCH. */
  async patchMembers(groupId: string, change: MemberChange, label: string): Promise<void> {
    const operations: PatchOperation[] = [];
    if (change.add.length > 0) operations.push({ op: 'add', path: 'members', value: change.add.map((value) => ({ value })) });
    for (const value of change.remove) operations.push({ op: 'remove', path: `members[${eqFilter('value', value)}]` });
    if (operations.length > 0) await this.patch('Groups', groupId, operations, label);
  }

  /** A PatchOp message in the shape this server takes: `shapeOf` per attribute, else the quirk. */
  patchBody(operations: PatchOperation[], shapeOf?: ShapeOf): JsonObject {
    return { schemas: [SCHEMA_PATCH_OP], Operations: shapePatch(operations, shapeOf ?? this.quirks.patchShape) as unknown as JsonObject[] };
  }

  /**
   * /Bulk limits when this client should use it (quirk bulk: auto, and discovery says supported),
   * else null. Discovers first when nothing did yet (applying a saved plan).
   */
  async bulkLimits(): Promise<{ maxOperations: number; maxPayloadSize: number } | null> {
    if (this.quirks.bulk !== 'auto') return null;
    if (!this.discovered) {
      try {
        await this.discover();
      } catch {
        // The single requests that follow report what is wrong with this server.
        return null;
      }
    }
    const bulk = this.capabilities.bulk;
    if (this.quirks.bulk !== 'auto' || !bulk.supported || bulk.maxOperations < 2) return null;
    return { maxOperations: bulk.maxOperations, maxPayloadSize: bulk.maxPayloadSize || Infinity };
  }

  /**
   * One /Bulk request (RFC 7644 §3.7); every operation's outcome, in order, with its status as a
   * number. An operation the server did not get to (failOnErrors) has no result.
   */
  async bulk(operations: BulkOperation[]): Promise<BulkResult[]> {
    const body = { schemas: [SCHEMA_BULK_REQUEST], Operations: operations };
    const answer = await this.request('POST', '/Bulk', body, { resource: `${operations.length} operations` });
    const results = answer?.['Operations'];
    if (!Array.isArray(results)) throw new ProtocolError('bulk answer lacks Operations', { target: this.target, request: 'POST /Bulk' });
    return results.map((r) => {
      const o = (r && typeof r === 'object' && !Array.isArray(r) ? r : {}) as JsonObject;
      return {
        ...(typeof o['bulkId'] === 'string' ? { bulkId: o['bulkId'] } : {}),
        ...(typeof o['method'] === 'string' ? { method: o['method'] } : {}),
        status: Number(o['status']),
        ...(typeof o['location'] === 'string' ? { location: o['location'] } : {}),
        ...(o['response'] !== undefined ? { response: o['response'] } : {}),
      };
    });
  }

  async delete(type: ResourceType, id: string, resource: string, version?: string): Promise<void> {
    await this.request('DELETE', this.path(type, id, 'DELETE', resource), undefined, { resource }, version);
  }
}

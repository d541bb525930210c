/**
 * SCIM 2.0 over HTTP (got). Turns every response into a resource or a typed error (via
 * error-mapping.ts). got retries reads only (GET is idempotent); writes are retried by the executor,
 * which knows whether a retry is safe.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import got, { RequestError, type Got, type Method } from 'got';
import { ProtocolError, type ErrorContext } from '../../errors.js';
import type { Secret } from '../../config/secret.js';
import {
  SCHEMA_PATCH_OP,
  type JsonObject,
  type PatchOperation,
  type ScimListResponse,
  type ScimResource,
} from '../../model/scim.js';
import { errorForNetwork, errorForStatus } from './error-mapping.js';
import { parseCapabilities, DEFAULT_CAPABILITIES, type ScimCapabilities } from './capabilities.js';

export type ResourceType = 'Users' | 'Groups';

export type ClientAuth =
  | { type: 'bearer'; token: Secret }
  | { type: 'basic'; username: string; password: Secret }
  | { type: 'none' };

export interface ScimClientOptions {
  /** Target name, for errors. */
  target: string;
  baseUrl: string;
  auth: ClientAuth;
  /** Per-request timeout, ms. */
  timeoutMs: number;
  /** Sockets kept open to the server; match the target's concurrency. */
  maxSockets: number;
  /** Retries of reads (GET) on network errors, 5xx and 429. */
  readRetries?: number;
  userAgent?: string;
}

export interface ListOptions {
  filter?: string;
  attributes?: string[];
  excludedAttributes?: string[];
  pageSize: number;
}

/** A page past this many is a server that never ends a listing: refuse rather than spin. */
const MAX_PAGES = 100_000;

export class ScimClient {
  readonly target: string;
  private readonly http: Got;
  private readonly base: string;

  constructor(options: ScimClientOptions) {
    this.target = options.target;
    this.base = options.baseUrl.replace(/\/+$/, '');
    const authorization =
      options.auth.type === 'bearer'
        ? `Bearer ${options.auth.token.reveal()}`
        : options.auth.type === 'basic'
          ? `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password.reveal()}`).toString('base64')}`
          : undefined;
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets };
    this.http = got.extend({
      headers: {
        accept: 'application/scim+json, application/json',
        'user-agent': options.userAgent ?? 'scim-sync/0.1',
        ...(authorization ? { authorization } : {}),
      },
      agent: { http: new HttpAgent(agentOptions), https: new HttpsAgent(agentOptions) },
      timeout: { request: options.timeoutMs },
      throwHttpErrors: false,
      followRedirect: false,
      retry: {
        limit: options.readRetries ?? 3,
        methods: ['GET'],
        statusCodes: [408, 429, 500, 502, 503, 504],
        maxRetryAfter: 120_000,
        backoffLimit: 30_000,
      },
    });
  }

  private url(path: string): string {
    return `${this.base}${path}`;
  }

  /** One request; returns the parsed JSON body (or null for 204) or throws a typed error. */
  async request(method: Method, path: string, body?: unknown, ctx: ErrorContext = {}): Promise<JsonObject | null> {
    const context: ErrorContext = { target: this.target, request: `${method} ${path.split('?')[0]}`, ...ctx };
    let response;
    try {
      response = await this.http(this.url(path), {
        method,
        ...(body !== undefined
          ? { body: JSON.stringify(body), headers: { 'content-type': 'application/scim+json' } }
          : {}),
      });
    } catch (error) {
      if (error instanceof RequestError) throw errorForNetwork(error, context);
      throw error;
    }
    const text = response.body;
    if (response.statusCode >= 300) throw errorForStatus(response.statusCode, response.headers, text, context);
    if (response.statusCode === 204 || text.trim() === '') return null;
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      return parsed as JsonObject;
    } catch {
      const excerpt = text.replace(/\s+/g, ' ').slice(0, 120);
      throw new ProtocolError(`answer is not a SCIM JSON object: "${excerpt}"`, { ...context, status: response.statusCode });
    }
  }

  private resource(body: JsonObject | null, ctx: ErrorContext): ScimResource {
    if (!body || typeof body['id'] !== 'string' || body['id'] === '') {
      throw new ProtocolError('answer lacks the resource id', { target: this.target, ...ctx });
    }
    return body as ScimResource;
  }

  async discover(): Promise<ScimCapabilities> {
    try {
      return parseCapabilities(await this.request('GET', '/ServiceProviderConfig'));
    } catch (error) {
      // Servers without the discovery endpoint exist; assume the RFC's common ground.
      if ((error as { code?: string }).code === 'NOT_FOUND') return DEFAULT_CAPABILITIES;
      throw error;
    }
  }

  /**
   * Every resource of a type, page by page. Ends on an empty page, or on a short page once
   * totalResults is reached (a short page alone may be the server capping `count`); a full page at
   * totalResults gets one more request, in case the count was too low; skips resources a page
   * repeats (servers with an off-by-one startIndex); refuses a server whose later page repeats
   * earlier ones entirely while totalResults says more exist (it ignores startIndex, and the
   * listing would be partial).
   */
  async *pages(type: ResourceType, options: ListOptions): AsyncGenerator<ScimResource[]> {
    const seen = new Set<string>();
    const request = `GET /${type}`;
    let total = 0;
    let startIndex = 1;
    let page = 0;
    for (; page < MAX_PAGES; page++) {
      const { resources, fresh, totalResults } = await this.page(type, options, startIndex, seen);
      total = totalResults;
      if (fresh.length > 0) yield fresh;
      if (resources.length === 0) break;
      if (fresh.length === 0) {
        if (seen.size < total) {
          throw new ProtocolError(
            `the server repeats page ${page} at startIndex ${startIndex} while totalResults says ${total} exist (${seen.size} seen): ` +
              'it ignores startIndex, so the listing cannot be completed',
            { target: this.target, request },
          );
        }
        break;
      }
      if (seen.size >= total && resources.length < options.pageSize) break;
      startIndex += resources.length;
    }
    if (page >= MAX_PAGES) throw new ProtocolError(`listing never ended after ${MAX_PAGES} pages`, { target: this.target, request });
    if (seen.size < total) {
      // Fewer than announced: either totalResults is wrong, or the server counts from 0 and
      // startIndex=1 skipped its first resource. One probe at 0 tells (a compliant server treats
      // it as 1 and repeats what we have).
      const { fresh } = await this.page(type, options, 0, seen);
      if (fresh.length > 0) yield fresh;
    }
  }

  private async page(type: ResourceType, options: ListOptions, startIndex: number, seen: Set<string>) {
    const query = new URLSearchParams({ startIndex: String(startIndex), count: String(options.pageSize) });
    if (options.filter) query.set('filter', options.filter);
    if (options.attributes?.length) query.set('attributes', options.attributes.join(','));
    if (options.excludedAttributes?.length) query.set('excludedAttributes', options.excludedAttributes.join(','));
    const body = (await this.request('GET', `/${type}?${query.toString()}`)) as unknown as ScimListResponse | null;
    const request = `GET /${type}`;
    if (!body || (body.Resources !== undefined && !Array.isArray(body.Resources))) {
      throw new ProtocolError('list answer is not a SCIM ListResponse', { target: this.target, request });
    }
    const totalResults = Number(body.totalResults);
    if (!Number.isFinite(totalResults)) {
      throw new ProtocolError('list answer lacks a numeric totalResults', { target: this.target, request });
    }
    const resources = body.Resources ?? [];
    const fresh: ScimResource[] = [];
    for (const r of resources) {
      const id = r['id'];
      if (typeof id !== 'string') throw new ProtocolError('a listed resource lacks its id', { target: this.target, request });
      if (!seen.has(id)) {
        seen.add(id);
        fresh.push(r);
      }
    }
    return { resources, fresh, totalResults };
  }

  async listAll(type: ResourceType, options: ListOptions): Promise<ScimResource[]> {
    const all: ScimResource[] = [];
    for await (const page of this.pages(type, options)) for (const r of page) all.push(r);
    return all;
  }

  async find(type: ResourceType, filter: string): Promise<ScimResource[]> {
    return this.listAll(type, { filter, pageSize: 10 });
  }

  async get(type: ResourceType, id: string): Promise<ScimResource> {
    return this.resource(await this.request('GET', `/${type}/${encodeURIComponent(id)}`), { resource: id });
  }

  async create(type: ResourceType, body: JsonObject, resource: string): Promise<ScimResource> {
    return this.resource(await this.request('POST', `/${type}`, body, { resource }), { resource });
  }

  async replace(type: ResourceType, id: string, body: JsonObject, resource: string): Promise<void> {
    await this.request('PUT', `/${type}/${encodeURIComponent(id)}`, { ...body, id }, { resource });
  }

  async patch(type: ResourceType, id: string, operations: PatchOperation[], resource: string): Promise<void> {
    await this.request('PATCH', `/${type}/${encodeURIComponent(id)}`, { schemas: [SCHEMA_PATCH_OP], Operations: operations }, { resource });
  }

  async delete(type: ResourceType, id: string, resource: string): Promise<void> {
    await this.request('DELETE', `/${type}/${encodeURIComponent(id)}`, undefined, { resource });
  }
}

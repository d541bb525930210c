import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SCHEMA_ENTERPRISE_USER, SCHEMA_LIST_RESPONSE } from '../model/scim.js';
import type { JsonObject, JsonValue } from '../model/scim.js';
import { resourceTypeOf } from './attribute-schema.js';
import type { ResourceKind } from './attribute-schema.js';
import type { SandboxBehaviour } from './behaviour.js';
import { allResourceTypeDocuments, allSchemaDocuments, findResourceType, findSchema, listOf, resourceTypeDocument, schemaDocument, serviceProviderConfig } from './discovery.js';
import { ScimError, badRequest, notFound } from './errors.js';
import { compileFilter } from './filter-eval.js';
import { listQueryFromParams, listQueryFromSearchBody, sortRecords } from './list-query.js';
import type { ListQuery } from './list-query.js';
import { applyProjection, parseProjection } from './projection.js';
import type { Projection } from './projection.js';
import type { SandboxStore, StoredRecord } from './resource-store.js';

/**
 * The SCIM protocol over plain request/response values: routing, auth, ETags, lists. No sockets
 * here (server.ts owns those), so every outcome is a value that faults can replace or delay.
 */

export interface ApiContext {
  readonly store: SandboxStore;
  readonly behaviour: SandboxBehaviour;
  readonly baseUrl: string;
  readonly token: string | null;
  /** Replaces the bearer check when set: true admits the request (basic, API-key headers, OAuth tokens). */
  readonly verify?: ((headers: IncomingHttpHeaders) => boolean) | undefined;
}

/** A request body as the transport saw it. */
export type RequestBody =
  | { readonly kind: 'none' }
  | { readonly kind: 'json'; readonly value: JsonValue }
  | { readonly kind: 'invalid'; readonly text: string; readonly problem: string }
  | { readonly kind: 'unsupported'; readonly contentType: string }
  | { readonly kind: 'tooLarge'; readonly limit: number };

export interface ApiRequest {
  readonly method: string;
  /** Path after basePath ('/Users/abc'), or undefined when the request is outside basePath. */
  readonly path: string | undefined;
  readonly query: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: RequestBody;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: JsonObject;
}

export function errorResponse(error: unknown): ApiResponse {
  const scimError = error instanceof ScimError ? error : new ScimError(500, `internal error: ${error instanceof Error ? error.message : String(error)}`);
  return { status: scimError.status, headers: { ...scimError.headers }, body: scimError.toJSON() };
}

export function handleRequest(ctx: ApiContext, req: ApiRequest): ApiResponse {
  try {
    return route(ctx, req);
  } catch (error) {
    return errorResponse(error);
  }
}

function route(ctx: ApiContext, req: ApiRequest): ApiResponse {
  if (ctx.behaviour.requireUserAgent && !header(req, 'user-agent')) {
    throw new ScimError(403, 'Request forbidden by administrative rules: send a User-Agent header');
  }
  authenticate(ctx, req);
  if (req.path === undefined) throw notFound(`no SCIM endpoint here: the SCIM root is ${ctx.baseUrl}`);
  const segments = req.path.split('/').filter((s) => s !== '');
  const [root, second] = segments;
  const rest = segments.length;
  switch (root) {
    case 'Users':
    case 'Groups': {
      const kind: ResourceKind = root === 'Users' ? 'User' : 'Group';
      if (kind === 'User' && !ctx.behaviour.enterpriseExtension) refuseEnterprise(req);
      if (rest === 1) {
        if (req.method === 'GET') return list(ctx, kind, listQueryFromParams(new URLSearchParams(req.query), ctx.behaviour));
        if (req.method === 'POST') return create(ctx, kind, req);
        throw methodNotAllowed(req, ['GET', 'POST']);
      }
      if (rest === 2 && second === '.search') {
        if (req.method === 'POST') return list(ctx, kind, listQueryFromSearchBody(jsonBody(req), ctx.behaviour));
        throw methodNotAllowed(req, ['POST']);
      }
      if (rest === 2) return single(ctx, kind, decode(second!), req);
      break;
    }
    case 'ServiceProviderConfig':
      if (rest !== 1) break;
      onlyGet(req);
      return ok(serviceProviderConfig(ctx.behaviour, ctx.baseUrl));
    case 'Schemas': {
      if (rest > 2) break;
      onlyGet(req);
      const readOnly = new Set(ctx.behaviour.readOnlyAttributes.map((n) => n.toLowerCase()));
      if (rest === 1) return ok(listOf(allSchemaDocuments(ctx.baseUrl, readOnly)));
      const schema = findSchema(decode(second!));
      if (!schema) throw notFound(`no schema ${decode(second!)}`);
      return ok(schemaDocument(schema, ctx.baseUrl, readOnly));
    }
    case 'ResourceTypes': {
      if (rest > 2) break;
      onlyGet(req);
      const extensions = ctx.behaviour.enterpriseExtension;
      if (rest === 1) return ok(listOf(allResourceTypeDocuments(ctx.baseUrl, extensions)));
      const rt = findResourceType(decode(second!));
      if (!rt) throw notFound(`no resource type ${decode(second!)}`);
      return ok(resourceTypeDocument(rt, ctx.baseUrl, extensions));
    }
    case 'Bulk':
      if (rest !== 1) break;
      if (req.method !== 'POST') throw methodNotAllowed(req, ['POST']);
      return bulk(ctx, req);
  }
  throw notFound(`no SCIM endpoint at ${req.path}`);
}

/** A core-only server: a write that names the enterprise extension anywhere is refused. */
function refuseEnterprise(req: ApiRequest): void {
  if (!['POST', 'PUT', 'PATCH'].includes(req.method) || req.body.kind !== 'json') return;
  if (JSON.stringify(req.body.value).toLowerCase().includes(SCHEMA_ENTERPRISE_USER.toLowerCase())) {
    throw badRequest('invalidValue', `this server has no ${SCHEMA_ENTERPRISE_USER} extension for Users`);
  }
}

const SCHEMA_BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const SCHEMA_BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';

/** RFC 7644 §3.7: each operation routed as its own request, its outcome reported in place. */
function bulk(ctx: ApiContext, req: ApiRequest): ApiResponse {
  const limits = ctx.behaviour.bulk;
  if (!limits) throw new ScimError(501, 'Bulk is not supported (ServiceProviderConfig bulk.supported is false)');
  const body = jsonBody(req);
  const size = JSON.stringify(body).length;
  if (size > limits.maxPayloadSize) throw new ScimError(413, `The size of the bulk operation exceeds the maxPayloadSize (${limits.maxPayloadSize}).`);
  const operations = isObject(body) && Array.isArray(body['Operations']) ? body['Operations'] : undefined;
  const schemas = isObject(body) ? body['schemas'] : undefined;
  if (!operations || !Array.isArray(schemas) || !schemas.includes(SCHEMA_BULK_REQUEST)) {
    throw badRequest('invalidSyntax', `a bulk request needs "schemas": ["${SCHEMA_BULK_REQUEST}"] and "Operations"`);
  }
  if (operations.length > limits.maxOperations) throw new ScimError(413, `The number of operations exceeds the maxOperations (${limits.maxOperations}).`);
  const failOnErrors = isObject(body) && typeof body['failOnErrors'] === 'number' ? body['failOnErrors'] : Infinity;
  const results: JsonObject[] = [];
  let errors = 0;
  for (const op of operations) {
    if (errors >= failOnErrors) break;
    if (!isObject(op) || typeof op['method'] !== 'string' || typeof op['path'] !== 'string') {
      throw badRequest('invalidSyntax', 'every bulk operation needs a method and a path');
    }
    const method = op['method'].toUpperCase();
    const headers = typeof op['version'] === 'string' ? { ...req.headers, 'if-match': op['version'] } : req.headers;
    const answer = handleRequest(ctx, {
      method,
      path: op['path'],
      query: '',
      headers,
      body: op['data'] === undefined ? { kind: 'none' } : { kind: 'json', value: op['data'] },
    });
    const resource = answer.body;
    const meta = resource && isObject(resource['meta']) ? resource['meta'] : undefined;
    if (answer.status >= 400) errors++;
    results.push({
      method,
      ...(typeof op['bulkId'] === 'string' ? { bulkId: op['bulkId'] } : {}),
      ...(meta && typeof meta['location'] === 'string' ? { location: meta['location'] } : {}),
      ...(meta && typeof meta['version'] === 'string' ? { version: meta['version'] } : {}),
      status: String(answer.status),
      ...(answer.status >= 400 && resource ? { response: resource } : {}),
    });
  }
  return ok({ schemas: [SCHEMA_BULK_RESPONSE], Operations: results });
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function single(ctx: ApiContext, kind: ResourceKind, id: string, req: ApiRequest): ApiResponse {
  const { store, behaviour } = ctx;
  if (req.method === 'PATCH' && !behaviour.supportsPatch) throw new ScimError(501, 'PATCH is not supported by this server');
  if (!['GET', 'PUT', 'PATCH', 'DELETE'].includes(req.method)) throw methodNotAllowed(req, ['GET', 'PUT', 'PATCH', 'DELETE']);
  const rec = store.record(kind, id);
  if (!rec) throw notFound(`${kind} ${id} not found`);
  switch (req.method) {
    case 'GET': {
      const noneMatch = header(req, 'if-none-match');
      if (behaviour.supportsEtag && noneMatch && etagMatches(noneMatch, etagOf(rec))) return { status: 304, headers: { ETag: etagOf(rec) } };
      return resourceResponse(ctx, rec, 200, req);
    }
    case 'PUT':
      checkIfMatch(ctx, rec, req);
      return resourceResponse(ctx, store.replace(kind, id, jsonBody(req)), 200, req);
    case 'PATCH':
      checkIfMatch(ctx, rec, req);
      return resourceResponse(ctx, store.patch(kind, id, jsonBody(req), behaviour.maxPatchOperations), 200, req);
    default:
      checkIfMatch(ctx, rec, req);
      store.delete(kind, id);
      return { status: 204 };
  }
}

function create(ctx: ApiContext, kind: ResourceKind, req: ApiRequest): ApiResponse {
  const rec = ctx.store.create(kind, jsonBody(req));
  const response = resourceResponse(ctx, rec, 201, req);
  return { ...response, headers: { ...response.headers, Location: (rec.resource.meta as JsonObject).location as string } };
}

function list(ctx: ApiContext, kind: ResourceKind, query: ListQuery): ApiResponse {
  const { store, behaviour } = ctx;
  const rt = resourceTypeOf(kind);
  const projection = parseProjection(rt, query.attributes, query.excludedAttributes);
  let filter;
  try {
    const text = query.filter !== undefined && behaviour.filterPlusAsSpace ? query.filter.replaceAll('+', ' ') : query.filter;
    filter = text === undefined || behaviour.ignoreFilters ? undefined : compileFilter(text, rt, { behaviour });
  } catch (error) {
    if (!(behaviour.filterErrorsAnswerEmpty && error instanceof ScimError && error.status === 400)) throw error;
    return ok({ schemas: [SCHEMA_LIST_RESPONSE], totalResults: 0, itemsPerPage: 0, startIndex: query.startIndex, Resources: [] });
  }
  let records = store.query(kind, filter);
  if (query.sortBy && behaviour.supportsSort) records = sortRecords(records, rt, query.sortBy, query.sortOrder);
  const pastEnd = query.startIndex > records.length && records.length > 0;
  const from = pastEnd && behaviour.repeatFirstPagePastEnd ? 0 : query.startIndex - 1;
  const page = records.slice(from, from + query.count);
  const omit = kind === 'Group' && !behaviour.groupMembersInList;
  const resources = page.map((rec) => project(omitMembers(store.view(rec, behaviour.supportsEtag), omit), projection));
  const totalResults = Math.max(0, records.length + behaviour.totalResultsOffset);
  return ok({ schemas: [SCHEMA_LIST_RESPONSE], totalResults, itemsPerPage: resources.length, startIndex: query.startIndex, Resources: resources });
}

function resourceResponse(ctx: ApiContext, rec: StoredRecord, status: number, req: ApiRequest): ApiResponse {
  const params = new URLSearchParams(req.query);
  const projection = parseProjection(resourceTypeOf(rec.kind), params.get('attributes') ?? undefined, params.get('excludedAttributes') ?? undefined);
  const headers: Record<string, string> = {};
  if (ctx.behaviour.supportsEtag) headers.ETag = etagOf(rec);
  const omit = rec.kind === 'Group' && !ctx.behaviour.groupMembersInGet;
  return { status, headers, body: project(omitMembers(ctx.store.view(rec, ctx.behaviour.supportsEtag), omit), projection) };
}

/** The resource without `members`, as a server that does not return them answers it. */
function omitMembers(view: JsonObject, omit: boolean): JsonObject {
  if (!omit || !('members' in view)) return view;
  const { members: _members, ...rest } = view;
  return rest;
}

function project(resource: JsonObject, projection: Projection | undefined): JsonObject {
  return projection ? applyProjection(resource, projection) : resource;
}

function authenticate(ctx: ApiContext, req: ApiRequest): void {
  if (ctx.verify) {
    if (!ctx.verify(req.headers)) throw new ScimError(401, 'the credential is not valid');
    return;
  }
  if (ctx.token === null) return;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header(req, 'authorization') ?? '');
  const given = Buffer.from(match?.[1] ?? '');
  const expected = Buffer.from(ctx.token);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    const detail = match ? 'the bearer token is not valid' : 'authentication required: send Authorization: Bearer <token>';
    throw new ScimError(401, detail, undefined, { 'WWW-Authenticate': 'Bearer realm="scim-sandbox"' });
  }
}

function etagOf(rec: StoredRecord): string {
  return `W/"${rec.version}"`;
}

/** If-Match on writes (RFC 7644 §3.14): a stale version answers 412 and changes nothing. */
function checkIfMatch(ctx: ApiContext, rec: StoredRecord, req: ApiRequest): void {
  if (!ctx.behaviour.supportsEtag) return;
  const ifMatch = header(req, 'if-match');
  if (ifMatch && !etagMatches(ifMatch, etagOf(rec))) {
    throw new ScimError(412, `version mismatch: If-Match ${ifMatch}, but ${rec.kind} ${rec.id} is at ${etagOf(rec)}`);
  }
}

/** Weak comparison (RFC 9110 §8.8.3.2) against a comma-separated list or "*". */
function etagMatches(list: string, etag: string): boolean {
  const opaque = (tag: string): string => tag.trim().replace(/^W\//, '');
  return list.split(',').some((tag) => tag.trim() === '*' || opaque(tag) === opaque(etag));
}

function jsonBody(req: ApiRequest): JsonValue {
  const body = req.body;
  switch (body.kind) {
    case 'json':
      return body.value;
    case 'none':
      throw badRequest('invalidSyntax', `${req.method} needs a JSON body`);
    case 'invalid':
      throw badRequest('invalidSyntax', `request body is not valid JSON: ${body.problem}`);
    case 'unsupported':
      throw new ScimError(415, `Content-Type ${body.contentType} is not supported; send application/scim+json or application/json`);
    case 'tooLarge':
      throw new ScimError(413, `request body is larger than ${body.limit} bytes`);
  }
}

function header(req: ApiRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function onlyGet(req: ApiRequest): void {
  if (req.method !== 'GET') throw methodNotAllowed(req, ['GET']);
}

function methodNotAllowed(req: ApiRequest, allowed: string[]): ScimError {
  return new ScimError(405, `${req.method} is not allowed on ${req.path ?? ''} (allowed: ${allowed.join(', ')})`, undefined, { Allow: allowed.join(', ') });
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest('invalidValue', `malformed percent-encoding in "${segment}"`);
  }
}

function ok(body: JsonObject): ApiResponse {
  return { status: 200, body };
}

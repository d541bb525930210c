/**
 * The target role: what the engine asks of one app's SCIM endpoint, in the engine's terms. The one
 * adapter is ScimClient (targets/http), which owns the wire: URLs, filters and their escaping,
 * paging quirks, auth, retries of reads, the request budget, and the mapping of HTTP outcomes to
 * typed errors. Engine, execution and `check` hold a ScimTarget, never the client.
 *
 * Every resource a target returns carries its `id` (ServerResource): an answer without one is a
 * protocol error before it reaches the caller.
 */
import type { JsonObject, JsonValue, PatchOperation, ServerResource } from '../model/scim.js';
import type { ScimCapabilities } from './http/capabilities.js';
import type { TargetSchemas } from '../model/scim-schema.js';
import type { ShapeOf } from './patch-shape.js';

export type ResourceType = 'Users' | 'Groups';

export interface ListOptions {
  filter?: string;
  attributes?: string[];
  excludedAttributes?: string[];
  /** Resources per page; absent: the largest the server admits (ScimTarget.pageSize). */
  pageSize?: number | undefined;
  /**
   * A listing's pages after its first two are read only once this resolves (the source's read, for
   * a source in this process); the pages asked for meanwhile are held as received.
   */
  readAfter?: Promise<void> | undefined;
}

/** The attributes the engine looks resources up by (an `eq` filter, escaped by the adapter). */
export type LookupAttribute = 'userName' | 'externalId' | 'displayName' | 'emails.value';

export interface BulkOperation {
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  bulkId: string;
  path: string;
  data?: JsonObject;
  version?: string;
}

export interface BulkResult {
  bulkId?: string;
  /** The method the server says the result is of, when it says. */
  method?: string;
  status: number;
  location?: string;
  response?: JsonValue;
}

/** How one write is sent. */
export interface WriteOptions {
  /** The meta.version the change was planned on, sent as If-Match (a 412 means the resource changed since). */
  version?: string;
  /** PATCH: the shape per attribute (learned shapes); default the target's quirk patchShape. */
  shapeOf?: ShapeOf;
}

/** Member changes of one group in one request: SCIM ids to add and to remove. */
export interface MemberChange {
  add: readonly string[];
  remove: readonly string[];
}

export interface ScimTarget {
  /** The target's name in the config, for messages. */
  readonly name: string;
  /** The proxy requests go through (without credentials), or null. */
  readonly proxy: string | null;

  /** What the server supports (ServiceProviderConfig, or the RFC's common ground without one). */
  discover(): Promise<ScimCapabilities>;
  /** The extension schemas the server lists for Users, lowercased; null when it does not say. */
  userSchemaExtensions(): Promise<ReadonlySet<string> | null>;
  /** The attribute definitions the server describes at /Schemas; null when it serves none. */
  schemas(): Promise<TargetSchemas | null>;
  /** The page size a listing will ask for, given the one wanted (capped by the server's profile and discovery); absent: the largest it admits. */
  pageSize(wanted?: number): number;

  /** Every resource, page by page, each once (repeated pages and wrong totals survived). */
  pages(type: ResourceType, options: ListOptions): AsyncGenerator<ServerResource[]>;
  listAll(type: ResourceType, options: ListOptions): Promise<ServerResource[]>;
  /** The first page through the same checks as a full listing, and the total the server reports. */
  firstPage(type: ResourceType, count: number): Promise<{ resources: ServerResource[]; totalResults: number }>;
  get(type: ResourceType, id: string): Promise<ServerResource>;
  /**
   * A listed group with its members (SCIM ids under `members`). Listed with them: as it is; listed
   * without: read on its own (GET). A server that returns them nowhere (quirk groupMembersInList:
   * false, AWS) is asked about each user of `among` (SCIM ids) with a filter, so only those can show
   * as members; without `among` such a group is returned as listed, members unknown.
   */
  withMembers(group: ServerResource, among?: readonly string[]): Promise<ServerResource>;
  /** Resources whose attribute equals value; refused (ProtocolError) on a server without filters. */
  findBy(type: ResourceType, attribute: LookupAttribute, value: string): Promise<ServerResource[]>;

  // `label`: the userName or displayName, for errors. Writes answer the resource as the server
  // answered it (what it says it keeps), or null when the answer has no body or no id (204).
  create(type: ResourceType, body: JsonObject, label: string): Promise<ServerResource>;
  replace(type: ResourceType, id: string, body: JsonObject, label: string, options?: WriteOptions): Promise<ServerResource | null>;
  patch(type: ResourceType, id: string, operations: PatchOperation[], label: string, options?: WriteOptions): Promise<ServerResource | null>;
  patchMembers(groupId: string, change: MemberChange, label: string): Promise<void>;
  delete(type: ResourceType, id: string, label: string, version?: string): Promise<void>;

  /** The server's /Bulk limits when /Bulk is to be used (quirks.bulk and the server agree), else null. */
  bulkLimits(): Promise<{ maxOperations: number; maxPayloadSize: number } | null>;
  bulk(operations: BulkOperation[]): Promise<BulkResult[]>;
  /** A PATCH request's body as this server takes it (its PATCH shape quirk, or `shapeOf` per attribute). */
  patchBody(operations: PatchOperation[], shapeOf?: ShapeOf): JsonObject;
  /**
   * This target for one operation that `signal` stops: a request that has not begun or waits (for
   * the request budget, a Retry-After, a read's retry) fails with StoppedError once it aborts,
   * unless a write of the operation already went through (then it goes on to its end).
   */
  stoppedBy(signal: AbortSignal): ScimTarget;
}

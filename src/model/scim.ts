/** SCIM 2.0 wire shapes (RFC 7643/7644) as far as the engine needs them. */

export const SCHEMA_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const SCHEMA_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const SCHEMA_ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const SCHEMA_PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const SCHEMA_LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const SCHEMA_ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const SCHEMA_SERVICE_PROVIDER_CONFIG = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A SCIM resource as read from or sent to a server: always an object with `schemas`. */
export interface ScimResource extends JsonObject {
  schemas: string[];
}

/** A resource as a server holds it: with the id the server gave it (clients refuse answers without). */
export interface ServerResource extends ScimResource {
  id: string;
}

export interface ScimListResponse {
  schemas: string[];
  totalResults: number;
  startIndex?: number;
  itemsPerPage?: number;
  Resources?: ScimResource[];
}

export interface PatchOperation {
  op: 'add' | 'remove' | 'replace';
  path?: string;
  value?: JsonValue;
}

/** A resource's meta.version (its ETag), when the server gave one. */
export function versionOf(resource: JsonObject): string | undefined {
  const meta = resource['meta'];
  const version = meta && typeof meta === 'object' && !Array.isArray(meta) ? meta['version'] : undefined;
  return typeof version === 'string' ? version : undefined;
}

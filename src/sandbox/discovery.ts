import { SCHEMA_LIST_RESPONSE, SCHEMA_SERVICE_PROVIDER_CONFIG } from '../model/scim.js';
import type { JsonObject } from '../model/scim.js';
import { ALL_SCHEMAS, RESOURCE_TYPES, USER_TYPE } from './attribute-schema.js';
import type { AttributeDef, ResourceTypeDef, SchemaDef } from './attribute-schema.js';
import type { SandboxBehaviour } from './behaviour.js';

/** Discovery documents (RFC 7644 §4), built from the live behaviour so they never lie about it. */

const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';
const SCHEMA_RESOURCE_TYPE = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';

export function serviceProviderConfig(behaviour: SandboxBehaviour, baseUrl: string): JsonObject {
  return {
    schemas: [SCHEMA_SERVICE_PROVIDER_CONFIG],
    documentationUri: 'https://www.rfc-editor.org/rfc/rfc7644',
    patch: { supported: behaviour.supportsPatch },
    bulk: behaviour.bulk ? { supported: true, ...behaviour.bulk } : { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: behaviour.maxPageSize },
    changePassword: { supported: false },
    sort: { supported: behaviour.supportsSort },
    etag: { supported: behaviour.supportsEtag },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description: 'A bearer token in the Authorization header',
        specUri: 'https://www.rfc-editor.org/info/rfc6750',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
  };
}

export function findSchema(urn: string): SchemaDef | undefined {
  return ALL_SCHEMAS.find((s) => s.id.toLowerCase() === urn.toLowerCase());
}

export function findResourceType(name: string): ResourceTypeDef | undefined {
  return RESOURCE_TYPES.find((rt) => rt.name.toLowerCase() === name.toLowerCase());
}

/** `readOnly`: lower-case names of core User attributes declared readOnly (behaviour.readOnlyAttributes). */
export function schemaDocument(schema: SchemaDef, baseUrl: string, readOnly: ReadonlySet<string> = new Set()): JsonObject {
  const declared = (def: AttributeDef): JsonObject => {
    const doc = attributeDocument(def);
    if (schema.id === USER_TYPE.core.id && readOnly.has(def.name.toLowerCase())) doc['mutability'] = 'readOnly';
    return doc;
  };
  return {
    schemas: [SCHEMA_SCHEMA],
    id: schema.id,
    name: schema.name,
    description: schema.description,
    attributes: schema.attributes.map(declared),
    meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${schema.id}` },
  };
}

/** `extensions: false`: the type as a core-only server describes it. */
export function resourceTypeDocument(rt: ResourceTypeDef, baseUrl: string, extensions = true): JsonObject {
  return {
    schemas: [SCHEMA_RESOURCE_TYPE],
    id: rt.name,
    name: rt.name,
    endpoint: rt.endpoint,
    description: rt.description,
    schema: rt.core.id,
    schemaExtensions: extensions ? rt.extensions.map((e) => ({ schema: e.id, required: false })) : [],
    meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/${rt.name}` },
  };
}

export function listOf(resources: JsonObject[]): JsonObject {
  return { schemas: [SCHEMA_LIST_RESPONSE], totalResults: resources.length, itemsPerPage: resources.length, startIndex: 1, Resources: resources };
}

export function allSchemaDocuments(baseUrl: string, readOnly?: ReadonlySet<string>): JsonObject[] {
  return ALL_SCHEMAS.map((s) => schemaDocument(s, baseUrl, readOnly));
}

export function allResourceTypeDocuments(baseUrl: string, extensions = true): JsonObject[] {
  return RESOURCE_TYPES.map((rt) => resourceTypeDocument(rt, baseUrl, extensions));
}

function attributeDocument(def: AttributeDef): JsonObject {
  const doc: JsonObject = {
    name: def.name,
    type: def.type,
    multiValued: def.multiValued,
    description: def.description,
    required: def.required,
    caseExact: def.caseExact,
    mutability: def.mutability,
    returned: def.returned,
    uniqueness: def.uniqueness,
  };
  if (def.canonicalValues) doc.canonicalValues = [...def.canonicalValues];
  if (def.referenceTypes) doc.referenceTypes = [...def.referenceTypes];
  if (def.subAttributes) doc.subAttributes = def.subAttributes.map(attributeDocument);
  return doc;
}

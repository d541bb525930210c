import { SCHEMA_ENTERPRISE_USER, SCHEMA_GROUP, SCHEMA_USER } from '../model/scim.js';

/**
 * Attribute definitions of the schemas the sandbox serves (RFC 7643 §4, §8.7.1). One source for
 * validation, filtering, PATCH, projection and the /Schemas documents, so they cannot disagree.
 */

export type AttributeType = 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'complex' | 'binary';
export type Mutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
export type Returned = 'always' | 'never' | 'default' | 'request';
export type Uniqueness = 'none' | 'server' | 'global';

export interface AttributeDef {
  readonly name: string;
  readonly type: AttributeType;
  readonly multiValued: boolean;
  readonly description: string;
  readonly required: boolean;
  readonly caseExact: boolean;
  readonly mutability: Mutability;
  readonly returned: Returned;
  readonly uniqueness: Uniqueness;
  readonly canonicalValues?: readonly string[];
  /** Values outside canonicalValues are rejected (only where a client bug would otherwise hide). */
  readonly strictCanonical?: boolean;
  readonly referenceTypes?: readonly string[];
  readonly subAttributes?: readonly AttributeDef[];
  /** Lower-case name → sub-attribute; attribute names are case-insensitive on input. */
  readonly subIndex?: ReadonlyMap<string, AttributeDef>;
}

export interface SchemaDef {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly attributes: readonly AttributeDef[];
  /** Lower-case name → attribute. */
  readonly index: ReadonlyMap<string, AttributeDef>;
}

export type ResourceKind = 'User' | 'Group';

export interface ResourceTypeDef {
  readonly name: ResourceKind;
  readonly endpoint: '/Users' | '/Groups';
  readonly description: string;
  readonly core: SchemaDef;
  readonly extensions: readonly SchemaDef[];
  /** Lower-case URN → schema, for the core schema and every extension. */
  readonly schemasByUrn: ReadonlyMap<string, SchemaDef>;
}

type AttrOptions = Partial<Omit<AttributeDef, 'name' | 'type' | 'subIndex'>>;

function attr(name: string, type: AttributeType, options: AttrOptions = {}): AttributeDef {
  const subAttributes = options.subAttributes;
  return {
    name,
    type,
    multiValued: false,
    description: '',
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    ...options,
    ...(subAttributes ? { subIndex: indexByName(subAttributes) } : {}),
  };
}

function indexByName(defs: readonly AttributeDef[]): Map<string, AttributeDef> {
  return new Map(defs.map((d) => [d.name.toLowerCase(), d]));
}

function schema(id: string, name: string, description: string, attributes: AttributeDef[]): SchemaDef {
  return { id, name, description, attributes, index: indexByName(attributes) };
}

/** The usual `{value, display, type, primary}` shape of RFC 7643 multi-valued attributes. */
function multiValued(name: string, description: string, types: string[], valueType: AttributeType = 'string'): AttributeDef {
  return attr(name, 'complex', {
    multiValued: true,
    description,
    subAttributes: [
      attr('value', valueType, { description: `The ${name} value.` }),
      attr('display', 'string', { description: 'A human-readable name, primarily used for display purposes.' }),
      attr('type', 'string', { description: 'A label indicating the attribute\'s function.', ...(types.length ? { canonicalValues: types } : {}) }),
      attr('primary', 'boolean', { description: 'Whether this is the preferred value; "true" at most once.' }),
    ],
  });
}

/** id, externalId and meta belong to every resource but to no schema (RFC 7643 §3.1). */
export const COMMON_ATTRIBUTES: ReadonlyMap<string, AttributeDef> = indexByName([
  attr('id', 'string', { caseExact: true, mutability: 'readOnly', returned: 'always', uniqueness: 'server', description: 'Unique identifier assigned by the service provider.' }),
  attr('externalId', 'string', { caseExact: true, description: 'Identifier of the resource as defined by the provisioning client.' }),
  attr('meta', 'complex', {
    mutability: 'readOnly',
    description: 'Resource metadata.',
    subAttributes: [
      attr('resourceType', 'string', { caseExact: true, mutability: 'readOnly' }),
      attr('created', 'dateTime', { caseExact: true, mutability: 'readOnly' }),
      attr('lastModified', 'dateTime', { caseExact: true, mutability: 'readOnly' }),
      attr('location', 'reference', { caseExact: true, mutability: 'readOnly', referenceTypes: ['uri'] }),
      attr('version', 'string', { caseExact: true, mutability: 'readOnly' }),
    ],
  }),
]);

export const USER_SCHEMA: SchemaDef = schema(SCHEMA_USER, 'User', 'User Account', [
  attr('userName', 'string', { required: true, uniqueness: 'server', description: 'Unique identifier for the User, used to authenticate; compared case-insensitively.' }),
  attr('name', 'complex', {
    description: 'The components of the user\'s real name.',
    subAttributes: [
      attr('formatted', 'string'),
      attr('familyName', 'string'),
      attr('givenName', 'string'),
      attr('middleName', 'string'),
      attr('honorificPrefix', 'string'),
      attr('honorificSuffix', 'string'),
    ],
  }),
  attr('displayName', 'string', { description: 'The name of the User, suitable for display to end-users.' }),
  attr('nickName', 'string'),
  attr('profileUrl', 'reference', { referenceTypes: ['external'] }),
  attr('title', 'string'),
  attr('userType', 'string'),
  attr('preferredLanguage', 'string'),
  attr('locale', 'string'),
  attr('timezone', 'string'),
  attr('active', 'boolean', { description: 'The User\'s administrative status.' }),
  attr('password', 'string', { mutability: 'writeOnly', returned: 'never', description: 'Never returned.' }),
  multiValued('emails', 'Email addresses for the user.', ['work', 'home', 'other']),
  multiValued('phoneNumbers', 'Phone numbers for the User.', ['work', 'home', 'mobile', 'fax', 'pager', 'other']),
  multiValued('ims', 'Instant messaging addresses for the User.', ['aim', 'gtalk', 'icq', 'xmpp', 'msn', 'skype', 'qq', 'yahoo']),
  multiValued('photos', 'URLs of photos of the User.', ['photo', 'thumbnail'], 'reference'),
  attr('addresses', 'complex', {
    multiValued: true,
    description: 'A physical mailing address for this User.',
    subAttributes: [
      attr('formatted', 'string'),
      attr('streetAddress', 'string'),
      attr('locality', 'string'),
      attr('region', 'string'),
      attr('postalCode', 'string'),
      attr('country', 'string'),
      attr('type', 'string', { canonicalValues: ['work', 'home', 'other'] }),
      attr('primary', 'boolean'),
    ],
  }),
  attr('groups', 'complex', {
    multiValued: true,
    mutability: 'readOnly',
    description: 'Groups the user belongs to directly; maintained by the server from Group members.',
    subAttributes: [
      attr('value', 'string', { mutability: 'readOnly' }),
      attr('$ref', 'reference', { mutability: 'readOnly', referenceTypes: ['User', 'Group'] }),
      attr('display', 'string', { mutability: 'readOnly' }),
      attr('type', 'string', { mutability: 'readOnly', canonicalValues: ['direct', 'indirect'] }),
    ],
  }),
  multiValued('entitlements', 'A list of entitlements for the User.', []),
  multiValued('roles', 'A list of roles for the User.', []),
  multiValued('x509Certificates', 'A list of certificates issued to the User.', [], 'binary'),
]);

export const ENTERPRISE_USER_SCHEMA: SchemaDef = schema(SCHEMA_ENTERPRISE_USER, 'EnterpriseUser', 'Enterprise User', [
  attr('employeeNumber', 'string'),
  attr('costCenter', 'string'),
  attr('organization', 'string'),
  attr('division', 'string'),
  attr('department', 'string'),
  attr('manager', 'complex', {
    description: 'The User\'s manager; value is the SCIM id of the manager\'s User.',
    subAttributes: [
      attr('value', 'string', { description: 'The id of the SCIM resource representing the User\'s manager.' }),
      attr('$ref', 'reference', { referenceTypes: ['User'] }),
      attr('displayName', 'string', { mutability: 'readOnly' }),
    ],
  }),
]);

export const GROUP_SCHEMA: SchemaDef = schema(SCHEMA_GROUP, 'Group', 'Group', [
  attr('displayName', 'string', { required: true, description: 'A human-readable name for the Group.' }),
  attr('members', 'complex', {
    multiValued: true,
    description: 'Members of the Group; values may be added or removed, their sub-attributes are immutable.',
    subAttributes: [
      attr('value', 'string', { mutability: 'immutable', caseExact: true, description: 'The id of a User or Group.' }),
      attr('$ref', 'reference', { mutability: 'immutable', referenceTypes: ['User', 'Group'] }),
      attr('display', 'string', { mutability: 'immutable' }),
      attr('type', 'string', { mutability: 'immutable', canonicalValues: ['User', 'Group'], strictCanonical: true }),
    ],
  }),
]);

function resourceType(name: ResourceKind, endpoint: '/Users' | '/Groups', description: string, core: SchemaDef, extensions: SchemaDef[]): ResourceTypeDef {
  const schemasByUrn = new Map([core, ...extensions].map((s) => [s.id.toLowerCase(), s]));
  return { name, endpoint, description, core, extensions, schemasByUrn };
}

export const USER_TYPE = resourceType('User', '/Users', 'User Account', USER_SCHEMA, [ENTERPRISE_USER_SCHEMA]);
export const GROUP_TYPE = resourceType('Group', '/Groups', 'Group', GROUP_SCHEMA, []);
export const RESOURCE_TYPES: readonly ResourceTypeDef[] = [USER_TYPE, GROUP_TYPE];
export const ALL_SCHEMAS: readonly SchemaDef[] = [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA];

export function resourceTypeOf(kind: ResourceKind): ResourceTypeDef {
  return kind === 'User' ? USER_TYPE : GROUP_TYPE;
}

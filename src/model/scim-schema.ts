/**
 * A target's attribute definitions as its `/Schemas` endpoint describes them (RFC 7643 §7), read
 * leniently: a missing characteristic takes the RFC's default (string, single-valued, optional,
 * readWrite), and a definition that is not an object is skipped. Names compare ignoring case.
 */
import type { JsonObject, JsonValue } from './scim.js';

export type AttributeType = 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'complex' | 'binary';
export type Mutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';

export interface AttributeDefinition {
  readonly name: string;
  readonly type: AttributeType;
  readonly multiValued: boolean;
  readonly required: boolean;
  readonly mutability: Mutability;
  /** By lower-case name; empty for a simple attribute. */
  readonly subAttributes: ReadonlyMap<string, AttributeDefinition>;
}

export interface SchemaDefinition {
  readonly id: string;
  /** By lower-case name. */
  readonly attributes: ReadonlyMap<string, AttributeDefinition>;
}

/** The schemas a target describes, by lower-case URN. */
export type TargetSchemas = ReadonlyMap<string, SchemaDefinition>;

const TYPES = new Set<AttributeType>(['string', 'boolean', 'decimal', 'integer', 'dateTime', 'reference', 'complex', 'binary']);
const MUTABILITIES = new Set<Mutability>(['readOnly', 'readWrite', 'immutable', 'writeOnly']);

const isObject = (v: JsonValue | undefined): v is JsonObject => !!v && typeof v === 'object' && !Array.isArray(v);

/** A characteristic's value whatever case the server wrote it in (some send "readonly" or "DateTime"). */
function oneOf<T extends string>(allowed: ReadonlySet<T>, value: JsonValue | undefined, fallback: T): T {
  if (typeof value !== 'string') return fallback;
  const lower = value.toLowerCase();
  for (const a of allowed) if (a.toLowerCase() === lower) return a;
  return fallback;
}

function attributes(list: JsonValue | undefined): Map<string, AttributeDefinition> {
  const out = new Map<string, AttributeDefinition>();
  if (!Array.isArray(list)) return out;
  for (const raw of list) {
    if (!isObject(raw) || typeof raw['name'] !== 'string' || raw['name'] === '') continue;
    const name = raw['name'];
    out.set(name.toLowerCase(), {
      name,
      type: oneOf(TYPES, raw['type'], 'string'),
      multiValued: raw['multiValued'] === true || String(raw['multiValued']).toLowerCase() === 'true',
      required: raw['required'] === true || String(raw['required']).toLowerCase() === 'true',
      mutability: oneOf(MUTABILITIES, raw['mutability'], 'readWrite'),
      subAttributes: attributes(raw['subAttributes']),
    });
  }
  return out;
}

/** The schemas in a `/Schemas` answer: a ListResponse, or a bare array as some servers send. */
export function parseSchemas(body: JsonObject | JsonValue[]): TargetSchemas {
  const list = Array.isArray(body) ? body : body['Resources'];
  const out = new Map<string, SchemaDefinition>();
  if (!Array.isArray(list)) return out;
  for (const doc of list) {
    if (!isObject(doc) || typeof doc['id'] !== 'string' || !Array.isArray(doc['attributes'])) continue;
    out.set(doc['id'].toLowerCase(), { id: doc['id'], attributes: attributes(doc['attributes']) });
  }
  return out;
}

import { isPlainObject } from './attribute-path.js';
import { COMMON_ATTRIBUTES } from './attribute-schema.js';
import type { AttributeDef, ResourceTypeDef } from './attribute-schema.js';
import { badRequest } from './errors.js';
import type { JsonObject, JsonValue } from '../model/scim.js';

/**
 * Strict input validation (RFC 7643 §2): turns a client body into the canonical stored form —
 * canonical attribute names, readOnly attributes dropped, null and empty values unassigned —
 * or throws the 400 a client author needs to see.
 */

export interface CoerceOptions {
  /** Accept "True"/"False" strings for booleans. */
  readonly lenientBooleans: boolean;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;
const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}$/;

/** Validates a full resource body (POST, PUT, and the result of a PATCH). */
export function coerceResource(rt: ResourceTypeDef, input: unknown, options: CoerceOptions): JsonObject {
  if (!isPlainObject(input)) throw badRequest('invalidSyntax', 'request body must be a JSON object');
  const schemasKey = Object.keys(input).find((k) => k.toLowerCase() === 'schemas');
  const rawSchemas = schemasKey === undefined ? undefined : input[schemasKey];
  if (!Array.isArray(rawSchemas) || !rawSchemas.every((s) => typeof s === 'string')) {
    throw badRequest('invalidSyntax', `"schemas" is required and must be an array of schema URNs including ${rt.core.id}`);
  }
  const declared = new Set<string>();
  for (const urn of rawSchemas as string[]) {
    const known = rt.schemasByUrn.get(urn.toLowerCase());
    if (!known) throw badRequest('invalidValue', `"schemas" lists ${urn}, which is not a schema of ${rt.name} resources`);
    declared.add(known.id);
  }
  if (!declared.has(rt.core.id)) throw badRequest('invalidValue', `"schemas" must include ${rt.core.id}`);

  const out: JsonObject = { schemas: [rt.core.id, ...[...declared].filter((s) => s !== rt.core.id)] };
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(input)) {
    const lower = key.toLowerCase();
    if (lower === 'schemas') continue;
    const ext = rt.schemasByUrn.get(lower);
    if (ext && ext !== rt.core) {
      if (!declared.has(ext.id)) {
        throw badRequest('invalidSyntax', `attributes under "${ext.id}" require that URN to be listed in "schemas"`);
      }
      if (value === null) continue;
      if (!isPlainObject(value)) throw badRequest('invalidValue', `"${ext.id}" must be an object of extension attributes`);
      const attrs = coerceAttributes(ext.index, value, `${ext.id}:`, options, unknown);
      if (Object.keys(attrs).length > 0) out[ext.id] = attrs;
      continue;
    }
    const def = COMMON_ATTRIBUTES.get(lower) ?? rt.core.index.get(lower);
    if (!def) {
      const home = rt.extensions.find((e) => e.index.has(lower));
      unknown.push(home ? `${key} (an attribute of ${home.id}: send it under that key)` : key);
      continue;
    }
    if (def.mutability === 'readOnly') continue;
    if (def.name in out) throw badRequest('invalidSyntax', `attribute "${def.name}" is given more than once (names are case-insensitive)`);
    const coerced = coerceValue(def, value, def.name, options, unknown);
    if (coerced !== undefined) out[def.name] = coerced;
  }
  throwUnknown(rt, unknown);
  const missing = missingRequired(rt, out);
  if (missing) throw badRequest('invalidValue', `"${missing}" is required`);
  return out;
}

/** The first required core attribute that is absent or blank, if any. */
export function missingRequired(rt: ResourceTypeDef, data: JsonObject): string | undefined {
  for (const def of rt.core.attributes) {
    const value = data[def.name];
    if (def.required && (value === undefined || (typeof value === 'string' && value.trim() === ''))) return def.name;
  }
  return undefined;
}

/**
 * Validates one attribute's value (a PATCH value, or a sub-attribute when `def` is one).
 * Returns undefined when the value unassigns the attribute (null, [], {}).
 */
export function coerceAttributeValue(rt: ResourceTypeDef, def: AttributeDef, value: unknown, label: string, options: CoerceOptions): JsonValue | undefined {
  const unknown: string[] = [];
  const coerced = coerceValue(def, value, label, options, unknown);
  throwUnknown(rt, unknown);
  return coerced;
}

/** Like coerceAttributeValue for one element of a multi-valued attribute. */
export function coerceElement(rt: ResourceTypeDef, def: AttributeDef, value: unknown, label: string, options: CoerceOptions): JsonValue | undefined {
  const unknown: string[] = [];
  if (value === null) throw badRequest('invalidValue', `${label} values must not be null`);
  const coerced = coerceSingle(def, value, label, options, unknown);
  throwUnknown(rt, unknown);
  return coerced;
}

function throwUnknown(rt: ResourceTypeDef, unknown: string[]): void {
  if (unknown.length === 0) return;
  const schemas = [rt.core, ...rt.extensions].map((s) => s.id).join(', ');
  throw badRequest('invalidSyntax', `unknown attribute${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')}: not defined by ${schemas}`);
}

function coerceAttributes(index: ReadonlyMap<string, AttributeDef>, input: JsonObject, prefix: string, options: CoerceOptions, unknown: string[]): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(input)) {
    const def = index.get(key.toLowerCase());
    if (!def) {
      unknown.push(prefix + key);
      continue;
    }
    if (def.mutability === 'readOnly') continue;
    if (def.name in out) throw badRequest('invalidSyntax', `attribute "${prefix}${def.name}" is given more than once (names are case-insensitive)`);
    const coerced = coerceValue(def, value, prefix + def.name, options, unknown);
    if (coerced !== undefined) out[def.name] = coerced;
  }
  return out;
}

function coerceValue(def: AttributeDef, value: unknown, label: string, options: CoerceOptions, unknown: string[]): JsonValue | undefined {
  if (value === null || value === undefined) return undefined;
  if (!def.multiValued) return coerceSingle(def, value, label, options, unknown);
  if (!Array.isArray(value)) throw badRequest('invalidValue', `"${label}" is multi-valued and must be an array, got ${describe(value)}`);
  const out: JsonValue[] = [];
  let primaries = 0;
  for (let i = 0; i < value.length; i++) {
    const element: unknown = value[i];
    if (element === null) throw badRequest('invalidValue', `"${label}[${i}]" must not be null`);
    const coerced = coerceSingle(def, element, `${label}[${i}]`, options, unknown);
    if (coerced === undefined) continue;
    if (isPlainObject(coerced) && coerced.primary === true) primaries++;
    out.push(coerced);
  }
  if (primaries > 1) throw badRequest('invalidValue', `"${label}": "primary" may be true for at most one value`);
  return out.length > 0 ? out : undefined;
}

function coerceSingle(def: AttributeDef, value: unknown, label: string, options: CoerceOptions, unknown: string[]): JsonValue | undefined {
  switch (def.type) {
    case 'complex': {
      if (!isPlainObject(value)) throw badRequest('invalidValue', `"${label}" must be an object, got ${describe(value)}`);
      const out = coerceAttributes(def.subIndex ?? new Map(), value, `${label}.`, options, unknown);
      return Object.keys(out).length > 0 ? out : undefined;
    }
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (options.lenientBooleans && typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
      throw badRequest('invalidValue', `"${label}" must be a boolean, got ${describe(value)}`);
    case 'integer':
      if (typeof value === 'number' && Number.isInteger(value)) return value;
      throw badRequest('invalidValue', `"${label}" must be an integer, got ${describe(value)}`);
    case 'decimal':
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      throw badRequest('invalidValue', `"${label}" must be a number, got ${describe(value)}`);
    case 'dateTime':
      if (typeof value === 'string' && DATE_TIME.test(value) && !Number.isNaN(Date.parse(value))) return value;
      throw badRequest('invalidValue', `"${label}" must be an xsd:dateTime string such as 2024-05-01T12:00:00Z, got ${describe(value)}`);
    case 'binary':
      if (typeof value === 'string' && BASE64.test(value)) return value;
      throw badRequest('invalidValue', `"${label}" must be a base64 string, got ${describe(value)}`);
    case 'string':
    case 'reference': {
      if (typeof value !== 'string') throw badRequest('invalidValue', `"${label}" must be a string, got ${describe(value)}`);
      if (def.strictCanonical && def.canonicalValues) {
        const canonical = def.canonicalValues.find((c) => c.toLowerCase() === value.toLowerCase());
        if (!canonical) throw badRequest('invalidValue', `"${label}" must be one of ${def.canonicalValues.join(', ')}, got "${value}"`);
        return canonical;
      }
      return value;
    }
  }
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

import { COMMON_ATTRIBUTES } from './attribute-schema.js';
import type { AttributeDef, ResourceTypeDef, SchemaDef } from './attribute-schema.js';
import type { ScimError } from './errors.js';
import type { JsonObject, JsonValue } from '../model/scim.js';

/**
 * A resolved `[URN ":"] attrName ["." subAttr]` reference (RFC 7644 §3.10): canonical definitions
 * instead of the client's spelling, so every consumer compares canonical names only.
 */
export interface AttrRef {
  readonly kind: 'attribute';
  /** Canonical URN of the extension that holds the attribute; undefined for core and common ones. */
  readonly extension?: string;
  readonly attr: AttributeDef;
  readonly sub?: AttributeDef;
}

/** A path naming a whole extension object, e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`. */
export interface ExtensionRef {
  readonly kind: 'extension';
  readonly extension: string;
  readonly schema: SchemaDef;
}

export type ResolvedPath = AttrRef | ExtensionRef;

/**
 * Resolves a path against a resource type. Unqualified names are looked up in the common
 * attributes, the core schema, then the extensions (RFC 7644 §3.10 lets clients omit the core URN
 * and only recommends qualifying extension attributes). `fail` builds the error for the caller's
 * context (invalidFilter, invalidPath, ...).
 */
export function resolvePath(rt: ResourceTypeDef, text: string, fail: (detail: string) => ScimError): ResolvedPath {
  let schema: SchemaDef | undefined;
  let rest = text;
  if (/^urn:/i.test(text)) {
    const lower = text.toLowerCase();
    for (const [urn, candidate] of rt.schemasByUrn) {
      if (lower === urn && candidate !== rt.core) return { kind: 'extension', extension: candidate.id, schema: candidate };
      if (lower.startsWith(urn) && lower[urn.length] === ':') {
        schema = candidate;
        rest = text.slice(urn.length + 1);
        break;
      }
    }
    if (!schema) throw fail(`"${text}" does not name an attribute of a ${rt.name} schema`);
  }
  const dot = rest.indexOf('.');
  const name = (dot < 0 ? rest : rest.slice(0, dot)).toLowerCase();
  let owner: SchemaDef = schema ?? rt.core;
  let def = schema && schema !== rt.core ? schema.index.get(name) : (COMMON_ATTRIBUTES.get(name) ?? rt.core.index.get(name));
  if (!def && !schema) {
    for (const ext of rt.extensions) {
      def = ext.index.get(name);
      if (def) {
        owner = ext;
        break;
      }
    }
  }
  if (!def) throw fail(`unknown attribute "${text}"`);
  let sub: AttributeDef | undefined;
  if (dot >= 0) {
    sub = def.subIndex?.get(rest.slice(dot + 1).toLowerCase());
    if (!sub) throw fail(`unknown attribute "${text}"`);
  }
  return {
    kind: 'attribute',
    ...(owner === rt.core ? {} : { extension: owner.id }),
    attr: def,
    ...(sub ? { sub } : {}),
  };
}

/** Canonical spelling of a reference, for messages. */
export function pathLabel(ref: AttrRef): string {
  return `${ref.extension ? `${ref.extension}:` : ''}${ref.attr.name}${ref.sub ? `.${ref.sub.name}` : ''}`;
}

/** The object holding the attribute: the resource itself, or its extension object when present. */
export function containerOf(resource: JsonObject, ref: { extension?: string }): JsonObject | undefined {
  if (!ref.extension) return resource;
  const ext = resource[ref.extension];
  return isPlainObject(ext) ? ext : undefined;
}

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The attribute's values as a flat list (multi-valued flattened, sub-attribute picked, nulls dropped). */
export function valuesAt(resource: JsonObject, ref: AttrRef): JsonValue[] {
  const raw = containerOf(resource, ref)?.[ref.attr.name];
  if (raw === undefined || raw === null) return [];
  const items = Array.isArray(raw) ? raw : [raw];
  if (!ref.sub) return items;
  const out: JsonValue[] = [];
  for (const item of items) {
    const v = isPlainObject(item) ? item[ref.sub.name] : undefined;
    if (v !== undefined && v !== null) out.push(v);
  }
  return out;
}

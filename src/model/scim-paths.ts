/**
 * Attribute paths as mappings name them, and how to read and write them on a SCIM resource.
 *
 * Forms: `userName`; `name.givenName`; `emails[type eq "work"].value` (a typed entry of a
 * multi-valued attribute); `urn:...:enterprise:2.0:User:department` or its short form
 * `enterprise:department`; any other `urn:...:attr` for custom extensions.
 * Attribute names compare case-insensitively (RFC 7643 §2.1).
 */
import { SCHEMA_ENTERPRISE_USER, type JsonObject, type JsonValue } from './scim.js';

export interface ParsedPath {
  /** Canonical text of the path, used as the key in desired/actual maps and in plans. */
  readonly key: string;
  /** Extension schema URN, or null for core attributes. */
  readonly schema: string | null;
  readonly attribute: string;
  /** For `emails[type eq "work"].value`: the type. */
  readonly type: string | null;
  /** Sub-attribute: `givenName` of `name.givenName`, `value` of a typed entry. */
  readonly sub: string | null;
}

const TYPED = /^([A-Za-z][\w$-]*)\[type eq "([^"]+)"\]\.([A-Za-z][\w$-]*)$/;
const PLAIN = /^([A-Za-z][\w$-]*)(?:\.([A-Za-z][\w$-]*))?$/;

export function parsePath(path: string): ParsedPath {
  let schema: string | null = null;
  let rest = path.trim();
  if (rest.startsWith('enterprise:')) {
    schema = SCHEMA_ENTERPRISE_USER;
    rest = rest.slice('enterprise:'.length);
  } else if (rest.toLowerCase().startsWith('urn:')) {
    // The attribute follows the last ':' of the URN (RFC 7644 §3.10).
    const cut = rest.lastIndexOf(':');
    schema = rest.slice(0, cut);
    rest = rest.slice(cut + 1);
  }
  const typed = TYPED.exec(rest);
  if (typed) {
    const [, attribute, type, sub] = typed as unknown as [string, string, string, string];
    return { key: `${schema ? `${schema}:` : ''}${attribute}[type eq "${type}"].${sub}`, schema, attribute, type, sub };
  }
  const plain = PLAIN.exec(rest);
  if (!plain) throw new Error(`"${path}" is not an attribute path this engine understands`);
  const [, attribute, sub] = plain as unknown as [string, string, string | undefined];
  const key = `${schema ? `${schema}:` : ''}${attribute}${sub ? `.${sub}` : ''}`;
  return { key, schema, attribute, type: null, sub: sub ?? null };
}

/** A path key as people write it: the enterprise extension's URN shortened to `enterprise:`. */
export function shortPath(key: string): string {
  return key.startsWith(`${SCHEMA_ENTERPRISE_USER}:`) ? `enterprise:${key.slice(SCHEMA_ENTERPRISE_USER.length + 1)}` : key;
}

const ASCII = /^[\x00-\x7f]*$/;

function getCI(obj: JsonObject, name: string): JsonValue | undefined {
  if (Object.hasOwn(obj, name)) return obj[name];
  // Asked of every mapped attribute an account lacks: for an ASCII name only keys of its length are
  // lower-cased (a key that lower-cases to ASCII keeps its length; a schema URN, taken as written,
  // may hold 'İ', which lower-cases to two code units).
  const lower = name.toLowerCase();
  const sameLength = ASCII.test(name);
  for (const k in obj) if ((!sameLength || k.length === name.length) && Object.hasOwn(obj, k) && k.toLowerCase() === lower) return obj[k];
  return undefined;
}

function container(resource: JsonObject, path: ParsedPath): JsonObject | undefined {
  if (!path.schema) return resource;
  const ext = getCI(resource, path.schema);
  return ext && typeof ext === 'object' && !Array.isArray(ext) ? ext : undefined;
}

/** The value at `path` as a comparable scalar (string/boolean/number) or null when absent. */
export function readPath(resource: JsonObject, path: ParsedPath): JsonValue {
  const base = container(resource, path);
  if (!base) return null;
  const value = getCI(base, path.attribute);
  if (value === undefined || value === null) return null;
  if (path.type !== null) {
    if (!Array.isArray(value)) return null;
    const entry = value.find(
      (e) => e && typeof e === 'object' && !Array.isArray(e) && String(getCI(e, 'type') ?? '').toLowerCase() === path.type!.toLowerCase(),
    ) as JsonObject | undefined;
    return entry ? (getCI(entry, path.sub!) ?? null) : null;
  }
  if (path.sub !== null) {
    if (typeof value !== 'object' || Array.isArray(value)) return null;
    return getCI(value, path.sub) ?? null;
  }
  return value;
}

/** Write `value` at `path` into a resource being built (creates containers and typed entries). */
export function writePath(resource: JsonObject, path: ParsedPath, value: JsonValue): void {
  let base: JsonObject = resource;
  if (path.schema) {
    const ext = (resource[path.schema] ??= {}) as JsonObject;
    base = ext;
    const schemas = resource['schemas'];
    if (Array.isArray(schemas) && !schemas.includes(path.schema)) schemas.push(path.schema);
  }
  if (path.type !== null) {
    const list = (base[path.attribute] ??= []) as JsonObject[];
    let entry = list.find((e) => String(e['type']).toLowerCase() === path.type!.toLowerCase());
    if (!entry) {
      // The first typed entry written is the primary one (work email before home, by mapping order).
      entry = { type: path.type, ...(list.length === 0 ? { primary: true } : {}) };
      list.push(entry);
    }
    entry[path.sub!] = value;
    return;
  }
  if (path.sub !== null) {
    const parent = (base[path.attribute] ??= {}) as JsonObject;
    parent[path.sub] = value;
    return;
  }
  base[path.attribute] = value;
}

import { isPlainObject, resolvePath } from './attribute-path.js';
import type { ResourceTypeDef } from './attribute-schema.js';
import { badRequest } from './errors.js';
import type { JsonObject, JsonValue } from '../model/scim.js';

/**
 * `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9). `schemas`, `id` and `meta` are
 * always returned; when both parameters are given, `attributes` wins.
 */

type Selection = Map<string, Set<string> | null>;

export interface Projection {
  readonly mode: 'include' | 'exclude';
  /** Container ('' = resource level, else an extension URN) → attribute → sub-attributes, or null for all of it. */
  readonly tree: ReadonlyMap<string, Selection>;
  /** Extension URNs selected as a whole. */
  readonly wholeExtensions: ReadonlySet<string>;
}

const ALWAYS = new Set(['schemas', 'id', 'meta']);

export function parseProjection(rt: ResourceTypeDef, attributes: string | undefined, excluded: string | undefined): Projection | undefined {
  const include = split(attributes);
  const list = include.length > 0 ? include : split(excluded);
  if (list.length === 0) return undefined;
  const param = include.length > 0 ? 'attributes' : 'excludedAttributes';
  const tree = new Map<string, Selection>();
  const wholeExtensions = new Set<string>();
  for (const item of list) {
    const ref = resolvePath(rt, item, (detail) => badRequest('invalidValue', `${param}: ${detail}`));
    if (ref.kind === 'extension') {
      wholeExtensions.add(ref.extension);
      continue;
    }
    const container = ref.extension ?? '';
    let selection = tree.get(container);
    if (!selection) tree.set(container, (selection = new Map()));
    const current = selection.get(ref.attr.name);
    if (!ref.sub) selection.set(ref.attr.name, null);
    else if (current !== null) selection.set(ref.attr.name, (current ?? new Set()).add(ref.sub.name));
  }
  return { mode: include.length > 0 ? 'include' : 'exclude', tree, wholeExtensions };
}

export function applyProjection(resource: JsonObject, projection: Projection): JsonObject {
  const out: JsonObject = {};
  const include = projection.mode === 'include';
  for (const [key, value] of Object.entries(resource)) {
    if (ALWAYS.has(key)) {
      out[key] = value;
      continue;
    }
    const isExtension = key.startsWith('urn:');
    if (isExtension && projection.wholeExtensions.has(key)) {
      if (include) out[key] = value;
      continue;
    }
    if (isExtension) {
      const selection = projection.tree.get(key);
      if (!selection) {
        if (!include) out[key] = value;
        continue;
      }
      if (isPlainObject(value)) {
        const picked = select(value, selection, include);
        if (Object.keys(picked).length > 0) out[key] = picked;
      }
      continue;
    }
    const selection = projection.tree.get('')?.get(key);
    if (selection === undefined) {
      if (!include) out[key] = value;
    } else if (selection === null) {
      if (include) out[key] = value;
    } else {
      const narrowed = narrow(value, selection, include);
      if (narrowed !== undefined) out[key] = narrowed;
    }
  }
  return out;
}

function select(obj: JsonObject, selection: Selection, include: boolean): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(obj)) {
    const subs = selection.get(key);
    if (subs === undefined) {
      if (!include) out[key] = value;
    } else if (subs === null) {
      if (include) out[key] = value;
    } else {
      const narrowed = narrow(value, subs, include);
      if (narrowed !== undefined) out[key] = narrowed;
    }
  }
  return out;
}

/** Keeps (or drops) the named sub-attributes of a complex value or of every element of a multi-valued one. */
function narrow(value: JsonValue, subs: Set<string>, include: boolean): JsonValue | undefined {
  const pick = (el: JsonValue): JsonObject | undefined => {
    if (!isPlainObject(el)) return undefined;
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(el)) if (subs.has(k) === include) out[k] = v;
    return Object.keys(out).length > 0 ? out : undefined;
  };
  if (Array.isArray(value)) {
    const items = value.map(pick).filter((v): v is JsonObject => v !== undefined);
    return items.length > 0 ? items : undefined;
  }
  return pick(value);
}

function split(param: string | undefined): string[] {
  if (!param) return [];
  return param.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * PATCH bodies in the shape a server keeps (quirk `patchShape`, or a shape learned per attribute).
 * Plans always hold RFC-shaped operations (one per path); the client reshapes them on the way out.
 * Pure.
 */
import { SCHEMA_ENTERPRISE_USER, type JsonObject, type JsonValue, type PatchOperation } from '../model/scim.js';
import { parsePath } from '../model/scim-paths.js';
import { PATCH_SHAPES, type PatchShape } from '../config/profiles.js';

/** The shape to write one attribute in (by attributeKey). */
export type ShapeOf = (attribute: string) => PatchShape;

/**
 * The attribute a path names, as learned shapes are kept: `schema:attribute`, lower-cased (SCIM
 * names and URNs compare case-insensitively), without a value filter or a sub-attribute. So
 * `urn:...:User:manager` and `urn:...:User:manager.value` are both the manager, and
 * `emails[type eq "work"].value` is `emails`.
 */
export function attributeKey(path: string): string {
  let text = path.trim();
  const bracket = text.indexOf('[');
  if (bracket >= 0) text = text.slice(0, bracket);
  let schema = '';
  if (text.startsWith('enterprise:')) {
    schema = `${SCHEMA_ENTERPRISE_USER}:`;
    text = text.slice('enterprise:'.length);
  } else if (text.toLowerCase().startsWith('urn:')) {
    const cut = text.lastIndexOf(':');
    schema = text.slice(0, cut + 1);
    text = text.slice(cut + 1);
  }
  const dot = text.indexOf('.');
  return `${schema}${dot >= 0 ? text.slice(0, dot) : text}`.toLowerCase();
}

/** The attribute's own name (`manager`), for messages. */
export function attributeName(key: string): string {
  return key.slice(key.lastIndexOf(':') + 1);
}

/** A replace of a plain path (no value filter) with a value: what 'value-object' folds. */
function foldable(op: PatchOperation): op is PatchOperation & { path: string; value: JsonValue } {
  return op.op === 'replace' && op.path !== undefined && !op.path.includes('[') && op.value !== undefined;
}

/** A replace of a whole complex attribute: what 'sub-attribute' splits into one op per sub-attribute. */
function splittable(op: PatchOperation): op is PatchOperation & { path: string; value: JsonObject } {
  if (!foldable(op) || !op.value || typeof op.value !== 'object' || Array.isArray(op.value) || Object.keys(op.value).length === 0) return false;
  try {
    return parsePath(op.path).sub === null;
  } catch {
    return false;
  }
}

/**
 * The operations in their shape, each by its attribute's (a single shape for all, or one per
 * attribute). 'value-object': every plain `replace` folds into one operation without a path whose
 * value names the attributes (sub-attributes and extension attributes nested), sent first.
 * 'sub-attribute': the replace of a complex attribute becomes one replace per sub-attribute with a
 * plain value. Operations a shape does not apply to (remove, add, filtered paths) keep their path.
 */
export function shapePatch(operations: readonly PatchOperation[], shape: PatchShape | ShapeOf): PatchOperation[] {
  if (shape === 'rfc') return [...operations];
  const shapeOf: ShapeOf = typeof shape === 'function' ? shape : () => shape;
  const folded: JsonObject = {};
  const rest: PatchOperation[] = [];
  for (const op of operations) {
    const chosen = op.path === undefined ? 'rfc' : shapeOf(attributeKey(op.path));
    if (chosen === 'sub-attribute' && splittable(op)) {
      for (const [sub, value] of Object.entries(op.value)) rest.push({ op: 'replace', path: `${op.path}.${sub}`, value });
      continue;
    }
    if (chosen !== 'value-object' || !foldable(op)) {
      rest.push(op);
      continue;
    }
    const path = parsePath(op.path);
    let container = folded;
    if (path.schema) container = (folded[path.schema] ??= {}) as JsonObject;
    if (path.sub) container = (container[path.attribute] ??= {}) as JsonObject;
    container[path.sub ?? path.attribute] = op.value;
  }
  return Object.keys(folded).length > 0 ? [{ op: 'replace', value: folded }, ...rest] : rest;
}

/**
 * The shapes that write these operations differently, in the order they are tried (PATCH_SHAPES),
 * starting with `first`: a shape whose body equals one before it is left out (a plain string
 * attribute has no sub-attribute form).
 */
export function distinctShapes(operations: readonly PatchOperation[], first: PatchShape): PatchShape[] {
  const seen = new Set<string>();
  const out: PatchShape[] = [];
  for (const shape of [first, ...PATCH_SHAPES.filter((s) => s !== first)]) {
    const body = JSON.stringify(shapePatch(operations, shape));
    if (seen.has(body)) continue;
    seen.add(body);
    out.push(shape);
  }
  return out;
}

/**
 * PATCH bodies in the shape a server accepts (quirk `patchShape`). Plans always hold RFC-shaped
 * operations (one per path); the client reshapes them on the way out. Pure.
 */
import type { JsonObject, JsonValue, PatchOperation } from '../model/scim.js';
import { parsePath } from '../model/scim-paths.js';
import type { TargetQuirks } from '../config/profiles.js';

/**
 * 'value-object': every `replace` of a plain path (no value filter) folds into one operation without
 * a path whose value names the attributes (RFC 7644 §3.5.2.3), sub-attributes and extension
 * attributes nested; other operations keep their path.
 */
export function shapePatch(operations: readonly PatchOperation[], shape: TargetQuirks['patchShape']): PatchOperation[] {
  if (shape === 'rfc') return [...operations];
  const folded: JsonObject = {};
  const rest: PatchOperation[] = [];
  for (const op of operations) {
    if (op.op !== 'replace' || !op.path || op.path.includes('[') || op.value === undefined) {
      rest.push(op);
      continue;
    }
    const path = parsePath(op.path);
    let container = folded;
    if (path.schema) container = (folded[path.schema] ??= {}) as JsonObject;
    if (path.sub) container = (container[path.attribute] ??= {}) as JsonObject;
    container[path.sub ?? path.attribute] = op.value as JsonValue;
  }
  return Object.keys(folded).length > 0 ? [{ op: 'replace', value: folded }, ...rest] : rest;
}

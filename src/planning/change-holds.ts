/**
 * Whether an account already shows a planned attribute change, judged as the planner judges it
 * (user-changes.ts): a change that does not hold here is one the next plan would make again. Pure.
 */
import { parsePath, readPath } from '../model/scim-paths.js';
import type { AttributeChange } from '../model/plan.js';
import type { JsonObject, JsonValue } from '../model/scim.js';
import { isActive, setHolds, valueMatches } from './user-changes.js';

const SET_ATTRIBUTES = new Set(['roles', 'entitlements']);
const isObject = (v: JsonValue): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);

export function changeHolds(resource: JsonObject, change: AttributeChange): boolean {
  if (change.path === 'active') return isActive(resource) === (change.to !== false);
  const path = parsePath(change.path);
  const to = change.to;
  // roles and entitlements are planned as their values (user-diff.ts), read as {value, type} entries.
  if (path.schema === null && SET_ATTRIBUTES.has(path.attribute.toLowerCase()) && Array.isArray(to) && to.every((v) => typeof v === 'string')) {
    return setHolds(to, resource[path.attribute]);
  }
  const whole = Array.isArray(to) && to.every(isObject);
  // A change of case alone is planned only for a case-exact target (quirks.userNameCaseExact): it holds only exactly.
  const byCase = typeof to === 'string' && typeof change.from === 'string' && to !== change.from && to.toLowerCase() === change.from.toLowerCase();
  return valueMatches(path, whole, to, readPath(resource, path), byCase);
}

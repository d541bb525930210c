/** Whether an account already shows a planned attribute change. Pure. */
import { parsePath, readPath } from '../model/scim-paths.js';
import type { AttributeChange } from '../model/plan.js';
import type { JsonObject } from '../model/scim.js';
import { isActive } from './user-changes.js';

export function changeHolds(resource: JsonObject, change: AttributeChange): boolean {
  const have = change.path === 'active' ? isActive(resource) : readPath(resource, parsePath(change.path));
  return JSON.stringify(have ?? null) === JSON.stringify(change.to ?? null);
}

/**
 * What the planner may write to the account of a partial person (DirectorySnapshot.partialKeys):
 * a joined read found them without a secondary's record, so what that secondary lends is unknown,
 * not empty. Decided here, on the desired user, once for every kind of attribute, so that the diff
 * and the PATCH or PUT built from it agree: a PUT, or a PATCH that rewrites a multi-valued attribute
 * whole (emails, addresses: one typed entry changed), writes every mapped value, not only changed
 * ones. Pure.
 */
import { isSent, type DesiredUser, type UserMapping } from '../mapping/user-mapping.js';
import type { RoleValue } from '../mapping/role-mapping.js';
import { readPath } from '../model/scim-paths.js';
import type { JsonValue, ServerResource } from '../model/scim.js';
import { setKey, setValues } from './user-changes.js';

/**
 * `desired` with the account's value in place of every value the mapping gives empty (which may be
 * one the missing source lends), and each roles or entitlements set holding the account's values
 * besides the desired ones: a set can mix values of several sources, and which of the account's the
 * missing one gave is unknown, so none is removed (as none of their group memberships is). The
 * primary's own values still replace the account's. Returns `desired` itself when nothing is kept.
 */
export function keepingAccountValues(mapping: UserMapping, desired: DesiredUser, account: ServerResource): DesiredUser {
  let values: JsonValue[] | undefined;
  mapping.rules.forEach((rule, i) => {
    // Neither compared nor written: the account keeps its value anyway.
    if (rule.createOnly || !isSent(desired, i) || !isEmpty(desired.values[i])) return;
    const have = readPath(account, rule.path);
    if (isEmpty(have)) return;
    (values ??= desired.values.slice())[i] = have;
  });
  let sets: (readonly RoleValue[])[] | undefined;
  mapping.sets.forEach((set, i) => {
    const want = desired.sets[i] ?? [];
    const have = setValues(account[set.attribute]);
    const haveKeys = new Set(have.map((v) => setKey([v])));
    const added = want.filter((v) => !haveKeys.has(setKey([v])));
    if (added.length === want.length && have.length === 0) return;
    // The account's own entries, in its order, when it holds every desired one: no change to plan.
    (sets ??= desired.sets.slice())[i] = added.length === 0 ? have : [...have, ...added].sort(byValue);
  });
  if (!values && !sets) return desired;
  return { ...desired, ...(values ? { values } : {}), ...(sets ? { sets } : {}) };
}

function byValue(a: RoleValue, b: RoleValue): number {
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

function isEmpty(value: JsonValue | undefined): boolean {
  return value === null || value === undefined || value === '' || (Array.isArray(value) && value.length === 0);
}

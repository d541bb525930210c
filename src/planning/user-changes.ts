/**
 * Compare a desired user with the account a target holds, and express the difference as a minimal
 * PATCH or as a PUT body. Pure.
 *
 * Only mapped attributes are compared and written: anything else on the account (set by the app or
 * by hand) is kept, both by PATCH (touches only mapped paths) and by PUT (built on the account
 * as read).
 */
import type { RoleValue } from '../mapping/role-mapping.js';
import { desiredValue, isSent, type CompiledRule, type DesiredUser, type UserMapping } from '../mapping/user-mapping.js';
import { readPath, writePath, type ParsedPath } from '../model/scim-paths.js';
import { parseIso } from '../mapping/expression/date-format.js';
import type { AttributeChange } from '../model/plan.js';
import type { JsonObject, JsonValue, PatchOperation, ScimResource } from '../model/scim.js';

function normalise(v: JsonValue | undefined): JsonValue {
  if (v === undefined || v === '') return null;
  return v;
}

function same(desired: JsonValue, actual: JsonValue): boolean {
  const d = normalise(desired);
  const a = normalise(actual);
  if (d === null || a === null) return d === a;
  if (typeof d === 'object' || typeof a === 'object') return JSON.stringify(d) === JSON.stringify(a);
  return String(d) === String(a);
}

/**
 * Identifiers RFC 7643 declares case-insensitive (caseExact false), which servers often store
 * canonicalised (an email lower-cased): a difference of case alone is no change, or every run would
 * rewrite them. Asked only of values that differ, so the common case costs nothing.
 */
const CASE_INSENSITIVE = new Set(['username', 'emails']);

function sameIgnoringCase(path: ParsedPath, desired: JsonValue, actual: JsonValue): boolean {
  return (
    path.schema === null &&
    typeof desired === 'string' &&
    typeof actual === 'string' &&
    CASE_INSENSITIVE.has(path.attribute.toLowerCase()) &&
    desired.toLowerCase() === actual.toLowerCase()
  );
}

/** An entry of a multi-valued attribute as a comparable text: its type, value and whether it is primary. */
function entryKey(entry: JsonValue, foldCase: boolean): string {
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) return JSON.stringify(entry);
  const value = String(entry['value'] ?? '');
  const primary = entry['primary'] === true || String(entry['primary']).toLowerCase() === 'true';
  return `${String(entry['type'] ?? '').toLowerCase()}\u0000${foldCase ? value.toLowerCase() : value}\u0000${primary}`;
}

/**
 * A multi-valued attribute mapped whole is the same when it holds the same entries in any order:
 * servers reorder them and add sub-attributes of their own (display), and neither is a change.
 */
function sameEntries(path: ParsedPath, whole: boolean, desired: JsonValue, actual: JsonValue): boolean {
  if (!whole || !Array.isArray(desired) || !Array.isArray(actual)) return false;
  const fold = path.schema === null && CASE_INSENSITIVE.has(path.attribute.toLowerCase());
  const want = new Set(desired.map((e) => entryKey(e, fold)));
  const have = new Set(actual.map((e) => entryKey(e, fold)));
  return want.size === have.size && [...want].every((k) => have.has(k));
}

/**
 * Whether an account's value of a mapped attribute is the desired one, as the planner decides it:
 * empty is absent, a difference of case alone in userName or emails is none (unless the rule is
 * caseExact), and a multi-valued
 * attribute mapped whole (`whole`) is the same set of entries in any order. Verification after a
 * write asks the same question (change-holds.ts), so "not kept" means "would be planned again".
 */
export function valueMatches(path: ParsedPath, whole: boolean, want: JsonValue, have: JsonValue, caseExact = false): boolean {
  return same(want, have) || (!caseExact && sameIgnoringCase(path, want, have)) || sameEntries(path, whole, want, have) || sameInstant(want, have);
}

/**
 * Two date-times that name the same instant: servers store an xsd:dateTime in their own form
 * (`2024-01-31T00:00:00.000Z` for `2024-01-31T00:00:00Z`, or in another offset), which is no
 * change. Asked only of values that differ as text.
 */
function sameInstant(desired: JsonValue, actual: JsonValue): boolean {
  if (typeof desired !== 'string' || typeof actual !== 'string' || !DATE_TIME.test(desired) || !DATE_TIME.test(actual)) return false;
  const a = parseIso(desired);
  const b = parseIso(actual);
  return a !== null && b !== null && !a.dateOnly && !b.dateOnly && a.instant === b.instant;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/;

/** Booleans as some servers send them ("False"); compared as their meaning. */
export function isActive(resource: JsonObject): boolean {
  const v = resource['active'];
  if (typeof v === 'string') return v.toLowerCase() !== 'false';
  return v !== false;
}

export interface UserDiff {
  changes: AttributeChange[];
  /** Rules whose attribute differs; the PATCH/PUT builders need the rule for paths. */
  changedRules: CompiledRule[];
}

const NO_CHANGES: UserDiff = Object.freeze({ changes: [], changedRules: [] }) as unknown as UserDiff;

/** Contract: `changes` is empty (and shared, do not mutate) when the account already matches. */
export function diffUser(mapping: UserMapping, desired: DesiredUser, actual: ScimResource, wantExternalId: boolean): UserDiff {
  // Allocated on the first difference only: most accounts match, and this runs for every one.
  let diff: UserDiff | null = null;
  const rules = mapping.rules;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    // A value the target cannot take is not sent: the account keeps what it has.
    if (rule.createOnly || (desired.unsent !== undefined && !isSent(desired, i))) continue;
    const want = desired.values[i] ?? null;
    const have = readPath(actual, rule.path);
    if (!valueMatches(rule.path, rule.types !== undefined, want, have, rule.caseExact)) {
      diff ??= { changes: [], changedRules: [] };
      diff.changes.push({ path: rule.path.key, from: normalise(have), to: want });
      diff.changedRules.push(rule);
    }
  }
  if (wantExternalId && actual['externalId'] !== desired.externalId) {
    diff ??= { changes: [], changedRules: [] };
    diff.changes.push({ path: 'externalId', from: normalise(actual['externalId']), to: desired.externalId });
  }
  for (let i = 0; i < mapping.sets.length; i++) {
    const attribute = mapping.sets[i]!.attribute;
    const want = desired.sets[i] ?? [];
    const have = setValues(actual[attribute]);
    if (setKey(want) !== setKey(have)) {
      diff ??= { changes: [], changedRules: [] };
      diff.changes.push({ path: attribute, from: have.map((v) => v.value), to: want.map((v) => v.value) });
    }
  }
  if (!isActive(actual)) {
    diff ??= { changes: [], changedRules: [] };
    diff.changes.push({ path: 'active', from: false, to: true });
  }
  return diff ?? NO_CHANGES;
}

/** Whether a roles/entitlements attribute as read holds exactly these values (as a set change lists them). */
export function setHolds(want: readonly JsonValue[], have: JsonValue | undefined): boolean {
  return JSON.stringify(setValues(have).map((v) => v.value)) === JSON.stringify(want);
}

/** Values of a roles/entitlements attribute as read, sorted like the mapper's output. */
export function setValues(v: JsonValue | undefined): RoleValue[] {
  if (!Array.isArray(v)) return [];
  return v
    .filter((e): e is JsonObject => !!e && typeof e === 'object' && !Array.isArray(e) && typeof e['value'] === 'string')
    .map((e) => ({ value: e['value'] as string, ...(typeof e['type'] === 'string' ? { type: e['type'] } : {}) }))
    .sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
}

export function setKey(values: readonly RoleValue[]): string {
  return values.map((v) => `${v.type ?? ''}\u0000${v.value}`).join('\u0001');
}

function attributePath(path: ParsedPath): string {
  return `${path.schema ? `${path.schema}:` : ''}${path.attribute}`;
}

/** Typed entries of one multi-valued attribute as they should be, keeping entries of other types. */
function mergedMultiValued(mapping: UserMapping, desired: DesiredUser, actual: JsonObject, anyRule: CompiledRule): JsonValue[] {
  const rules = mapping.rules.filter(
    (r) => r.path.type !== null && r.path.attribute === anyRule.path.attribute && r.path.schema === anyRule.path.schema,
  );
  const scratch: JsonObject = { schemas: [] };
  for (const r of rules) {
    // An entry whose value is not sent stays as the account has it.
    const i = mapping.indexOf.get(r.path.key)!;
    const v = isSent(desired, i) ? desiredValue(mapping, desired, r.path.key) : readPath(actual, r.path);
    if (v !== null && v !== undefined) writePath(scratch, r.path, v);
  }
  const base = anyRule.path.schema ? (scratch[anyRule.path.schema] as JsonObject | undefined) : scratch;
  const built = ((base?.[anyRule.path.attribute] as JsonObject[] | undefined) ?? []).slice();
  const mappedTypes = new Set(rules.map((r) => r.path.type!.toLowerCase()));
  const container = anyRule.path.schema ? (actual[anyRule.path.schema] as JsonObject | undefined) : actual;
  const current = container?.[anyRule.path.attribute];
  if (Array.isArray(current)) {
    for (const entry of current) {
      if (!entry || typeof entry !== 'object' || Array.isArray(entry)) continue;
      if (!mappedTypes.has(String(entry['type'] ?? '').toLowerCase())) {
        // Another type's primary would clash with ours.
        built.push(built.length > 0 ? { ...entry, primary: false } : entry);
      }
    }
  }
  return built;
}

export function buildPatch(mapping: UserMapping, desired: DesiredUser, actual: ScimResource, diff: UserDiff): PatchOperation[] {
  const ops: PatchOperation[] = [];
  const doneMulti = new Set<string>();
  for (const rule of diff.changedRules) {
    if (rule.path.type !== null) {
      const key = attributePath(rule.path);
      if (doneMulti.has(key)) continue;
      doneMulti.add(key);
      const value = mergedMultiValued(mapping, desired, actual, rule);
      ops.push(value.length > 0 ? { op: 'replace', path: key, value } : { op: 'remove', path: key });
      continue;
    }
    const want = desiredValue(mapping, desired, rule.path.key);
    ops.push(want === null ? { op: 'remove', path: rule.path.key } : { op: 'replace', path: rule.path.key, value: want });
  }
  mapping.sets.forEach((set, i) => {
    if (!diff.changes.some((c) => c.path === set.attribute)) return;
    const want = desired.sets[i] ?? [];
    ops.push(want.length > 0 ? { op: 'replace', path: set.attribute, value: want.map((v) => ({ ...v })) } : { op: 'remove', path: set.attribute });
  });
  for (const change of diff.changes) {
    if (change.path === 'externalId' || change.path === 'active') ops.push({ op: 'replace', path: change.path, value: change.to });
  }
  return ops;
}

/** The account as read, with every mapped attribute set as desired: a PUT that keeps the rest. */
export function buildPut(mapping: UserMapping, desired: DesiredUser, actual: ScimResource, active: boolean): JsonObject {
  const body = structuredClone(actual) as JsonObject;
  delete body['meta'];
  const doneMulti = new Set<string>();
  for (const [i, rule] of mapping.rules.entries()) {
    if (rule.createOnly || !isSent(desired, i)) continue;
    const want = desired.values[i] ?? null;
    const container = (rule.path.schema ? body[rule.path.schema] : body) as JsonObject | undefined;
    if (rule.path.type !== null) {
      const key = attributePath(rule.path);
      if (doneMulti.has(key)) continue;
      doneMulti.add(key);
      const value = mergedMultiValued(mapping, desired, actual, rule);
      const target = rule.path.schema ? ((body[rule.path.schema] ??= {}) as JsonObject) : body;
      if (value.length > 0) target[rule.path.attribute] = value;
      else delete target[rule.path.attribute];
    } else if (want !== null) {
      writePath(body, rule.path, want);
    } else if (container) {
      if (rule.path.sub !== null) {
        const parent = container[rule.path.attribute];
        if (parent && typeof parent === 'object' && !Array.isArray(parent)) delete parent[rule.path.sub];
      } else {
        delete container[rule.path.attribute];
      }
    }
  }
  const schemas = body['schemas'];
  if (Array.isArray(schemas)) {
    for (const rule of mapping.rules) {
      if (rule.path.schema && body[rule.path.schema] !== undefined && !schemas.includes(rule.path.schema)) schemas.push(rule.path.schema);
    }
  }
  mapping.sets.forEach((set, i) => {
    const want = desired.sets[i] ?? [];
    if (want.length > 0) body[set.attribute] = want.map((v) => ({ ...v }));
    else delete body[set.attribute];
  });
  body['externalId'] = desired.externalId;
  body['active'] = active;
  return body;
}

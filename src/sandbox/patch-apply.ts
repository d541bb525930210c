import { SCHEMA_PATCH_OP } from '../model/scim.js';
import type { JsonObject, JsonValue } from '../model/scim.js';
import { isPlainObject, pathLabel, resolvePath } from './attribute-path.js';
import type { AttrRef } from './attribute-path.js';
import type { AttributeDef, ResourceTypeDef } from './attribute-schema.js';
import type { SandboxBehaviour } from './behaviour.js';
import { ScimError, badRequest } from './errors.js';
import { compileElementFilter } from './filter-eval.js';
import { parsePatchPath } from './filter-parser.js';
import type { FilterNode } from './filter-parser.js';
import { coerceAttributeValue, coerceElement } from './resource-validate.js';

/**
 * The PatchOp engine (RFC 7644 §3.5.2). Works on a copy-on-write shadow of the stored resource:
 * untouched attributes (a 10,000-member list) are shared, never cloned, and the stored resource is
 * only replaced when every operation succeeded, which makes a PATCH atomic. Values are validated
 * as they enter, so the result needs no full re-validation; the store still checks uniqueness and
 * references.
 */

export interface PatchOutcome {
  /** The patched resource attributes (canonical; without id and meta). */
  readonly data: JsonObject;
  /** Group member values added plus removed, for behaviour.maxPatchOperations. */
  readonly memberChanges: number;
  /**
   * How the group's member values changed, when the PATCH only added and removed members;
   * undefined when members were replaced wholesale (then the store compares the full lists).
   */
  readonly memberDelta?: MemberDelta;
}

export interface MemberDelta {
  /** Member elements new to the group, as they appear in the result. */
  readonly added: readonly JsonObject[];
  readonly removed: readonly string[];
}

type PatchBehaviour = Pick<SandboxBehaviour, 'lenientBooleans' | 'filterOperators'> & Partial<Pick<SandboxBehaviour, 'urnPathAsKey'>>;
type Op = 'add' | 'remove' | 'replace';

const invalidPath = (detail: string): ScimError => badRequest('invalidPath', detail);
const mutability = (detail: string): ScimError => badRequest('mutability', detail);

/**
 * Applies a PatchOp request body to `current` (not modified) or throws the first failure.
 * `memberIds` are the group's current member values, which make member changes cost the change.
 */
export function applyPatch(rt: ResourceTypeDef, current: JsonObject, body: unknown, behaviour: PatchBehaviour, memberIds?: ReadonlySet<string>): PatchOutcome {
  if (!isPlainObject(body)) throw badRequest('invalidSyntax', 'PATCH body must be a JSON object');
  const schemas = field(body, 'schemas');
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === SCHEMA_PATCH_OP.toLowerCase())) {
    throw badRequest('invalidSyntax', `PATCH body "schemas" must be ["${SCHEMA_PATCH_OP}"]`);
  }
  const operations = field(body, 'Operations');
  if (!Array.isArray(operations) || operations.length === 0) throw badRequest('invalidSyntax', 'PATCH body "Operations" must be a non-empty array');

  const patch = new Patch(rt, current, behaviour, memberIds);
  operations.forEach((raw, i) => {
    const where = `Operations[${i}]`;
    if (!isPlainObject(raw)) throw badRequest('invalidSyntax', `${where} must be an object`);
    const opName = field(raw, 'op');
    const op = typeof opName === 'string' ? opName.toLowerCase() : undefined;
    // Capitalised ops ("Replace") are accepted: older Entra ID sends them.
    if (op !== 'add' && op !== 'remove' && op !== 'replace') {
      throw badRequest('invalidSyntax', `${where}.op must be "add", "remove" or "replace", got ${JSON.stringify(opName ?? null)}`);
    }
    const path = field(raw, 'path');
    if (path !== undefined && path !== null && typeof path !== 'string') throw invalidPath(`${where}.path must be a string`);
    const hasValue = Object.keys(raw).some((k) => k.toLowerCase() === 'value');
    try {
      patch.apply(op, typeof path === 'string' && path.trim() !== '' ? path.trim() : undefined, field(raw, 'value'), hasValue);
    } catch (error) {
      if (error instanceof ScimError) {
        const label = `${where} (${op}${typeof path === 'string' ? ` ${path}` : ''})`;
        throw new ScimError(error.status, `${label}: ${error.detail}`, error.scimType);
      }
      throw error;
    }
  });
  const memberDelta = patch.members.delta();
  return { data: patch.doc, memberChanges: patch.memberChanges, ...(memberDelta ? { memberDelta } : {}) };
}

class Patch {
  readonly doc: JsonObject;
  readonly members: MemberTracker;
  memberChanges = 0;
  private readonly copiedExtensions = new Set<string>();

  constructor(
    private readonly rt: ResourceTypeDef,
    current: JsonObject,
    private readonly behaviour: PatchBehaviour,
    memberIds: ReadonlySet<string> | undefined,
  ) {
    this.doc = { ...current };
    this.members = new MemberTracker(memberIds);
  }

  apply(op: Op, path: string | undefined, value: unknown, hasValue: boolean): void {
    if (path === undefined) {
      if (op === 'remove') throw badRequest('noTarget', '"remove" needs a "path"');
      if (!isPlainObject(value)) throw badRequest('invalidValue', 'without a "path", "value" must be an object of attributes');
      this.applyPathless(op, value);
      return;
    }
    const parsed = parsePatchPath(path);
    const ref = resolvePath(this.rt, parsed.path, invalidPath);
    if (this.behaviour.urnPathAsKey && ref.kind === 'attribute' && ref.extension && !ref.sub && !parsed.filter && /^urn:/i.test(path)) {
      // The misbehaviour itself: the whole path taken as the name of a top-level attribute.
      if (op === 'remove') delete this.doc[path];
      else this.doc[path] = value as JsonValue;
      return;
    }
    if (ref.kind === 'extension') {
      if (parsed.filter) throw invalidPath(`"${ref.extension}" is a schema and cannot take a [filter]`);
      if (op === 'remove') {
        delete this.doc[ref.extension];
        return;
      }
      if (!isPlainObject(value)) throw badRequest('invalidValue', `"value" for ${ref.extension} must be an object of its attributes`);
      this.applyPathless(op, { [ref.extension]: value });
      return;
    }
    if (!parsed.filter) {
      this.applyTarget(op, ref, value, hasValue);
      return;
    }
    if (ref.sub || ref.attr.type !== 'complex' || !ref.attr.multiValued) {
      throw invalidPath(`a [filter] applies to a multi-valued complex attribute; ${pathLabel(ref)} is not one`);
    }
    let sub: AttributeDef | undefined;
    if (parsed.sub !== undefined) {
      sub = ref.attr.subIndex?.get(parsed.sub.toLowerCase());
      if (!sub) throw invalidPath(`"${parsed.sub}" is not a sub-attribute of ${ref.attr.name}`);
    }
    this.applyFiltered(op, ref, parsed.filter, sub, value, hasValue);
  }

  /**
   * A value object without a path: each key is a target of its own. Keys may be extension URNs
   * holding objects, or paths such as "name.givenName", "urn:...:User:department" or
   * 'emails[type eq "work"].value' (Entra ID sends these).
   * readOnly attributes in it are ignored, as in a PUT body.
   */
  private applyPathless(op: Op, value: JsonObject): void {
    for (const [key, v] of Object.entries(value)) {
      const lower = key.toLowerCase();
      if (lower === 'schemas') continue;
      const ext = this.rt.schemasByUrn.get(lower);
      if (ext && ext !== this.rt.core) {
        if (v === null) {
          if (op === 'replace') delete this.doc[ext.id];
          continue;
        }
        if (!isPlainObject(v)) throw badRequest('invalidValue', `"${ext.id}" must be an object of extension attributes`);
        for (const [name, inner] of Object.entries(v)) {
          const ref = resolvePath(this.rt, `${ext.id}:${name}`, (d) => badRequest('invalidSyntax', d));
          if (ref.kind === 'attribute' && !isReadOnly(ref)) this.applyTarget(op, ref, inner, true);
        }
        continue;
      }
      if (key.includes('[')) {
        this.apply(op, key, v, true);
        continue;
      }
      const ref = resolvePath(this.rt, key, (d) => badRequest('invalidSyntax', d));
      if (ref.kind === 'attribute' && !isReadOnly(ref)) this.applyTarget(op, ref, v, true);
    }
  }

  private applyTarget(op: Op, ref: AttrRef, value: unknown, hasValue: boolean): void {
    const { attr, sub } = ref;
    const label = pathLabel(ref);
    if (isReadOnly(ref)) throw mutability(`${label} is readOnly`);
    const container = this.container(ref.extension, op !== 'remove');
    const current = container?.[attr.name];
    const elements = Array.isArray(current) ? current : [];

    if (op === 'remove') {
      if (sub) {
        if (sub.mutability === 'immutable') throw mutability(`${label} is immutable`);
        if (attr.multiValued) this.set(ref, elements.map((el) => without(el, sub.name)).filter(nonEmpty));
        else if (isPlainObject(current)) this.set(ref, without(current, sub.name));
        return;
      }
      if (attr.multiValued && hasValue && value !== null && value !== undefined) {
        this.removeValues(ref, elements, value);
        return;
      }
      if (attr.required) throw mutability(`${label} is required and cannot be removed`);
      if (this.isMembers(attr)) {
        this.memberChanges += elements.length;
        this.members.rebuilt = true;
      }
      this.set(ref, undefined);
      return;
    }

    if (!hasValue) throw badRequest('invalidSyntax', `"${op}" needs a "value"`);
    if (sub) {
      if (sub.mutability === 'immutable') throw mutability(`${label} is immutable`);
      const v = coerceAttributeValue(this.rt, sub, value, label, this.behaviour);
      if (attr.multiValued) {
        const next = elements.length === 0 ? (v === undefined ? [] : [{ [sub.name]: v }]) : elements.map((el) => withKey(el, sub.name, v)).filter(nonEmpty);
        this.setMulti(ref, next, sub.name === 'primary' && v === true ? next.map((_, i) => i) : []);
      } else {
        this.set(ref, withKey(isPlainObject(current) ? current : {}, sub.name, v));
      }
      return;
    }
    if (attr.multiValued) {
      const list = (Array.isArray(value) ? value : [value]).filter((v) => v !== null);
      const values = list.map((v, i) => coerceElement(this.rt, attr, v, `${label}[${i}]`, this.behaviour)).filter((v): v is JsonValue => v !== undefined);
      const members = this.isMembers(attr);
      if (members) this.memberChanges += values.length;
      if (op === 'replace') {
        if (members) this.members.rebuilt = true;
        this.setMulti(ref, values, values.map((_, i) => i));
        return;
      }
      const next = elements.slice();
      const added: number[] = [];
      // Members are unique by value; other multi-valued attributes skip exact duplicates.
      const isMember = members ? this.members.lookup(elements) : undefined;
      // Exact duplicates found by a canonical text of each value, not by comparing with every
      // element: that was quadratic in a PATCH adding thousands of values.
      let held: Set<string> | undefined;
      for (const v of values) {
        if (isMember) {
          if (isMember(memberValue(v))) continue;
        } else {
          held ??= new Set(next.map(canonicalText));
          const text = canonicalText(v);
          if (held.has(text)) continue;
          held.add(text);
        }
        if (members) this.members.add(v as JsonObject);
        added.push(next.push(v) - 1);
      }
      this.setMulti(ref, next, added);
      return;
    }
    const v = coerceAttributeValue(this.rt, attr, value, label, this.behaviour);
    if (v === undefined && attr.required) throw mutability(`${label} is required and cannot be removed`);
    // add and replace on a complex attribute both merge sub-attributes (RFC 7644 §3.5.2.1, §3.5.2.3).
    this.set(ref, attr.type === 'complex' && isPlainObject(v) && isPlainObject(current) ? { ...current, ...v } : v);
  }

  private applyFiltered(op: Op, ref: AttrRef, filter: FilterNode, sub: AttributeDef | undefined, value: unknown, hasValue: boolean): void {
    const { attr } = ref;
    const label = `${pathLabel(ref)}[...]${sub ? `.${sub.name}` : ''}`;
    if (sub && (sub.mutability === 'readOnly' || sub.mutability === 'immutable')) throw mutability(`${attr.name}.${sub.name} is ${sub.mutability}`);
    const matches = compileElementFilter(filter, attr, this.rt, { behaviour: this.behaviour }, invalidPath);
    const container = this.container(ref.extension, op !== 'remove');
    const current = container?.[attr.name];
    const elements = Array.isArray(current) ? current : [];
    const hit: boolean[] = new Array<boolean>(elements.length);
    let hitCount = 0;
    for (let i = 0; i < elements.length; i++) {
      const el = elements[i];
      if ((hit[i] = isPlainObject(el) && matches(el))) hitCount++;
    }

    if (op === 'remove') {
      if (hitCount === 0) return;
      const members = this.isMembers(attr) && !sub;
      if (members) this.memberChanges += hitCount;
      const next: JsonValue[] = [];
      for (let i = 0; i < elements.length; i++) {
        const el = elements[i]!;
        if (!hit[i]) next.push(el);
        else if (sub) next.push(without(el, sub.name));
        else if (members) this.members.remove(memberValue(el));
      }
      this.set(ref, next.filter(nonEmpty));
      return;
    }
    if (!hasValue) throw badRequest('invalidSyntax', `"${op}" needs a "value"`);
    if (op === 'replace' && hitCount === 0) throw badRequest('noTarget', `no value of ${attr.name} matches the filter`);

    let replacement: JsonValue | undefined;
    if (sub) {
      replacement = coerceAttributeValue(this.rt, sub, value, label, this.behaviour);
    } else {
      replacement = coerceElement(this.rt, attr, value, label, this.behaviour);
      if (!isPlainObject(replacement)) throw badRequest('invalidValue', `"value" for ${label} must be an object`);
    }
    const changed: number[] = [];
    let next: JsonValue[];
    if (hitCount > 0) {
      next = elements.map((el, i) => {
        if (!hit[i]) return el;
        changed.push(i);
        if (sub) return withKey(el, sub.name, replacement);
        return op === 'replace' ? (replacement as JsonObject) : { ...(el as JsonObject), ...(replacement as JsonObject) };
      });
      if (this.isMembers(attr) && !sub) {
        this.memberChanges += hitCount;
        this.members.rebuilt = true;
      }
    } else {
      // add through a filter that matches nothing creates the value the filter describes,
      // e.g. add emails[type eq "work"].value creates {type: "work", value}.
      const seed = equalityTerms(filter, attr);
      if (!seed) throw badRequest('noTarget', `no value of ${attr.name} matches the filter, and it does not describe a new one (use eq joined by and)`);
      const created = sub ? { ...seed, [sub.name]: replacement as JsonValue } : { ...seed, ...(replacement as JsonObject) };
      const element = coerceElement(this.rt, attr, created, label, this.behaviour);
      next = elements.slice();
      if (element !== undefined) changed.push(next.push(element) - 1);
      if (this.isMembers(attr)) {
        this.memberChanges += 1;
        if (isPlainObject(element)) this.members.add(element);
      }
    }
    // Unsetting a sub-attribute can empty an element; such elements go, and no primary was set.
    if (replacement === undefined) this.setMulti(ref, next.filter(nonEmpty), []);
    else this.setMulti(ref, next, sub && sub.name !== 'primary' ? [] : changed);
  }

  /** Removes the values named in a remove op's "value" (Okta and Entra remove members this way). */
  private removeValues(ref: AttrRef, elements: JsonValue[], value: unknown): void {
    const label = pathLabel(ref);
    const list = Array.isArray(value) ? value : [value];
    const targets = list
      .filter((v) => v !== null)
      .map((v, i) => coerceElement(this.rt, ref.attr, v, `${label}[${i}]`, this.behaviour))
      .filter((v): v is JsonValue => v !== undefined);
    if (this.isMembers(ref.attr)) this.memberChanges += targets.length;
    let keep: (el: JsonValue) => boolean;
    if (targets.every((t) => isPlainObject(t) && Object.keys(t).length === 1 && 'value' in t)) {
      const drop = new Set(targets.map(memberValue));
      keep = (el) => !drop.has(memberValue(el));
    } else {
      const matches = subsetMatcher(targets);
      keep = (el) => !matches(el);
    }
    const next: JsonValue[] = [];
    for (const el of elements) {
      if (keep(el)) next.push(el);
      else if (this.isMembers(ref.attr)) this.members.remove(memberValue(el));
    }
    this.set(ref, next);
  }

  /** Sets a multi-valued attribute; a value just set to primary clears primary on the others (RFC 7644 §3.5.2). */
  private setMulti(ref: AttrRef, values: JsonValue[], changed: number[]): void {
    const primaries = changed.filter((i) => isPlainObject(values[i]) && (values[i] as JsonObject).primary === true);
    if (primaries.length > 1) throw badRequest('invalidValue', `${pathLabel(ref)}: "primary" may be true for at most one value`);
    let next = values;
    if (primaries.length === 1) {
      next = values.map((el, i) => (i !== primaries[0] && isPlainObject(el) && el.primary === true ? { ...el, primary: false } : el));
    } else if (next.filter((el) => isPlainObject(el) && el.primary === true).length > 1) {
      throw badRequest('invalidValue', `${pathLabel(ref)}: "primary" may be true for at most one value`);
    }
    this.set(ref, next);
  }

  private set(ref: AttrRef, value: JsonValue | undefined): void {
    const empty = value === undefined || value === null || (Array.isArray(value) && value.length === 0) || (isPlainObject(value) && Object.keys(value).length === 0);
    const container = this.container(ref.extension, !empty);
    if (!container) return;
    if (empty) delete container[ref.attr.name];
    else container[ref.attr.name] = value;
    if (ref.extension && Object.keys(container).length === 0) delete this.doc[ref.extension];
  }

  /** The object holding an attribute, copied before its first change so the stored resource stays intact. */
  private container(extension: string | undefined, create: boolean): JsonObject | undefined {
    if (!extension) return this.doc;
    const existing = this.doc[extension];
    if (this.copiedExtensions.has(extension) && isPlainObject(existing)) return existing;
    if (!isPlainObject(existing) && !create) return undefined;
    const copy: JsonObject = isPlainObject(existing) ? { ...existing } : {};
    this.doc[extension] = copy;
    this.copiedExtensions.add(extension);
    const schemas = Array.isArray(this.doc.schemas) ? this.doc.schemas : [];
    // A PATCH carries no resource "schemas": the server lists the extension once it holds data.
    if (!schemas.includes(extension)) this.doc.schemas = [...schemas, extension];
    return copy;
  }

  private isMembers(attr: AttributeDef): boolean {
    return this.rt.name === 'Group' && attr.name === 'members';
  }
}

/**
 * Follows how one PATCH changes a group's member values, so neither the engine nor the store has
 * to re-read a 10,000-member list to dedupe an add or update the membership index. Wholesale
 * replacement sets `rebuilt`, and the store falls back to comparing full lists.
 */
class MemberTracker {
  rebuilt: boolean;
  private readonly added = new Map<string, JsonObject>();
  private readonly removed = new Set<string>();

  constructor(private readonly base: ReadonlySet<string> | undefined) {
    this.rebuilt = base === undefined;
  }

  /** A membership test for the current elements: O(1) from the tracked state, else a fresh Set. */
  lookup(elements: JsonValue[]): (value: JsonValue | undefined) => boolean {
    if (this.rebuilt || !this.base) {
      const values = new Set(elements.map(memberValue));
      return (value) => values.has(value);
    }
    const base = this.base;
    return (value) => typeof value === 'string' && (this.added.has(value) || (base.has(value) && !this.removed.has(value)));
  }

  add(element: JsonObject): void {
    if (typeof element.value !== 'string') return;
    this.removed.delete(element.value);
    this.added.set(element.value, element);
  }

  remove(value: JsonValue | undefined): void {
    if (typeof value !== 'string') return;
    this.added.delete(value);
    if (this.base?.has(value)) this.removed.add(value);
  }

  delta(): MemberDelta | undefined {
    return this.rebuilt ? undefined : { added: [...this.added.values()], removed: [...this.removed] };
  }
}

/** `type eq "work" and primary eq true` → {type: "work", primary: true}; undefined for anything else. */
function equalityTerms(node: FilterNode, parent: AttributeDef): JsonObject | undefined {
  if (node.kind === 'logical' && node.op === 'and') {
    const left = equalityTerms(node.left, parent);
    const right = equalityTerms(node.right, parent);
    return left && right ? { ...left, ...right } : undefined;
  }
  if (node.kind !== 'compare' || node.op !== 'eq' || node.value === null) return undefined;
  const sub = parent.subIndex?.get(node.path.toLowerCase());
  return sub ? { [sub.name]: node.value } : undefined;
}

function isReadOnly(ref: AttrRef): boolean {
  return ref.attr.mutability === 'readOnly' || ref.sub?.mutability === 'readOnly';
}

function field(obj: JsonObject, name: string): JsonValue | undefined {
  if (name in obj) return obj[name];
  const lower = name.toLowerCase();
  const key = Object.keys(obj).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : obj[key];
}

function memberValue(el: JsonValue): JsonValue | undefined {
  return isPlainObject(el) ? el.value : el;
}

function without(el: JsonValue, key: string): JsonValue {
  if (!isPlainObject(el) || !(key in el)) return el;
  const { [key]: _removed, ...rest } = el;
  return rest;
}

function withKey(el: JsonValue, key: string, value: JsonValue | undefined): JsonValue {
  if (value === undefined) return without(el, key);
  return { ...(isPlainObject(el) ? el : {}), [key]: value };
}

function nonEmpty(el: JsonValue): boolean {
  return !(isPlainObject(el) && Object.keys(el).length === 0);
}

/**
 * Whether an element is one of `targets`: equal to a target that is not an object, or holding every
 * key of a target that is one with equal values. By canonical text in sets, one per set of keys the
 * targets use (a handful: they are sub-attributes), not by comparing every element with every
 * target: a PATCH removing thousands of values from thousands was quadratic.
 */
function subsetMatcher(targets: readonly JsonValue[]): (el: JsonValue) => boolean {
  const plain = new Set<string>();
  const byKeys = new Map<string, { keys: string[]; texts: Set<string> }>();
  for (const t of targets) {
    if (!isPlainObject(t)) {
      plain.add(canonicalText(t));
      continue;
    }
    const keys = Object.keys(t).sort();
    const shape = JSON.stringify(keys);
    let group = byKeys.get(shape);
    if (!group) byKeys.set(shape, (group = { keys, texts: new Set() }));
    group.texts.add(canonicalText(t));
  }
  const shapes = [...byKeys.values()];
  return (el) => {
    if (!isPlainObject(el)) return plain.size > 0 && plain.has(canonicalText(el));
    return shapes.some(({ keys, texts }) => keys.every((k) => Object.hasOwn(el, k)) && texts.has(canonicalText(Object.fromEntries(keys.map((k) => [k, el[k]!])))));
  };
}

/** A JSON value as text with every object's keys sorted: two values have the same text exactly when deepEqual holds. */
function canonicalText(value: JsonValue): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isPlainObject(v as JsonValue) ? Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, (v as Record<string, unknown>)[k]])) : v,
  );
}

function deepEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

import { isPlainObject, pathLabel, resolvePath, valuesAt } from './attribute-path.js';
import type { AttrRef } from './attribute-path.js';
import type { AttributeDef, ResourceTypeDef } from './attribute-schema.js';
import { operatorAllowed } from './behaviour.js';
import type { SandboxBehaviour } from './behaviour.js';
import { ScimError, badRequest } from './errors.js';
import { parseFilter } from './filter-parser.js';
import type { CompareOp, FilterNode, FilterValue } from './filter-parser.js';
import type { JsonObject, JsonValue } from '../model/scim.js';

/**
 * Compiles a parsed filter into a predicate, once per request: names are resolved and values
 * case-folded up front so evaluating thousands of resources does no parsing. Semantics
 * (RFC 7644 §3.4.2.2): strings compare case-insensitively unless the attribute is caseExact; a
 * multi-valued attribute matches when any value does; a complex attribute without a sub-attribute
 * compares its `value` sub-attribute; gt/ge/lt/le on booleans and binaries are invalid.
 */

export type Predicate = (resource: JsonObject) => boolean;

export interface CompiledFilter {
  readonly test: Predicate;
  /** Canonical names of the top-level attributes (or extension URNs) the filter reads. */
  readonly reads: ReadonlySet<string>;
  readonly node: FilterNode;
}

/** A lookup the store can answer from an index instead of scanning (`userName eq "x"`). */
export interface IndexLookup {
  readonly attribute: 'id' | 'externalId' | 'userName' | 'displayName';
  readonly value: string;
}

interface FilterOptions {
  readonly behaviour: Pick<SandboxBehaviour, 'filterOperators' | 'lenientBooleans'> & Partial<Pick<SandboxBehaviour, 'userNameCaseExact'>>;
}

/** A resolved attribute inside the current scope: resource level, or the elements of a valuePath. */
interface Target {
  readonly def: AttributeDef;
  readonly label: string;
  /** Whether any value of the attribute in `obj` passes `test` (no allocation for element scopes). */
  readonly some: (obj: JsonObject, test: (v: JsonValue) => boolean) => boolean;
}

type Scope = (path: string, at: number, forPresence: boolean) => Target;

const fail = (detail: string): ScimError => badRequest('invalidFilter', detail);

export function compileFilter(text: string, rt: ResourceTypeDef, options: FilterOptions): CompiledFilter {
  const node = parseFilter(text);
  const reads = new Set<string>();
  const test = compileNode(node, resourceScope(rt, reads), rt, options);
  return { test, reads, node };
}

/** Compiles a valuePath filter for the elements of one complex attribute (PATCH `emails[type eq "work"]`). */
export function compileElementFilter(node: FilterNode, parent: AttributeDef, rt: ResourceTypeDef, options: FilterOptions, failWith = fail): Predicate {
  return compileNode(node, elementScope(parent, failWith), rt, options);
}

/**
 * Index lookups that fully cover the filter's candidates, or undefined when a scan is needed.
 * `a and b` narrows through either side; `a or b` needs both sides indexable.
 */
export function indexLookups(node: FilterNode, rt: ResourceTypeDef): IndexLookup[] | undefined {
  switch (node.kind) {
    case 'logical': {
      const left = indexLookups(node.left, rt);
      const right = indexLookups(node.right, rt);
      if (node.op === 'and') return left ?? right;
      return left && right ? [...left, ...right] : undefined;
    }
    case 'compare': {
      if (node.op !== 'eq' || typeof node.value !== 'string') return undefined;
      let ref;
      try {
        ref = resolvePath(rt, node.path, fail);
      } catch {
        return undefined;
      }
      if (ref.kind !== 'attribute' || ref.extension || ref.sub) return undefined;
      const name = ref.attr.name;
      const indexed = name === 'id' || name === 'externalId' || (rt.name === 'User' ? name === 'userName' : name === 'displayName');
      return indexed ? [{ attribute: name as IndexLookup['attribute'], value: node.value }] : undefined;
    }
    default:
      return undefined;
  }
}

function resourceScope(rt: ResourceTypeDef, reads: Set<string>): Scope {
  return (path, at, forPresence) => {
    const ref = resolvePath(rt, path, (detail) => fail(`${detail} (at position ${at + 1})`));
    if (ref.kind !== 'attribute') throw fail(`"${path}" names a schema, not an attribute (at position ${at + 1})`);
    reads.add(ref.extension ?? ref.attr.name);
    const effective = defaultSub(ref, forPresence);
    return { def: effective.sub ?? effective.attr, label: pathLabel(effective), some: (obj, test) => valuesAt(obj, effective).some(test) };
  };
}

function elementScope(parent: AttributeDef, failWith: (detail: string) => ScimError): Scope {
  return (path, at) => {
    const sub = parent.subIndex?.get(path.toLowerCase());
    if (!sub) throw failWith(`"${path}" is not a sub-attribute of ${parent.name} (at position ${at + 1})`);
    return {
      def: sub,
      label: `${parent.name}.${sub.name}`,
      some: (obj, test) => {
        const v = obj[sub.name];
        return v !== undefined && v !== null && test(v);
      },
    };
  };
}

/** `members eq "id"` means `members.value eq "id"` (RFC 7643 §2.4: value is the default sub-attribute). */
function defaultSub(ref: AttrRef, forPresence: boolean): AttrRef {
  if (forPresence || ref.sub || ref.attr.type !== 'complex') return ref;
  const value = ref.attr.subIndex?.get('value');
  return value ? { ...ref, sub: value } : ref;
}

function compileNode(node: FilterNode, scope: Scope, rt: ResourceTypeDef, options: FilterOptions): Predicate {
  switch (node.kind) {
    case 'logical': {
      requireOperator(node.op, options);
      const left = compileNode(node.left, scope, rt, options);
      const right = compileNode(node.right, scope, rt, options);
      return node.op === 'and' ? (r) => left(r) && right(r) : (r) => left(r) || right(r);
    }
    case 'not': {
      requireOperator('not', options);
      const inner = compileNode(node.filter, scope, rt, options);
      return (r) => !inner(r);
    }
    case 'present': {
      requireOperator('pr', options);
      const target = scope(node.path, node.at, true);
      return (r) => target.some(r, isPresent);
    }
    case 'valuePath': {
      const target = scope(node.path, node.at, true);
      if (target.def.type !== 'complex') throw fail(`"${node.path}" is not a complex attribute, so it cannot take a [filter] (at position ${node.at + 1})`);
      const inner = compileElementFilter(node.filter, target.def, rt, options);
      return (r) => target.some(r, (el) => isPlainObject(el) && inner(el));
    }
    case 'compare':
      return compileCompare(node.path, node.op, node.value, node.at, scope, options);
  }
}

function compileCompare(path: string, op: CompareOp, value: FilterValue, at: number, scope: Scope, options: FilterOptions): Predicate {
  requireOperator(op, options);
  const target = scope(path, at, false);
  if (value === null) {
    // `attr eq null` asks whether the attribute is unassigned.
    if (op === 'eq') return (r) => !target.some(r, isPresent);
    if (op === 'ne') return (r) => target.some(r, isPresent);
    throw fail(`"${op} null" is not a valid comparison for ${target.label}`);
  }
  const match = matcher(target, op === 'ne' ? 'eq' : op, value, options);
  const any: Predicate = (r) => target.some(r, match);
  return op === 'ne' ? (r) => !any(r) : any;
}

function matcher(target: Target, op: CompareOp, value: Exclude<FilterValue, null>, options: FilterOptions): (v: JsonValue) => boolean {
  const { def, label } = target;
  const ordering = op === 'gt' || op === 'ge' || op === 'lt' || op === 'le';
  const substring = op === 'co' || op === 'sw' || op === 'ew';
  switch (def.type) {
    case 'complex':
      throw fail(`${label} is complex: compare one of its sub-attributes, e.g. ${label}.${def.subAttributes?.[0]?.name ?? 'value'}`);
    case 'boolean': {
      if (op !== 'eq') throw fail(`operator "${op}" is not defined for the boolean attribute ${label}`);
      let expected = value;
      if (typeof value === 'string' && options.behaviour.lenientBooleans && /^(true|false)$/i.test(value)) expected = value.toLowerCase() === 'true';
      if (typeof expected !== 'boolean') throw fail(`${label} is a boolean: compare it with true or false, not ${JSON.stringify(value)}`);
      return (v) => v === expected;
    }
    case 'integer':
    case 'decimal': {
      if (typeof value !== 'number') throw fail(`${label} is a number: compare it with a number, not ${JSON.stringify(value)}`);
      if (substring) throw fail(`operator "${op}" is not defined for the numeric attribute ${label}`);
      return (v) => typeof v === 'number' && order(op, v, value);
    }
    case 'dateTime': {
      if (typeof value !== 'string') throw fail(`${label} is a dateTime: compare it with a string, not ${JSON.stringify(value)}`);
      if (substring) return stringMatcher(op, value, true);
      const ms = Date.parse(value);
      if (Number.isNaN(ms)) throw fail(`${JSON.stringify(value)} is not a dateTime (compared with ${label})`);
      return (v) => {
        if (typeof v !== 'string') return false;
        const t = Date.parse(v);
        return !Number.isNaN(t) && order(op, t, ms);
      };
    }
    case 'binary':
      if (ordering) throw fail(`operator "${op}" is not defined for the binary attribute ${label}`);
      if (typeof value !== 'string') throw fail(`${label} is binary: compare it with a string, not ${JSON.stringify(value)}`);
      return stringMatcher(op, value, true);
    case 'string':
    case 'reference':
      if (typeof value !== 'string') throw fail(`${label} is a string: compare it with a quoted string, not ${JSON.stringify(value)}`);
      return stringMatcher(op, value, def.caseExact || (def.name === 'userName' && options.behaviour.userNameCaseExact === true));
  }
}

function stringMatcher(op: CompareOp, value: string, caseExact: boolean): (v: JsonValue) => boolean {
  const expected = caseExact ? value : value.toLowerCase();
  const fold = caseExact ? (s: string) => s : (s: string) => s.toLowerCase();
  switch (op) {
    case 'co':
      return (v) => typeof v === 'string' && fold(v).includes(expected);
    case 'sw':
      return (v) => typeof v === 'string' && fold(v).startsWith(expected);
    case 'ew':
      return (v) => typeof v === 'string' && fold(v).endsWith(expected);
    default:
      return (v) => typeof v === 'string' && order(op, fold(v), expected);
  }
}

function order<T extends number | string>(op: CompareOp, a: T, b: T): boolean {
  switch (op) {
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
    default:
      return a === b;
  }
}

function isPresent(v: JsonValue): boolean {
  if (v === null || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isPlainObject(v)) return Object.values(v).some((x) => x !== null && x !== '');
  return true;
}

function requireOperator(op: string, options: FilterOptions): void {
  if (!operatorAllowed(options.behaviour, op)) {
    const ops = options.behaviour.filterOperators;
    throw fail(`operator "${op}" is not supported by this server (supported: ${ops === 'all' ? 'all' : ops.join(', ')})`);
  }
}

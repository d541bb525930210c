/**
 * Canonical user -> the SCIM attributes a target should hold. Pure: compiled once per target, then
 * applied to every user.
 */
import type { MappingRule, RoleRule } from '../config/schema/index.js';
import { ConfigError } from '../errors.js';
import { compileRoles, type RoleMapper, type RoleValue } from './role-mapping.js';
import type { CanonicalUser } from '../model/canonical.js';
import { SCHEMA_USER, type JsonObject, type JsonValue } from '../model/scim.js';
import { DEFAULT_USER_MAPPING } from './default-user-mapping.js';
import { parsePath, shortPath, writePath, type ParsedPath } from '../model/scim-paths.js';
import { compileValue, type CompiledValue, type ValueOptions } from './compiled-value.js';

/** Attributes the engine owns itself; a mapping may not set them. */
const RESERVED = new Set(['externalid', 'active', 'id', 'meta', 'schemas', 'password', 'groups', 'roles', 'entitlements']);

export interface CompiledRule {
  readonly path: ParsedPath;
  readonly value: CompiledValue;
  /** Tried in order while the value comes out empty. */
  readonly fallbacks: readonly CompiledValue[];
  readonly createOnly: boolean;
  /**
   * Set for a multi-valued attribute mapped whole (`emails: {values: "{email}"}`): its value is the
   * list of `{value, type}` entries, one per source value, the first primary; compared as a set.
   */
  readonly types?: readonly string[];
  /** Compared with case (a target whose userName is case-exact: quirks.userNameCaseExact): a rename by case alone is a change. */
  readonly caseExact?: true;
  /**
   * Set when the target's schema types the attribute otherwise than the value comes (a text for a
   * boolean, a date for a dateTime): the value as the target takes it, or NotSendable.
   */
  readonly conform?: (value: JsonValue) => JsonValue | NotSendable;
  /** The target's schema requires the attribute: a person without a value is not created. */
  readonly required?: boolean;
}

/** A person's value a target cannot take (schema-fit.ts): not sent, and the account keeps what it has. */
export class NotSendable {
  constructor(readonly reason: string) {}
}

/**
 * A rule that failed for one person with an error nobody foresaw (a bug, a value no function
 * expected): thrown by mapUser, naming the rule, so the planner can hold that person alone.
 */
export class RuleFailed extends Error {
  constructor(
    /** The rule as the config writes it (`nickName`, `roles`). */
    readonly rule: string,
    cause: unknown,
  ) {
    super(`${rule} could not be computed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** A rule whose value is not sent for this person, and why. */
export interface Unsent {
  readonly index: number;
  readonly reason: string;
  /** The attribute is required: a create cannot go without it. */
  readonly required: boolean;
}

/** A multi-valued attribute managed as a set of values (roles, entitlements). */
export interface SetRule {
  readonly attribute: 'roles' | 'entitlements';
  readonly map: RoleMapper;
}

export interface UserMapping {
  readonly rules: readonly CompiledRule[];
  readonly sets: readonly SetRule[];
  /** Rule index by path key. */
  readonly indexOf: ReadonlyMap<string, number>;
}

/** The desired state of one user in one target. Paths are ParsedPath keys. */
export interface DesiredUser {
  readonly externalId: string;
  readonly userName: string;
  /**
   * Values of mapped attributes, aligned with `mapping.rules` (an array, not a map: planning maps
   * every user of the directory, and this is its hot path); null means "should be absent".
   */
  readonly values: readonly JsonValue[];
  /** Values of each set rule, aligned with `mapping.sets`. */
  readonly sets: readonly (readonly RoleValue[])[];
  /** Rules whose value is not sent (their entry in `values` is null): neither written nor compared. */
  readonly unsent?: readonly Unsent[];
}

/** The desired value at a path key, or null when the path is not mapped. */
export function desiredValue(mapping: UserMapping, desired: DesiredUser, key: string): JsonValue {
  const i = mapping.indexOf.get(key);
  return i === undefined ? null : (desired.values[i] ?? null);
}

/** What expressions need beyond the rules: the config's lookup tables and the plan's time. */
export type MappingOptions = Pick<ValueOptions, 'lookups' | 'now' | 'masked'>;

/**
 * Compile the default mapping with the target's overrides on top; `sourceAttributes` decides which
 * rules stay active. Throws a ConfigError listing every problem at its path in the target's config
 * (`mapping.<path>`, `roles`, `entitlements`): the caller puts `targets.<name>.` in front.
 */
export function compileUserMapping(
  overrides: Readonly<Record<string, MappingRule>>,
  sourceAttributes: ReadonlySet<string>,
  setRules: { roles?: readonly RoleRule[] | undefined; entitlements?: readonly RoleRule[] | undefined } = {},
  options: MappingOptions = {},
): UserMapping {
  const merged = new Map<string, MappingRule>();
  for (const [path, rule] of Object.entries(DEFAULT_USER_MAPPING)) merged.set(parsePath(path).key, rule);
  const problems: string[] = [];
  const explicit = new Set<string>();
  // Problems name a rule as the config writes it (enterprise:department, not its full URN).
  const written = new Map<string, string>();
  for (const [path, rule] of Object.entries(overrides)) {
    try {
      const key = parsePath(path).key;
      written.set(key, path);
      if (RESERVED.has(parsePath(path).attribute.toLowerCase())) {
        problems.push(`mapping.${path}: managed by scim-sync itself, cannot be mapped`);
        continue;
      }
      merged.set(key, rule);
      explicit.add(key);
    } catch (error) {
      problems.push(`mapping.${path}: ${(error as Error).message}`);
    }
  }
  // A multi-valued attribute mapped whole owns every entry: the typed defaults on it give way.
  const whole = new Map<string, string>();
  for (const [key, rule] of merged) if (rule && typeof rule === 'object' && 'values' in rule) whole.set(attributeKey(parsePath(key)), key);
  const rules: CompiledRule[] = [];
  const failed = new Set<string>();
  for (const [key, rule] of merged) {
    if (rule === null) continue;
    const path = parsePath(key);
    const owner = path.type !== null ? whole.get(attributeKey(path)) : undefined;
    if (owner !== undefined) {
      if (explicit.has(key)) problems.push(`${key}: ${owner} is mapped whole, so it cannot also be mapped by type; keep one of the two`);
      continue;
    }
    try {
      const compiled = compileRule(path, rule, options);
      const reads = [...compiled.value.attributes, ...compiled.fallbacks.flatMap((f) => f.attributes)];
      // Defaults only apply when the source has one of their attributes; an explicit rule always applies.
      if (!explicit.has(key) && reads.length > 0 && !reads.some((a) => sourceAttributes.has(a))) continue;
      rules.push(compiled);
    } catch (error) {
      failed.add(key);
      problems.push(`mapping.${written.get(key) ?? key}${error instanceof FieldError ? error.field : ''}: ${(error as Error).message}`);
    }
  }
  if (!rules.some((r) => r.path.key === 'userName') && !failed.has('userName')) problems.push('mapping.userName: no rule yields a userName');
  const sets: SetRule[] = [];
  for (const attribute of ['roles', 'entitlements'] as const) {
    const list = setRules[attribute];
    if (!list) continue;
    try {
      sets.push({ attribute, map: compileRoles(list, options) });
    } catch (error) {
      problems.push(`${attribute}: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError('the mapping does not compile', problems);
  return { rules, sets, indexOf: new Map(rules.map((r, i) => [r.path.key, i])) };
}

function attributeKey(path: ParsedPath): string {
  return `${path.schema ?? ''}:${path.attribute}`.toLowerCase();
}

/** A problem in one field of an object rule (`.value`, `.default[1]`), so the path names the text a column counts in. */
class FieldError extends Error {
  constructor(
    readonly field: string,
    cause: Error,
  ) {
    super(cause.message, { cause });
  }
}

function within<T>(field: string, compile: () => T): T {
  try {
    return compile();
  } catch (error) {
    throw new FieldError(field, error as Error);
  }
}

/** A single value: text, a number or a condition, never a list (that is what `values` is for). */
function single(text: string, options: ValueOptions): CompiledValue {
  const value = compileValue(text, options);
  if (value.type === 'list') throw new Error(`"${text}" gives a list: map a multi-valued attribute whole with "values", or Join the list`);
  return value;
}

function compileRule(path: ParsedPath, rule: Exclude<MappingRule, null>, options: MappingOptions): CompiledRule {
  // SelectUniqueValue picks one value among the target's: only the main value of a rule may be one.
  if (typeof rule === 'string') return { path, value: single(rule, { ...options, allowUnique: true }), fallbacks: [], createOnly: false };
  const createOnly = rule.when === 'create';
  if ('values' in rule) {
    if (path.type !== null || path.sub !== null) throw new Error('"values" maps a multi-valued attribute whole: give its plain path, e.g. emails');
    const value = within('.values', () => {
      const compiled = compileValue(rule.values, options);
      // Made to throw now, at load, rather than for the first person.
      compiled.evaluateEach({});
      return compiled;
    });
    return { path, value, fallbacks: [], createOnly, types: rule.types };
  }
  const defaults = rule.default === undefined ? [] : typeof rule.default === 'string' ? [rule.default] : rule.default;
  const listed = Array.isArray(rule.default);
  return {
    path,
    value: within('.value', () => single(rule.value, { ...options, allowUnique: true })),
    fallbacks: defaults.map((d, i) => within(listed ? `.default[${i}]` : '.default', () => single(d, options))),
    createOnly,
  };
}

/** The entries of a multi-valued attribute mapped whole, or null when the source has no value. */
function wholeValue(rule: CompiledRule, types: readonly string[], attributes: CanonicalUser['attributes']): JsonValue {
  const values = rule.value.evaluateEach(attributes);
  if (values.length === 0) return null;
  return values.map((value, i): JsonObject => ({ value, type: types[Math.min(i, types.length - 1)]!, ...(i === 0 ? { primary: true } : {}) }));
}

/** The work email a person should have (for adopting by email): the typed rule's, or the first work entry of `emails` mapped whole. */
export function desiredWorkEmail(mapping: UserMapping, desired: DesiredUser): JsonValue {
  const typed = desiredValue(mapping, desired, 'emails[type eq "work"].value');
  if (typed !== null) return typed;
  const whole = desiredValue(mapping, desired, 'emails');
  const entry = Array.isArray(whole) ? whole.find((e) => !!e && typeof e === 'object' && !Array.isArray(e) && e['type'] === 'work') : undefined;
  return entry && typeof entry === 'object' && !Array.isArray(entry) ? (entry['value'] ?? null) : null;
}

/**
 * The mapping without the rules that write into extension schemas the target lacks (a core-only
 * server refuses the whole write over one of them), and the paths left out, by schema.
 */
export function withoutExtensions(mapping: UserMapping, has: (schema: string) => boolean): { mapping: UserMapping; dropped: Map<string, string[]> } {
  const dropped = new Map<string, string[]>();
  const rules = mapping.rules.filter((rule) => {
    const schema = rule.path.schema;
    if (schema === null || has(schema)) return true;
    dropped.set(schema, [...(dropped.get(schema) ?? []), rule.path.key.slice(schema.length + 1)]);
    return false;
  });
  if (dropped.size === 0) return { mapping, dropped };
  return { mapping: { rules, sets: mapping.sets, indexOf: new Map(rules.map((r, i) => [r.path.key, i])) }, dropped };
}

/**
 * `memberOf`: names of the groups the user is in, for role rules. Throws RuleFailed when a rule
 * throws for this person: one person's data must never stop a whole target's plan.
 */
export function mapUser(mapping: UserMapping, user: CanonicalUser, memberOf?: ReadonlySet<string>): DesiredUser {
  const rules = mapping.rules;
  const values: JsonValue[] = new Array<JsonValue>(rules.length);
  let unsent: Unsent[] | undefined;
  // Past the rules, `i` names the role and entitlement rules.
  let i = 0;
  try {
    for (; i < rules.length; i++) {
      const rule = rules[i]!;
      if (rule.types) {
        values[i] = wholeValue(rule, rule.types, user.attributes);
        continue;
      }
      let v: JsonValue = rule.value.evaluate(user.attributes);
      let f = 0;
      for (; v === null && f < rule.fallbacks.length; f++) v = rule.fallbacks[f]!.evaluate(user.attributes);
      // f === 0 with a value: the rule's own value gave it. A default that gives a value is taken
      // (as Coalesce would); the rule's own value is not, when part of it did not read.
      const unknown = v === null || v === false || (f === 0 && rule.value.unreadable) ? unreadableIn(rule, f, user.attributes) : undefined;
      if (unknown !== undefined) {
        // Nothing (or false) computed from a value that did not read ("2024-02-01" for d.M.yyyy) is
        // not "should be absent", and text around it ("since " & the date) is not the value either:
        // the account keeps what it has, and the plan says why.
        (unsent ??= []).push({ index: i, reason: `${shortPath(rule.path.key)} could not read ${unknown}`, required: rule.required === true });
        values[i] = null;
        continue;
      }
      if (rule.conform !== undefined && v !== null) {
        const fit = rule.conform(v);
        if (fit instanceof NotSendable) {
          (unsent ??= []).push({ index: i, reason: fit.reason, required: rule.required === true });
          v = null;
        } else {
          v = fit;
        }
      } else if (v === null && rule.required) {
        (unsent ??= []).push({ index: i, reason: `${shortPath(rule.path.key)} is required by the target and has no value`, required: true });
      }
      values[i] = v;
    }
    const userName = values[mapping.indexOf.get('userName') ?? -1];
    const sets = mapping.sets.length === 0 ? [] : mapping.sets.map((set) => set.map(user.attributes, memberOf));
    return { externalId: user.key, userName: typeof userName === 'string' ? userName : '', values, sets, ...(unsent ? { unsent } : {}) };
  } catch (error) {
    throw new RuleFailed(i < rules.length ? shortPath(rules[i]!.path.key) : mapping.sets.map((s) => s.attribute).join(' or '), error);
  }
}

/**
 * What the rule's value, and the `f` defaults tried after it, could not read for this person, or
 * undefined when every part read (an absent value is no such thing: it still gives the default).
 */
function unreadableIn(rule: CompiledRule, f: number, attributes: CanonicalUser['attributes']): string | undefined {
  const said: string[] = [];
  for (const value of [rule.value, ...rule.fallbacks.slice(0, f)]) {
    const why = value.unreadable?.(attributes);
    if (why !== undefined) said.push(why);
  }
  return said.length === 0 ? undefined : said.join(', ');
}

/** mapUser, with a rule's failure for this person given back rather than thrown: planning holds them. */
export function mapUserOrFailure(mapping: UserMapping, user: CanonicalUser, memberOf?: ReadonlySet<string>): DesiredUser | RuleFailed {
  try {
    return mapUser(mapping, user, memberOf);
  } catch (error) {
    if (error instanceof RuleFailed) return error;
    throw error;
  }
}

/** Whether rule `index` is sent for this person (its value not left out by the target's schema). */
export function isSent(desired: DesiredUser, index: number): boolean {
  return desired.unsent === undefined || !desired.unsent.some((u) => u.index === index);
}

/** The full SCIM User body for a create (or the base of a PUT). */
export function buildUserResource(mapping: UserMapping, desired: DesiredUser, active: boolean): JsonObject {
  const resource: JsonObject = { schemas: [SCHEMA_USER], externalId: desired.externalId };
  mapping.rules.forEach((rule, i) => {
    const v = desired.values[i];
    if (v !== null && v !== undefined) writePath(resource, rule.path, v);
  });
  mapping.sets.forEach((set, i) => {
    const values = desired.sets[i] ?? [];
    if (values.length > 0) resource[set.attribute] = values.map((v) => ({ ...v }));
  });
  resource['active'] = active;
  return resource;
}

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
import { parsePath, writePath, type ParsedPath } from '../model/scim-paths.js';
import { compileTemplate, type CompiledTemplate } from './template.js';

/** Attributes the engine owns itself; a mapping may not set them. */
const RESERVED = new Set(['externalid', 'active', 'id', 'meta', 'schemas', 'password', 'groups', 'roles', 'entitlements']);

export interface CompiledRule {
  readonly path: ParsedPath;
  readonly value: CompiledTemplate;
  readonly fallback: CompiledTemplate | null;
  readonly createOnly: boolean;
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
}

/** The desired value at a path key, or null when the path is not mapped. */
export function desiredValue(mapping: UserMapping, desired: DesiredUser, key: string): JsonValue {
  const i = mapping.indexOf.get(key);
  return i === undefined ? null : (desired.values[i] ?? null);
}

/**
 * Compile the default mapping with the target's overrides on top; `sourceAttributes` decides which
 * rules stay active. Throws a ConfigError listing every problem at its path in the target's config
 * (`mapping.<path>`, `roles`, `entitlements`): the caller puts `targets.<name>.` in front.
 */
export function compileUserMapping(
  overrides: Readonly<Record<string, MappingRule>>,
  sourceAttributes: ReadonlySet<string>,
  setRules: { roles?: readonly RoleRule[] | undefined; entitlements?: readonly RoleRule[] | undefined } = {},
): UserMapping {
  const merged = new Map<string, MappingRule>();
  for (const [path, rule] of Object.entries(DEFAULT_USER_MAPPING)) merged.set(parsePath(path).key, rule);
  const problems: string[] = [];
  const explicit = new Set<string>();
  for (const [path, rule] of Object.entries(overrides)) {
    try {
      const key = parsePath(path).key;
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
  const rules: CompiledRule[] = [];
  for (const [key, rule] of merged) {
    if (rule === null) continue;
    const spec = typeof rule === 'string' ? { value: rule, default: undefined, when: 'always' as const } : rule;
    try {
      const value = compileTemplate(spec.value);
      const fallback = spec.default !== undefined ? compileTemplate(spec.default) : null;
      const reads = [...value.attributes, ...(fallback?.attributes ?? [])];
      // Defaults only apply when the source has one of their attributes; an explicit rule always applies.
      if (!explicit.has(key) && reads.length > 0 && !reads.some((a) => sourceAttributes.has(a))) continue;
      rules.push({ path: parsePath(key), value, fallback, createOnly: spec.when === 'create' });
    } catch (error) {
      problems.push(`mapping.${key}: ${(error as Error).message}`);
    }
  }
  if (!rules.some((r) => r.path.key === 'userName')) problems.push('mapping.userName: no rule yields a userName');
  const sets: SetRule[] = [];
  for (const attribute of ['roles', 'entitlements'] as const) {
    const list = setRules[attribute];
    if (!list) continue;
    try {
      sets.push({ attribute, map: compileRoles(list) });
    } catch (error) {
      problems.push(`${attribute}: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError('the mapping does not compile', problems);
  return { rules, sets, indexOf: new Map(rules.map((r, i) => [r.path.key, i])) };
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

/** `memberOf`: names of the groups the user is in, for role rules. */
export function mapUser(mapping: UserMapping, user: CanonicalUser, memberOf?: ReadonlySet<string>): DesiredUser {
  const rules = mapping.rules;
  const values: JsonValue[] = new Array<JsonValue>(rules.length);
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    let v = rule.value.evaluate(user.attributes);
    if (v === null && rule.fallback) v = rule.fallback.evaluate(user.attributes);
    values[i] = v;
  }
  const userName = values[mapping.indexOf.get('userName') ?? -1];
  const sets = mapping.sets.length === 0 ? [] : mapping.sets.map((set) => set.map(user.attributes, memberOf));
  return { externalId: user.key, userName: typeof userName === 'string' ? userName : '', values, sets };
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

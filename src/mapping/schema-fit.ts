/**
 * A mapping fitted to what a target's `/Schemas` says of each attribute (RFC 7643 §7), before
 * anything is sent: a rule for an attribute the target lacks, one that writes a single value into a
 * multi-valued attribute (or the reverse), one onto a complex attribute, or onto a readOnly one, is
 * dropped with a note (a warning at `check` and plan time, never a failed write); an immutable or
 * writeOnly attribute is set only on create; a value of another type than the attribute's is
 * converted where that is exact (the text "true" for a boolean, "42" for an integer, a date for a
 * dateTime) and otherwise not sent for that person. A schema the target does not describe is not
 * checked: /ResourceTypes decides whether its attributes are sent (fitToExtensions). Pure.
 */
import { SCHEMA_ENTERPRISE_USER, SCHEMA_USER, type JsonValue } from '../model/scim.js';
import { shortPath } from '../model/scim-paths.js';
import type { AttributeDefinition, AttributeType, SchemaDefinition, TargetSchemas } from '../model/scim-schema.js';
import { parseIso } from './expression/date-format.js';
import { NotSendable, type CompiledRule, type UserMapping } from './user-mapping.js';

export interface SchemaFit {
  mapping: UserMapping;
  /** What was dropped or changed, and what the target requires that nothing maps: one line each. */
  notes: string[];
}

/** Attributes every resource carries outside its schema, or that scim-sync sets itself. */
const SET_BY_ENGINE = new Set(['id', 'externalid', 'meta', 'schemas', 'active', 'groups', 'roles', 'entitlements']);

function schemaName(urn: string): string {
  if (urn.toLowerCase() === SCHEMA_USER.toLowerCase()) return 'the core User schema';
  if (urn.toLowerCase() === SCHEMA_ENTERPRISE_USER.toLowerCase()) return 'the enterprise extension';
  return urn;
}

const TRUE = /^(true|yes|1)$/i;
const FALSE = /^(false|no|0)$/i;
const INTEGER = /^-?\d+$/;
const DECIMAL = /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** How a value is made what an attribute of `type` takes; undefined when it needs nothing. */
function conformer(type: AttributeType, valueType: CompiledRule['value']['type'], label: string): ((v: JsonValue) => JsonValue | NotSendable) | undefined {
  const refuse = (v: JsonValue, what: string) => new NotSendable(`${label} ${JSON.stringify(v)} is not ${what} (the target's type for it)`);
  switch (type) {
    case 'string':
    case 'reference':
    case 'binary':
      return valueType === 'text' ? undefined : (v) => (typeof v === 'string' ? v : String(v));
    case 'boolean':
      if (valueType === 'bool') return undefined;
      return (v) => (typeof v === 'boolean' ? v : typeof v === 'string' && TRUE.test(v.trim()) ? true : typeof v === 'string' && FALSE.test(v.trim()) ? false : refuse(v, 'a boolean'));
    case 'integer':
      return (v) => (typeof v === 'number' && Number.isInteger(v) ? v : typeof v === 'string' && INTEGER.test(v.trim()) ? Number(v) : refuse(v, 'an integer'));
    case 'decimal':
      if (valueType === 'number') return undefined;
      return (v) => (typeof v === 'number' ? v : typeof v === 'string' && DECIMAL.test(v.trim()) ? Number(v) : refuse(v, 'a decimal number'));
    case 'dateTime':
      // xsd:dateTime: a date alone becomes its midnight UTC; anything else that does not read as ISO 8601 is refused.
      return (v) => {
        const parsed = typeof v === 'string' ? parseIso(v) : null;
        if (!parsed) return refuse(v, 'a dateTime (e.g. 2024-01-31T09:00:00Z)');
        return parsed.dateOnly ? `${(v as string).trim()}T00:00:00Z` : (v as string);
      };
    default:
      return undefined;
  }
}

/** Why a rule's path does not fit the attribute's shape (single or multi-valued, simple or complex), or null. */
function shapeProblem(rule: CompiledRule, def: AttributeDefinition): string | null {
  const path = rule.path;
  if (path.type !== null && !def.multiValued) return `${def.name} is single-valued there, not a list of typed entries`;
  if (rule.types !== undefined && !def.multiValued) return `${def.name} is single-valued there: it cannot be mapped whole with values`;
  if (path.type === null && rule.types === undefined && def.multiValued) {
    return `${def.name} is multi-valued there: map a typed entry (${def.name}[type eq "work"].value) or the whole attribute with values`;
  }
  if (path.sub === null && rule.types === undefined && def.type === 'complex') return `${def.name} is complex there: map its sub-attributes (${def.name}.<name>)`;
  if (path.sub !== null && def.type !== 'complex') return `${def.name} has no sub-attributes there`;
  return null;
}

/** Why the value cannot be of the attribute's type at all (no conversion is exact), or null. */
function typeProblem(rule: CompiledRule, leaf: AttributeDefinition): string | null {
  if (rule.types === undefined && leaf.type === 'complex') return `${rule.path.key} is complex there`;
  if (rule.value.type === 'bool' && leaf.type !== 'boolean' && leaf.type !== 'string') return `a condition cannot be a ${leaf.type}`;
  if (rule.value.type === 'number' && (leaf.type === 'dateTime' || leaf.type === 'boolean')) return `a number cannot be a ${leaf.type}`;
  return null;
}

export function fitToSchemas(mapping: UserMapping, schemas: TargetSchemas | null): SchemaFit {
  if (!schemas) return { mapping, notes: [] };
  const notes: string[] = [];
  const rules: CompiledRule[] = [];
  const mapped = new Map<string, Set<string>>();
  for (const rule of mapping.rules) {
    const urn = rule.path.schema ?? SCHEMA_USER;
    const schema = schemas.get(urn.toLowerCase());
    if (!schema) {
      rules.push(rule);
      continue;
    }
    const key = shortPath(rule.path.key);
    const def = schema.attributes.get(rule.path.attribute.toLowerCase());
    if (!def) {
      notes.push(`mapping.${key} is not sent: the target's schema has no attribute ${rule.path.attribute} in ${schemaName(urn)}`);
      continue;
    }
    const shape = shapeProblem(rule, def);
    if (shape) {
      notes.push(`mapping.${key} is not sent: ${shape} (the target's schema)`);
      continue;
    }
    const sub = rule.path.sub !== null ? def.subAttributes.get(rule.path.sub.toLowerCase()) : rule.types !== undefined ? def.subAttributes.get('value') : undefined;
    if (rule.path.sub !== null && def.subAttributes.size > 0 && !sub) {
      notes.push(`mapping.${key} is not sent: ${def.name} has no sub-attribute ${rule.path.sub} in the target's schema`);
      continue;
    }
    const leaf = sub ?? def;
    const problem = typeProblem(rule, leaf);
    if (problem) {
      notes.push(`mapping.${key} is not sent: ${problem} (the target's schema)`);
      continue;
    }
    const mutability = def.mutability === 'readOnly' || leaf.mutability === 'readOnly' ? 'readOnly' : leaf.mutability === 'readWrite' ? def.mutability : leaf.mutability;
    if (mutability === 'readOnly') {
      notes.push(`mapping.${key} is not sent: the target's schema makes ${def.name} readOnly`);
      continue;
    }
    let createOnly = rule.createOnly;
    if ((mutability === 'immutable' || mutability === 'writeOnly') && !createOnly) {
      createOnly = true;
      notes.push(
        mutability === 'immutable'
          ? `mapping.${key} is set when an account is created, never changed after: the target's schema makes it immutable`
          : `mapping.${key} is set when an account is created only: the target's schema makes it writeOnly (it is never read back to compare)`,
      );
    }
    const names = mapped.get(urn.toLowerCase()) ?? new Set<string>();
    names.add(def.name.toLowerCase());
    mapped.set(urn.toLowerCase(), names);
    const conform = rule.types === undefined ? conformer(leaf.type, rule.value.type, key) : undefined;
    const required = rule.path.type === null && (rule.path.sub === null ? def.required : def.required && leaf.required);
    rules.push({ ...rule, createOnly, ...(conform ? { conform } : {}), ...(required ? { required } : {}) });
  }
  notes.push(...unmappedRequired(schemas, mapped));
  if (rules.length === mapping.rules.length && rules.every((r, i) => r === mapping.rules[i])) return { mapping, notes };
  return { mapping: { rules, sets: mapping.sets, indexOf: new Map(rules.map((r, i) => [r.path.key, i])) }, notes };
}

/** Attributes the target requires of the core schema and of the extensions the mapping writes, that no rule maps. */
function unmappedRequired(schemas: TargetSchemas, mapped: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const notes: string[] = [];
  const check = (schema: SchemaDefinition | undefined) => {
    if (!schema) return;
    const names = mapped.get(schema.id.toLowerCase()) ?? new Set<string>();
    for (const def of schema.attributes.values()) {
      if (!def.required || def.mutability === 'readOnly' || SET_BY_ENGINE.has(def.name.toLowerCase()) || names.has(def.name.toLowerCase())) continue;
      notes.push(`the target's schema requires ${def.name} (${schemaName(schema.id)}), which no mapping rule sets: it may refuse every create`);
    }
  };
  check(schemas.get(SCHEMA_USER.toLowerCase()));
  for (const urn of mapped.keys()) if (urn !== SCHEMA_USER.toLowerCase()) check(schemas.get(urn));
  return notes;
}

/**
 * The schema of a saved plan (plan.ts), checked when `apply` reads a plan file: a file that is not
 * exactly a plan is refused at its first bad path instead of failing halfway through an apply. The
 * types in plan.ts are held equal to this schema at compile time (the checks at the end), so the
 * two cannot drift apart.
 */
import * as z from 'zod';
import {
  PHASE_OF,
  PHASES,
  PLAN_FORMAT,
  PLAN_VERSION,
  type AttributeChange,
  type HeldGroup,
  type Operation,
  type OperationKind,
  type ParkedChange,
  type Phase,
  type Plan,
  type Precondition,
  type SourceFingerprint,
  type TargetFingerprint,
  type TargetPlan,
} from './plan.js';
import type { JsonObject, JsonValue, PatchOperation } from './scim.js';

// What these schemas check was read with JSON.parse (a plan file, a phase or dead letter in Redis),
// so every value in it is JSON by construction: a value's presence is checked, not each nested part
// (checking a resource value by value was four fifths of reading a phase of 10,000 creates back);
// and an object's keys are strings by construction, so a resource is checked to be an object, not
// key by key (a record schema copied each resource to check its keys: three quarters of what the
// check of a stored part cost a worker, about 1.5 µs per create).
const jsonValue: z.ZodType<JsonValue> = z.custom<JsonValue>((value) => value !== undefined);
const jsonObject: z.ZodType<JsonObject> = z.custom<JsonObject>((value) => typeof value === 'object' && value !== null && !Array.isArray(value));

const patchOperation = z.object({ op: z.enum(['add', 'remove', 'replace']), path: z.string().optional(), value: jsonValue.optional() });
const attributeChange = z.object({ path: z.string(), from: jsonValue, to: jsonValue });
const precondition = z.object({
  source: z.string().nullable().optional(),
  account: z.string().nullable().optional(),
  members: z.record(z.string(), z.string().nullable()).optional(),
});

const matchedBy = z.enum(['link', 'externalId', 'userName', 'email', 'attribute']);

const base = {
  id: z.string(),
  externalId: z.string(),
  label: z.string(),
  pre: precondition.optional(),
};

const count = z.number().int().nonnegative();
const createUser = z.object({
  ...base,
  kind: z.literal('createUser'),
  resource: jsonObject,
  hash: z.string(),
  adoptBy: z.enum(['userName', 'email']).nullable(),
  unlistedLink: z.string().optional(),
});
const updateUser = z.object({
  ...base,
  kind: z.literal('updateUser'),
  scimId: z.string(),
  changes: z.array(attributeChange),
  patch: z.array(patchOperation).optional(),
  resource: jsonObject.optional(),
  hash: z.string(),
  adopt: z.boolean().optional(),
  matchedBy: matchedBy.optional(),
  matchedOn: z.string().optional(),
  recreate: jsonObject,
  version: z.string().optional(),
});
const deprovisionUser = z.object({
  ...base,
  kind: z.literal('deprovisionUser'),
  scimId: z.string(),
  mode: z.enum(['deactivate', 'delete']),
  reason: z.enum(['removed', 'inactive', 'out-of-scope', 'held-off']),
  patch: z.array(patchOperation).optional(),
  resource: jsonObject.optional(),
  version: z.string().optional(),
  unlisted: z.literal(true).optional(),
  matchedBy: matchedBy.optional(),
});
const linkUser = z.object({ ...base, kind: z.literal('linkUser'), scimId: z.string(), hash: z.string(), matchedBy: matchedBy.optional(), supersedes: z.string().optional() });
const createGroup = z.object({ ...base, kind: z.literal('createGroup'), resource: jsonObject });
const updateGroup = z.object({
  ...base,
  kind: z.literal('updateGroup'),
  scimId: z.string(),
  changes: z.array(attributeChange),
  patch: z.array(patchOperation),
  adopt: z.boolean().optional(),
  supersedes: z.string().optional(),
  temporary: z.literal(true).optional(),
});
const patchGroupMembers = z.object({ ...base, kind: z.literal('patchGroupMembers'), scimId: z.string().optional(), add: z.array(z.string()), remove: z.array(z.string()) });
const replaceGroup = z.object({
  ...base,
  kind: z.literal('replaceGroup'),
  scimId: z.string().optional(),
  resource: jsonObject,
  memberKeys: z.array(z.string()),
  keep: z.array(z.string()).optional(),
  remove: z.array(z.string()).optional(),
});
const deleteGroup = z.object({ ...base, kind: z.literal('deleteGroup'), scimId: z.string(), reason: z.enum(['removed', 'not-selected']), members: count.optional() });
const linkGroup = z.object({ ...base, kind: z.literal('linkGroup'), scimId: z.string() });
const setManager = z.object({ ...base, kind: z.literal('setManager'), scimId: z.string().optional(), managerKey: z.string().nullable(), managerLabel: z.string().nullable(), from: z.string().optional() });

const operation = z.discriminatedUnion('kind', [
  createUser,
  updateUser,
  deprovisionUser,
  linkUser,
  createGroup,
  updateGroup,
  patchGroupMembers,
  replaceGroup,
  deleteGroup,
  linkGroup,
  setManager,
]);


/** A phase's operations stored apart from their plan (distributed mode keeps each phase in Redis): checked as a plan's are. */
export const operationsSchema = z.array(operation);

const phase = z.object({ name: z.enum(PHASES), operations: operationsSchema });
const held = z.object({ reason: z.string(), operations: z.array(operation) });
const parked = z.object({
  key: z.string(),
  kind: z.enum(Object.keys(PHASE_OF) as [OperationKind, ...OperationKind[]]),
  externalId: z.string(),
  label: z.string(),
  attribute: z.string().optional(),
  reason: z.string(),
  since: z.string(),
});
const heldGroup = z.object({ externalId: z.string(), label: z.string(), scimId: z.string(), reason: z.string() });

const targetPlan = z.object({
  target: z.string(),
  managedUsers: count,
  managedGroups: count.optional(),
  managedMemberships: count.optional(),
  actualUsers: count,
  phases: z.array(phase),
  warnings: z.array(z.string()),
  error: z.string().optional(),
  firstSync: z.object({ since: z.string(), accounts: z.number().int().nonnegative() }).optional(),
  held: held.optional(),
  parked: z.array(parked).optional(),
  heldGroups: z.array(heldGroup).optional(),
  memberChecks: z
    .object({ asked: count, remembered: count, verifiedGroups: count, rememberedGroups: count, overdueGroups: count })
    .optional(),
});

const targetFingerprint = z.object({ url: z.string(), authType: z.string(), identity: z.string().nullable(), credential: z.string().optional() });
const sourceFingerprint = z.object({ type: z.string(), location: z.string(), readAt: z.string(), contentHash: z.string() });

const binding = z.object({ source: sourceFingerprint, targets: z.record(z.string(), targetFingerprint) });
const sourceSummary = z.object({
  description: z.string(),
  users: count,
  activeUsers: count,
  recordsRead: count,
  invalidRecords: count,
  issues: z.array(z.string()),
  warnings: z.array(z.string()).optional(),
  parts: z.array(z.object({ name: z.string(), recordsRead: count, invalidRecords: count })).optional(),
});

export const planSchema = z.object({
  format: z.literal(PLAN_FORMAT),
  version: z.literal(PLAN_VERSION),
  id: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  binding,
  config: z.string(),
  source: sourceSummary,
  targets: z.array(targetPlan),
  unconfiguredTargets: z.array(z.object({ target: z.string(), users: count, groups: count })).optional(),
});

/** `targets[0].phases[1].operations[2].kind`: where a value is, as a person reads it in the file. */
export function pathText(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

/**
 * The plan, or the path of its first part that is missing or of the wrong shape (an unknown
 * operation kind is reported at the operation's `kind`).
 */
export function parsePlan(data: unknown): { plan: Plan } | { problem: string } {
  const result = planSchema.safeParse(data);
  if (result.success) return { plan: result.data };
  return { problem: pathText(result.error.issues[0]!.path) };
}

// Compile-time: each type of plan.ts is exactly what its schema reads, field for field.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? (Equal<keyof A, keyof B> extends true ? true : false) : false) : false;
type Expect<T extends true> = T;
type OperationOf<K extends Operation['kind']> = Extract<Operation, { kind: K }>;
type SchemaOf<S extends z.ZodType> = z.output<S>;

export type PlanSchemaMatchesTypes = [
  Expect<Same<SchemaOf<typeof patchOperation>, PatchOperation>>,
  Expect<Same<SchemaOf<typeof attributeChange>, AttributeChange>>,
  Expect<Same<SchemaOf<typeof precondition>, Precondition>>,
  Expect<Same<SchemaOf<typeof createUser>, OperationOf<'createUser'>>>,
  Expect<Same<SchemaOf<typeof updateUser>, OperationOf<'updateUser'>>>,
  Expect<Same<SchemaOf<typeof deprovisionUser>, OperationOf<'deprovisionUser'>>>,
  Expect<Same<SchemaOf<typeof linkUser>, OperationOf<'linkUser'>>>,
  Expect<Same<SchemaOf<typeof createGroup>, OperationOf<'createGroup'>>>,
  Expect<Same<SchemaOf<typeof updateGroup>, OperationOf<'updateGroup'>>>,
  Expect<Same<SchemaOf<typeof patchGroupMembers>, OperationOf<'patchGroupMembers'>>>,
  Expect<Same<SchemaOf<typeof replaceGroup>, OperationOf<'replaceGroup'>>>,
  Expect<Same<SchemaOf<typeof deleteGroup>, OperationOf<'deleteGroup'>>>,
  Expect<Same<SchemaOf<typeof linkGroup>, OperationOf<'linkGroup'>>>,
  Expect<Same<SchemaOf<typeof setManager>, OperationOf<'setManager'>>>,
  Expect<Same<SchemaOf<typeof operation>['kind'], Operation['kind']>>,
  Expect<Same<SchemaOf<typeof phase>, Phase>>,
  Expect<Same<SchemaOf<typeof held>, NonNullable<TargetPlan['held']>>>,
  Expect<Same<SchemaOf<typeof parked>, ParkedChange>>,
  Expect<Same<SchemaOf<typeof heldGroup>, HeldGroup>>,
  Expect<Same<SchemaOf<typeof targetPlan>, TargetPlan>>,
  Expect<Same<SchemaOf<typeof targetFingerprint>, TargetFingerprint>>,
  Expect<Same<SchemaOf<typeof sourceFingerprint>, SourceFingerprint>>,
  Expect<Same<SchemaOf<typeof binding>, Plan['binding']>>,
  Expect<Same<SchemaOf<typeof sourceSummary>, Plan['source']>>,
  Expect<Same<SchemaOf<typeof planSchema>, Plan>>,
];

/**
 * Parked changes: what a target accepts but never keeps, or refuses with a final error run after
 * run, is left out of plans while it stays the same, instead of being sent (and failing) forever.
 * Pure: the parked changes are read from the state by the engine and handed in.
 *
 * A change is named by a key that holds a digest of its value, never the value: a person's new
 * source value is a new key, so it is planned again without anyone clearing anything.
 * - one attribute of a user update (`attributeParkKey`): parked when no PATCH shape keeps it;
 * - a whole operation (`operationParkKey`), for the kinds in PARKABLE: updates of what exists.
 *   Creates are never parked (memberships and manager references wait on them), nor are
 *   deprovisions (access that should go keeps being taken away).
 */
import { createHash } from 'node:crypto';
import type { AttributeChange, Operation, OperationKind, ParkedChange, Phase } from '../model/plan.js';

export const PARKABLE: ReadonlySet<OperationKind> = new Set(['updateUser', 'updateGroup', 'patchGroupMembers', 'replaceGroup', 'setManager']);

/** Parked changes of one target by key (only those parked: counting entries are not handed in). */
export type ParkedChanges = ReadonlyMap<string, ParkedChange>;

function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value ?? null)).digest('base64url').slice(0, 22);
}

export function attributeParkKey(externalId: string, change: Pick<AttributeChange, 'path' | 'to'>): string {
  return `attribute\n${externalId}\n${change.path}\n${digest(change.to)}`;
}

/** What an operation is to change, without the ids and versions that differ from plan to plan. */
function content(op: Operation): unknown {
  switch (op.kind) {
    case 'updateUser':
    case 'updateGroup':
      return op.changes.map((c) => [c.path, c.to]);
    case 'patchGroupMembers':
      return [op.add, op.remove];
    case 'replaceGroup':
      return op.keep ? [op.resource, op.memberKeys, op.keep] : [op.resource, op.memberKeys];
    case 'setManager':
      return op.managerKey;
    default:
      return undefined;
  }
}

/** The key of a whole operation; undefined for kinds never parked. */
export function operationParkKey(op: Operation): string | undefined {
  if (!PARKABLE.has(op.kind)) return undefined;
  return `${op.kind}\n${op.externalId}\n${digest(content(op))}`;
}

/** Operations whose key is parked are left out of the phases and listed instead. */
export function withoutParked(phases: readonly Phase[], parked: ParkedChanges): { phases: Phase[]; parked: ParkedChange[] } {
  if (parked.size === 0) return { phases: [...phases], parked: [] };
  const left: ParkedChange[] = [];
  const out = phases.map((phase) => {
    const operations = phase.operations.filter((op) => {
      const key = operationParkKey(op);
      const entry = key === undefined ? undefined : parked.get(key);
      if (entry) left.push({ ...entry, label: op.label });
      return !entry;
    });
    return operations.length === phase.operations.length ? phase : { ...phase, operations };
  });
  return { phases: out, parked: left };
}

/**
 * Every key a target's plan refers to: its operations', its update changes', and those it left
 * parked. A stored entry outside it concerns a change no longer planned (made since, or its source
 * value changed) and can be forgotten.
 */
export function referencedKeys(phases: readonly Phase[], parked: readonly ParkedChange[] = []): Set<string> {
  const keys = new Set(parked.map((p) => p.key));
  for (const phase of phases) {
    for (const op of phase.operations) {
      const key = operationParkKey(op);
      if (key !== undefined) keys.add(key);
      if (op.kind === 'updateUser') for (const change of op.changes) keys.add(attributeParkKey(op.externalId, change));
    }
  }
  return keys;
}

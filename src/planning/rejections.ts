/**
 * Deprovisions an operator rejected (`scim-sync reject`): kept out of later plans while the
 * person's source record is what it was when the set was staged. Pure; the rejections are read
 * from the state directory by the engine, like held keys are read by the source.
 */
import type { CanonicalUser } from '../model/canonical.js';
import type { DeprovisionUserOp, Operation } from '../model/plan.js';
import { personDigest } from './preconditions.js';

export interface Rejection {
  /** personDigest of the source record when the deprovision was staged; null: gone from the source. */
  digest: string | null;
  /** The staged set it came from, for the plan's note. */
  stagedId: string;
}

/** One target's rejections, by source key. */
export type Rejections = ReadonlyMap<string, Rejection>;

/**
 * The operations without the deprovisions still rejected. A rejection whose digest differs from
 * the source record now no longer applies: the source changed for that person since.
 */
export function dropRejected(
  ops: readonly Operation[],
  users: ReadonlyMap<string, CanonicalUser>,
  rejections: Rejections | undefined,
): { kept: Operation[]; dropped: DeprovisionUserOp[]; note?: string } {
  if (!rejections || rejections.size === 0) return { kept: [...ops], dropped: [] };
  const kept: Operation[] = [];
  const dropped: DeprovisionUserOp[] = [];
  const sets = new Set<string>();
  for (const op of ops) {
    const rejection = op.kind === 'deprovisionUser' ? rejections.get(op.externalId) : undefined;
    if (op.kind === 'deprovisionUser' && rejection && rejection.digest === personDigest(users.get(op.externalId))) {
      dropped.push(op);
      sets.add(rejection.stagedId);
    } else kept.push(op);
  }
  if (dropped.length === 0) return { kept, dropped };
  const n = dropped.length;
  const note =
    `${n} deprovision${n === 1 ? '' : 's'} not planned: rejected (scim-sync reject ${[...sets].join(', ')}) ` +
    // Each with its key, as other warnings name a person: a change-driven batch keeps the warnings naming its people.
    `and the source record is unchanged since: ${dropped.map((op) => `${op.label} (${op.externalId})`).join(', ')}`;
  return { kept, dropped, note };
}

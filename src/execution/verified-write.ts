/**
 * After an update the server accepted: did it keep it? The changes are compared, as the planner
 * compares them (planning/change-holds.ts), with the resource the server answered, or read back
 * with one GET (when the answer had no body, or when it says the change is missing: an answer may
 * be a partial representation, the GET decides). A change not kept is sent again alone in each
 * other PATCH shape the server might read (patch-shape.ts), read back after each; the shape that
 * keeps it is remembered for the target and attribute (write-checks.ts), and a change no shape
 * keeps is parked. Which writes are checked at all is WriteChecks.checkBy's decision; a
 * deactivation is always checked (confirmDeactivated).
 */
import { BadRequestError, NotStoredError } from '../errors.js';
import type { AttributeChange, OperationKind } from '../model/plan.js';
import type { PatchOperation, ServerResource } from '../model/scim.js';
import { shortPath } from '../model/scim-paths.js';
import { changeHolds } from '../planning/change-holds.js';
import { isActive } from '../planning/user-changes.js';
import { attributeKey, attributeName, distinctShapes } from '../targets/patch-shape.js';
import type { OperationContext } from './operation-context.js';

export interface CheckedWrite {
  /** The user's SCIM id. */
  id: string;
  label: string;
  externalId: string;
  kind: OperationKind;
  /** The changes the write made, as planned: what "kept" is judged by. */
  changes: readonly AttributeChange[];
  /** The RFC-shaped PATCH operations that made them; absent for a PUT (no other shape to try). */
  operations?: readonly PatchOperation[];
  /** How the server answered the write: the resource, or null without one. */
  answer: ServerResource | null;
  /** The key a change not kept is parked under (planning/parked.ts). */
  parkKey: (change: AttributeChange) => string;
}

export interface CheckOutcome {
  /** Changes the target keeps in no shape: parked. */
  notKept: AttributeChange[];
  /** For the admin (report and provisioning log): shapes learned, changes parked. */
  notices: string[];
}

const NOTHING: CheckOutcome = Object.freeze({ notKept: [], notices: [] }) as unknown as CheckOutcome;

function byAttribute(changes: readonly AttributeChange[]): Map<string, AttributeChange[]> {
  const out = new Map<string, AttributeChange[]>();
  for (const change of changes) {
    const key = attributeKey(change.path);
    out.set(key, [...(out.get(key) ?? []), change]);
  }
  return out;
}

/**
 * A deactivation the server accepted: did it hold? Its answer decides when it shows the account
 * inactive; otherwise (no body, a partial one, or one still active) one read does. Every
 * deactivation, whatever writeChecks.verify says: a server that answers 200 and keeps the account
 * active would leave a leaver with access while every run reported them deprovisioned. Not held is
 * a NotStoredError: the operation fails, its link stays, and the next run tries again.
 */
export async function confirmDeactivated(ctx: OperationContext, id: string, label: string, answer: ServerResource | null): Promise<void> {
  if (answer !== null && !isActive(answer)) return;
  if (!isActive(await ctx.client.get('Users', id))) return;
  throw new NotStoredError(
    `the target answered the deactivation with success, but the account (id ${id}) is still active when read back: not deprovisioned; every run tries again`,
    { target: ctx.target, resource: label, request: `GET /Users/${id}` },
  );
}

export async function checkWrite(ctx: OperationContext, write: CheckedWrite): Promise<CheckOutcome> {
  const checks = ctx.writes;
  if (!checks || write.changes.length === 0) return NOTHING;
  const answered = write.answer !== null;
  const toCheck = [...byAttribute(write.changes)].filter(([attribute]) => checks.checkBy(attribute, answered) !== 'none');
  if (toCheck.length === 0) return NOTHING;

  const holds = (resource: ServerResource | null, changes: readonly AttributeChange[]) => resource !== null && changes.every((c) => changeHolds(resource, c));
  let resource = write.answer;
  if (!toCheck.every(([, changes]) => holds(resource, changes))) resource = await ctx.client.get('Users', write.id);

  const outcome: CheckOutcome = { notKept: [], notices: [] };
  const note = (notice: string | undefined) => {
    if (notice) outcome.notices.push(notice);
  };
  for (const [attribute, changes] of toCheck) {
    const shape = write.operations ? checks.shapeOf(attribute) : null;
    if (holds(resource, changes)) {
      note(await checks.kept(attribute, shape, write.label));
      continue;
    }
    const tried: string[] = [shape ?? 'PUT'];
    const operations = write.operations?.filter((op) => op.path !== undefined && attributeKey(op.path) === attribute) ?? [];
    let found = false;
    for (const next of shape && operations.length > 0 ? distinctShapes(operations, shape).slice(1) : []) {
      tried.push(next);
      let answer: ServerResource | null;
      try {
        answer = await ctx.client.patch('Users', write.id, [...operations], write.label, { shapeOf: () => next });
      } catch (error) {
        // A server that refuses this shape outright does not keep it either.
        if (error instanceof BadRequestError) continue;
        throw error;
      }
      if (holds(answer, changes) || holds(await ctx.client.get('Users', write.id), changes)) {
        note(await checks.kept(attribute, next, write.label));
        found = true;
        break;
      }
    }
    if (found) continue;
    const how = shape ? `patchShape ${tried.join(', ')}` : 'PUT';
    const reason = `the target accepts ${attributeName(attribute)} but does not keep it (read back after ${how})`;
    for (const change of changes) {
      outcome.notKept.push(change);
      const shown = shortPath(change.path);
      note(await checks.notKept({ key: write.parkKey(change), kind: write.kind, externalId: write.externalId, label: write.label, attribute: shown, reason }));
    }
  }
  return outcome;
}

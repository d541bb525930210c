/**
 * A write refused with 412 (If-Match on a stale version): the account changed between plan and
 * apply. The change is read again and the planned change re-applied to the account as it is now,
 * once; the source still wins for the attributes the plan changes, and everything else someone
 * changed meanwhile is kept. A second 412 fails the operation (the next run plans it afresh).
 */
import { PreconditionFailedError } from '../errors.js';
import { parsePath, writePath } from '../model/scim-paths.js';
import type { AttributeChange, DeprovisionUserOp, UpdateUserOp } from '../model/plan.js';
import { versionOf, type JsonObject, type ScimResource, type ServerResource } from '../model/scim.js';
import { isActive } from '../planning/user-changes.js';
import { changeHolds } from '../planning/change-holds.js';
import type { ScimTarget } from '../targets/scim-target.js';
import type { ShapeOf } from '../targets/patch-shape.js';

/** The fresh account with the planned changes written over it: the PUT body of a re-applied update. */
export function withChanges(fresh: ScimResource, changes: readonly AttributeChange[]): JsonObject {
  const body = structuredClone(fresh) as JsonObject;
  delete body['meta'];
  for (const change of changes) {
    const path = parsePath(change.path);
    if (change.to !== null || path.type !== null) {
      writePath(body, path, change.to);
      continue;
    }
    const base = (path.schema ? body[path.schema] : body) as JsonObject | undefined;
    if (!base) continue;
    const parent = path.sub !== null ? base[path.attribute] : base;
    if (parent && typeof parent === 'object' && !Array.isArray(parent)) delete parent[path.sub ?? path.attribute];
  }
  return body;
}

/** What a write ended with: the server's answer (null without one), and a note when it took a second try. */
export interface VersionedWrite {
  /** The resource as the server answered the write (or as re-read, when nothing was left to write). */
  answer: ServerResource | null;
  note?: string;
}

/** Runs `write` with the planned version; on 412 reads the account and runs `retry` on it, once. */
async function onceMore(
  client: ScimTarget,
  id: string,
  write: () => Promise<ServerResource | null>,
  retry: (fresh: ServerResource) => Promise<VersionedWrite>,
): Promise<VersionedWrite> {
  try {
    return { answer: await write() };
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
  }
  const fresh = await client.get('Users', id);
  try {
    return await retry(fresh);
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
    throw new PreconditionFailedError('the account changed again while scim-sync re-applied its change; the next run plans it afresh', error.context);
  }
}

/** An update, re-applied to a fresh read on 412 (with a note saying so). `shapeOf`: the PATCH shape per attribute. */
export function updateWithVersion(client: ScimTarget, id: string, op: UpdateUserOp, shapeOf?: ShapeOf): Promise<VersionedWrite> {
  const send = (version: string | undefined, fresh?: ScimResource) =>
    op.patch
      ? client.patch('Users', id, op.patch, op.label, { ...(version ? { version } : {}), ...(shapeOf ? { shapeOf } : {}) })
      : client.replace('Users', id, fresh ? withChanges(fresh, op.changes) : (op.resource ?? {}), op.label, version ? { version } : {});
  return onceMore(
    client,
    id,
    () => send(op.version),
    async (fresh) => {
      if (op.changes.every((c) => changeHolds(fresh, c))) return { answer: fresh, note: 'changed meanwhile, already as planned' };
      return { answer: await send(versionOf(fresh), fresh), note: 're-applied to a newer version of the account' };
    },
  );
}

/** A deactivation or deletion, re-applied to a fresh read on 412. */
export function deprovisionWithVersion(client: ScimTarget, id: string, op: DeprovisionUserOp): Promise<VersionedWrite> {
  const send = async (version: string | undefined, fresh?: ScimResource): Promise<ServerResource | null> => {
    const options = version ? { version } : {};
    if (op.mode === 'delete') {
      await client.delete('Users', id, op.label, version);
      return null;
    }
    if (op.patch) return client.patch('Users', id, op.patch, op.label, options);
    return client.replace('Users', id, fresh ? withChanges(fresh, [{ path: 'active', from: true, to: false }]) : (op.resource ?? {}), op.label, options);
  };
  return onceMore(
    client,
    id,
    () => send(op.version),
    async (fresh) => {
      if (op.mode === 'deactivate' && !isActive(fresh)) return { answer: fresh, note: 'changed meanwhile, already inactive' };
      return { answer: await send(versionOf(fresh), fresh), note: 're-applied to a newer version of the account' };
    },
  );
}

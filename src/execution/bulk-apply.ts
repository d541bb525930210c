/**
 * User writes in /Bulk requests (quirk `bulk: auto`, on servers whose ServiceProviderConfig says
 * Bulk is supported), in batches sized to the server's maxOperations and maxPayloadSize. Each
 * operation's result is handled on its own: a success is recorded as its single request would be
 * (links); a failure is turned into the same typed error a single answer would be (error-mapping)
 * and the operation goes back to the single-request path, which knows the next step for each error
 * (adopt on 409, re-create on 404 once a read confirms it, re-read on 412, retry on 5xx and 429).
 * Only a 400 is final here: sending the same body again would be refused again. Updates go in the
 * PATCH shapes learned for their attributes, but are not read back (a bulk answer carries no
 * resource); deactivations are (verified-write.ts confirmDeactivated), and a create whose result
 * names another resource is looked up as after a lost answer, not linked. Results are told apart by
 * bulkId (matchResults): a create no result names goes to the single path as one that may have been
 * made, which looks it up before posting again.
 */
import { BadRequestError, NotStoredError, ProtocolError, ScimSyncError, TransientError } from '../errors.js';
import type { JsonObject, JsonValue, ServerResource } from '../model/scim.js';
import { createdMismatch } from '../targets/created-answer.js';
import { confirmDeactivated } from './verified-write.js';
import type { CreateUserOp, DeprovisionUserOp, Operation, UpdateUserOp } from '../model/plan.js';
import type { BulkOperation, BulkResult } from '../targets/scim-target.js';
import { errorForStatus } from '../targets/http/error-mapping.js';
import { addressableId, resourcePath } from '../targets/resource-path.js';
import type { OperationResult } from './run-operation.js';
import type { OperationContext } from './operation-context.js';
import { resolveId } from './dependencies.js';

export type BulkableOp = CreateUserOp | UpdateUserOp | DeprovisionUserOp;

export function isBulkable(op: Operation): op is BulkableOp {
  return op.kind === 'createUser' || op.kind === 'updateUser' || op.kind === 'deprovisionUser';
}

/** What became of one operation sent in a /Bulk request. */
export type BulkOutcome =
  | { op: BulkableOp; done: OperationResult }
  | { op: BulkableOp; failed: ScimSyncError }
  /** Not settled by the bulk request: run it on its own (with the error the server gave, if any). */
  | { op: BulkableOp; single: ScimSyncError | undefined };

/** Consecutive batches within both limits; `size` is an operation's share of the payload, in bytes. */
export function bulkBatches<T>(ops: readonly T[], limits: { maxOperations: number; maxPayloadSize: number }, size: (op: T) => number): T[][] {
  const out: T[][] = [];
  let batch: T[] = [];
  let bytes = 0;
  // The envelope ({"schemas": [...], "Operations": []}) and a comma per operation.
  const ENVELOPE = 100;
  for (const op of ops) {
    const s = size(op) + 1;
    if (batch.length > 0 && (batch.length >= limits.maxOperations || ENVELOPE + bytes + s > limits.maxPayloadSize)) {
      out.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(op);
    bytes += s;
  }
  if (batch.length > 0) out.push(batch);
  return out;
}

/** The bulk operation that does what `op` does in a single request. */
export async function toBulkOperation(op: BulkableOp, ctx: OperationContext): Promise<BulkOperation> {
  if (op.kind === 'createUser') return { method: 'POST', bulkId: op.id, path: '/Users', data: op.resource };
  // The account the plan checked, as a single request writes to (resolveId), never a stale link's.
  const id = await resolveId(op, ctx);
  const method = op.kind === 'deprovisionUser' && op.mode === 'delete' ? 'DELETE' : op.patch ? 'PATCH' : 'PUT';
  const path = resourcePath('Users', id, { target: ctx.target, resource: op.label, request: `${method} /Users/${id} (in /Bulk)` });
  const version = op.version ? { version: op.version } : {};
  if (method === 'DELETE') return { method, bulkId: op.id, path, ...version };
  if (op.patch) return { method: 'PATCH', bulkId: op.id, path, data: ctx.client.patchBody(op.patch, ctx.writes?.shapeOf), ...version };
  return { method: 'PUT', bulkId: op.id, path, data: { ...(op.resource ?? {}), id }, ...version };
}

/**
 * The id a created resource got: the segment after `Users/` that ends its location. Undefined when
 * there is none that a URL can carry: a location of the collection itself (which would make the
 * id "Users"), an empty, "." or ".." segment, or broken percent-encoding.
 */
function idFromLocation(location: string | undefined): string | undefined {
  const segments = location?.replace(/[?#].*$/, '').replace(/\/+$/, '').split('/') ?? [];
  if (segments.length < 2 || segments[segments.length - 2] !== 'Users') return undefined;
  try {
    const id = decodeURIComponent(segments[segments.length - 1]!);
    return addressableId(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

async function settle(op: BulkableOp, sent: BulkOperation, result: BulkResult | undefined, ctx: OperationContext): Promise<BulkOutcome> {
  if (!result) return { op, single: undefined };
  const request = `${sent.method} ${sent.path} (in /Bulk)`;
  if (!(result.status >= 200 && result.status < 300)) {
    const error = errorForStatus(result.status, {}, result.response === undefined ? '' : JSON.stringify(result.response), { target: ctx.target, resource: op.label, request });
    return error instanceof BadRequestError ? { op, failed: error } : { op, single: error };
  }
  const scimId = op.kind === 'createUser' ? idFromLocation(result.location) : decodeURIComponent(sent.path.slice('/Users/'.length));
  if (!scimId) return { op, single: new ProtocolError('the bulk answer to a create has no location naming the new resource', { target: ctx.target, resource: op.label, request }) };
  const answer = isObject(result.response) ? result.response : undefined;
  const mismatch = op.kind === 'createUser' && answer ? createdMismatch(op.resource, answer) : undefined;
  if (mismatch) {
    // As a single create's answer naming another resource (scim-client.ts create()): looked up, not linked.
    return { op, single: new TransientError(`the bulk answer to the create names another resource (${mismatch}): not linked to it; it may exist`, { target: ctx.target, resource: op.label, request }, true) };
  }
  if (op.kind === 'deprovisionUser') {
    if (op.mode === 'deactivate') {
      try {
        await confirmDeactivated(ctx, scimId, op.label, answer && typeof answer['id'] === 'string' ? (answer as ServerResource) : null);
      } catch (error) {
        if (error instanceof NotStoredError) return { op, failed: error };
        // Not known either way (the read failed): the single request sends it again and checks it.
        if (error instanceof ScimSyncError) return { op, single: error };
        throw error;
      }
    }
    if (op.mode === 'delete') await ctx.links.delete(ctx.target, 'user', op.externalId);
  } else {
    await ctx.links.set(ctx.target, 'user', op.externalId, { id: scimId, hash: op.hash });
  }
  return { op, done: { scimId, note: op.kind === 'updateUser' && op.adopt ? 'adopted (via /Bulk)' : 'via /Bulk' } };
}

const isObject = (v: JsonValue | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Sends one batch; a failure of the whole request sends every operation back to the single path. */
export async function sendBulk(batch: readonly BulkableOp[], ctx: OperationContext): Promise<BulkOutcome[]> {
  // An operation on an account whose id no URL can carry fails alone, and is not sent.
  const built = await Promise.all(batch.map((op) => toBulkOperation(op, ctx).catch((error: unknown) => (error instanceof ProtocolError ? error : Promise.reject(error)))));
  const refused: BulkOutcome[] = [];
  const ops: BulkableOp[] = [];
  const sent: BulkOperation[] = [];
  batch.forEach((op, i) => {
    const b = built[i]!;
    if (b instanceof ProtocolError) refused.push({ op, failed: b });
    else {
      ops.push(op);
      sent.push(b);
    }
  });
  if (sent.length === 0) return refused;
  const results = await ctx.client.bulk(sent);
  const matched = matchResults(sent, results);
  // A server that leaves bulkId out may have made a create that no result can be told to be.
  const unnamed = results.some((r) => r.bulkId === undefined);
  return [
    ...refused,
    ...(await Promise.all(
      ops.map((op, i) => {
        const result = matched[i];
        if (result || !unnamed || sent[i]!.method !== 'POST') return settle(op, sent[i]!, result, ctx);
        const context = { target: ctx.target, resource: op.label, request: 'POST /Users (in /Bulk)' };
        // The single path looks the account up by its key before posting again.
        return { op, single: new TransientError('no result of the bulk answer names this create (no bulkId): it may have been made', context, true) };
      }),
    )),
  ];
}

/** A location's path from its last `/Users/` on (`/Users/<id>`), to compare with an operation's path. */
function locatedPath(location: string | undefined): string | undefined {
  const path = location?.replace(/[?#].*$/, '').replace(/\/+$/, '');
  const at = path?.lastIndexOf('/Users/') ?? -1;
  return at < 0 ? undefined : path!.slice(at);
}

/**
 * Each sent operation's result, or undefined. By bulkId, which RFC 7644 §3.7.3 requires on the
 * results of POSTs: a create is matched no other way, since creates told apart by their order alone
 * link each new person to another's account when a server answers in another order. An update or
 * deprovision whose result has no bulkId is matched by the location naming its resource, else by
 * its place when there is one result per operation and the result there names no resource and no
 * other method. An operation left without a result goes on in a single request.
 */
export function matchResults(sent: readonly BulkOperation[], results: readonly BulkResult[]): (BulkResult | undefined)[] {
  const byBulkId = new Map<string, BulkResult>();
  const byLocation = new Map<string, BulkResult | null>();
  for (const r of results) {
    if (r.bulkId !== undefined) {
      if (!byBulkId.has(r.bulkId)) byBulkId.set(r.bulkId, r);
      continue;
    }
    const path = locatedPath(r.location);
    // Two results locating the same resource tell nothing apart.
    if (path !== undefined) byLocation.set(path, byLocation.has(path) ? null : r);
  }
  const used = new Set<BulkResult>();
  const take = (r: BulkResult | null | undefined): BulkResult | undefined => {
    if (!r || used.has(r)) return undefined;
    used.add(r);
    return r;
  };
  // A result with a location that did not match above names another resource (or several).
  const placed = (s: BulkOperation, r: BulkResult | undefined): BulkResult | undefined =>
    r && r.bulkId === undefined && r.location === undefined && (r.method === undefined || r.method.toUpperCase() === s.method) ? r : undefined;
  const sameCount = results.length === sent.length;
  return sent.map((s, i) => {
    if (s.method === 'POST') return take(byBulkId.get(s.bulkId));
    return take(byBulkId.get(s.bulkId)) ?? take(byLocation.get(s.path)) ?? (sameCount ? take(placed(s, results[i])) : undefined);
  });
}

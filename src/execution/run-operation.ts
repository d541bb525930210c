/**
 * One attempt at one plan operation against one target. Shared by every executor (inline, and the
 * BullMQ workers): it turns an operation into SCIM calls and link-store updates, and handles the
 * outcomes that have a known next step (409 on create; 404 on update, deprovision or group delete,
 * once a read by id confirms it: confirm-gone.ts). Errors it cannot resolve are thrown, typed, for
 * the executor's retry policy.
 */
import { BadRequestError, ConflictError, NotFoundError, NotStoredError, ProtocolError, type TransientError } from '../errors.js';
import type {
  CreateGroupOp,
  CreateUserOp,
  DeleteGroupOp,
  DeprovisionUserOp,
  Operation,
  PatchGroupMembersOp,
  ReplaceGroupOp,
  SetManagerOp,
  UpdateUserOp,
} from '../model/plan.js';
import { SCHEMA_ENTERPRISE_USER, type JsonObject, type PatchOperation, type ServerResource } from '../model/scim.js';
import { groupPutBody, memberValues } from '../planning/group-diff.js';
import { isActive } from '../planning/user-changes.js';
import { workEmail } from '../planning/account-index.js';
import { attributeParkKey, operationParkKey } from '../planning/parked.js';
import { deprovisionWithVersion, updateWithVersion, type VersionedWrite } from './stale-write.js';
import { checkWrite, confirmDeactivated, type CheckOutcome } from './verified-write.js';
import { confirmGone, readUnlessGone } from './confirm-gone.js';
import { leftOut, linkedId, memberIds, nothingLeft, resolveId } from './dependencies.js';
import type { OperationContext } from './operation-context.js';
import type { MemberFact } from './member-writes.js';
import type { ResourceKind } from '../state/link-store.js';

export interface OperationResult {
  /** SCIM id the operation ended on. */
  scimId?: string;
  /** What happened beyond the obvious: adopted, recreated, already gone... */
  note?: string;
  /** Nothing was left to do (already gone, already in place): reported as unchanged, with the note. */
  unchanged?: true;
  /** A create that found its account already there (its own lost create, or adoption): not "created". */
  adopted?: true;
  /** An update whose account was gone, made again (TargetReport.recreated): not "updated". */
  recreated?: true;
  /** Set when the operation did only part of what it planned: what was left out, and why. */
  partial?: string;
  /** For the admin, in the report and the provisioning log: PATCH shapes learned, changes parked. */
  notices?: string[];
  /** What the write did to group membership, for the member memory (member-writes.ts). */
  members?: MemberFact;
}

export interface AttemptState {
  /** The previous attempt failed in a way that may have committed it (timeout, reset, 5xx). */
  previousAmbiguous?: TransientError;
  /** An earlier attempt took this operation's re-create from the budget: its retries do not take another. */
  recreateTaken?: true;
}

export async function runOperation(op: Operation, ctx: OperationContext, state: AttemptState = {}): Promise<OperationResult> {
  switch (op.kind) {
    case 'createUser':
      return createUser(op, ctx, state);
    case 'updateUser':
      return updateUser(op, ctx, state);
    case 'deprovisionUser':
      return deprovisionUser(op, ctx);
    case 'linkUser':
      await ctx.links.set(ctx.target, 'user', op.externalId, { id: op.scimId, hash: op.hash });
      await dropSuperseded(ctx, 'user', op);
      return { scimId: op.scimId };
    case 'createGroup':
      return createGroup(op, ctx, state);
    case 'updateGroup':
      await ctx.client.patch('Groups', op.scimId, op.patch, op.label);
      await ctx.links.set(ctx.target, 'group', op.externalId, { id: op.scimId, hash: '' });
      await dropSuperseded(ctx, 'group', op);
      return { scimId: op.scimId, ...(op.adopt ? { note: 'adopted' } : {}) };
    case 'linkGroup':
      await ctx.links.set(ctx.target, 'group', op.externalId, { id: op.scimId, hash: '' });
      return { scimId: op.scimId };
    case 'patchGroupMembers':
      return patchGroupMembers(op, ctx);
    case 'replaceGroup':
      return replaceGroup(op, ctx);
    case 'deleteGroup':
      return deleteGroup(op, ctx);
    case 'setManager':
      return setManager(op, ctx);
  }
}

/** The link of the key an operation took its account or group over from, once its own link is written. */
async function dropSuperseded(ctx: OperationContext, kind: ResourceKind, op: { scimId: string; supersedes?: string }): Promise<void> {
  // Only while the old key's link still names it: nothing else of that key is touched.
  if (op.supersedes !== undefined && (await ctx.links.get(ctx.target, kind, op.supersedes))?.id === op.scimId) await ctx.links.delete(ctx.target, kind, op.supersedes);
}

async function groupId(op: { externalId: string; scimId?: string; label: string }, ctx: OperationContext): Promise<string> {
  const id = (await linkedId(ctx, 'group', op.externalId)) ?? op.scimId;
  if (!id) throw new NotFoundError(`group "${op.label}" has no id in the target (its creation failed or was skipped)`, { target: ctx.target, resource: op.label });
  return id;
}

/** The group an earlier attempt of this create may have made: ours only if it carries our key. */
async function findOwnGroup(op: CreateGroupOp, ctx: OperationContext): Promise<ServerResource | undefined> {
  return (await ctx.client.findBy('Groups', 'displayName', op.label)).find((g) => g['externalId'] === op.externalId);
}

async function createGroup(op: CreateGroupOp, ctx: OperationContext, state: AttemptState): Promise<OperationResult> {
  const take = async (found: ServerResource, note: string, adopted: boolean): Promise<OperationResult> => {
    await ctx.links.set(ctx.target, 'group', op.externalId, { id: found.id, hash: '' });
    return { scimId: found.id, note, ...(adopted ? { adopted: true as const } : {}), members: { kind: 'unknown', group: found.id } };
  };
  if (state.previousAmbiguous) {
    const found = await findOwnGroup(op, ctx);
    if (found) return take(found, 'created (confirmed after a lost answer)', false);
  }
  try {
    const created = await ctx.client.create('Groups', op.resource, op.label);
    await ctx.links.set(ctx.target, 'group', op.externalId, { id: created.id, hash: '' });
    // Created as planned, empty: members follow in the memberships phase.
    return { scimId: created.id, members: { kind: 'set', group: created.id, members: memberValues(op.resource) } };
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
    // A create whose answer was lost, or a concurrent run.
    const found = await findOwnGroup(op, ctx);
    if (!found) throw error;
    return take(found, 'adopted its own earlier create', true);
  }
}

async function patchGroupMembers(op: PatchGroupMembersOp, ctx: OperationContext): Promise<OperationResult> {
  const id = await groupId(op, ctx);
  const members = await memberIds(op.add, ctx);
  if (members.ids.length === 0 && op.remove.length === 0) throw nothingLeft(members, ctx, op.label);
  await ctx.client.patchMembers(id, { add: members.ids, remove: op.remove }, op.label);
  const partial = leftOut(members);
  // Exactly what was sent: members left out (their accounts were not made) were not.
  return { scimId: id, ...(partial ? { partial } : {}), members: { kind: 'members', group: id, add: members.ids, remove: op.remove } };
}

async function replaceGroup(op: ReplaceGroupOp, ctx: OperationContext): Promise<OperationResult> {
  const id = await groupId(op, ctx);
  const members = await memberIds(op.memberKeys, ctx);
  // Held members stay: a PUT without them would remove what a PATCH leaves alone.
  const ids = [...new Set([...members.ids, ...(op.keep ?? [])])];
  await ctx.client.replace('Groups', id, groupPutBody(op.resource, ids), op.label);
  const partial = leftOut(members);
  return { scimId: id, ...(partial ? { partial } : {}), members: { kind: 'set', group: id, members: ids } };
}

async function deleteGroup(op: DeleteGroupOp, ctx: OperationContext): Promise<OperationResult> {
  const id = (await ctx.links.get(ctx.target, 'group', op.externalId))?.id ?? op.scimId;
  try {
    await ctx.client.delete('Groups', id, op.label);
  } catch (error) {
    await confirmGone(error, ctx, 'Groups', id, op.label);
  }
  await ctx.links.delete(ctx.target, 'group', op.externalId);
  return { scimId: id, members: { kind: 'groupGone', group: id } };
}

/** The write's checks in a result: notices, and what was not kept (parked); nothing kept at all is a NotStoredError. */
function checked(result: OperationResult, outcome: CheckOutcome, planned: number, ctx: OperationContext, label: string): OperationResult {
  if (outcome.notKept.length > 0 && outcome.notKept.length === planned) {
    throw new NotStoredError(outcome.notices.join('; '), { target: ctx.target, resource: label });
  }
  return {
    ...result,
    ...(outcome.notKept.length > 0 ? { partial: `not kept by the target, parked: ${outcome.notKept.map((c) => c.path).join(', ')}` } : {}),
    ...(outcome.notices.length > 0 ? { notices: outcome.notices } : {}),
  };
}

async function setManager(op: SetManagerOp, ctx: OperationContext): Promise<OperationResult> {
  const id = (await linkedId(ctx, 'user', op.externalId)) ?? op.scimId;
  if (!id) throw new NotFoundError(`${op.label} has no account in the target`, { target: ctx.target, resource: op.label });
  const path = `${SCHEMA_ENTERPRISE_USER}:manager`;
  let managerId: string | null = null;
  if (op.managerKey !== null) {
    managerId = (await linkedId(ctx, 'user', op.managerKey)) ?? null;
    if (!managerId) {
      throw new NotFoundError(`manager ${op.managerLabel ?? op.managerKey} of ${op.label} has no account in the target`, { target: ctx.target, resource: op.label });
    }
  }
  const operations: PatchOperation[] = managerId === null ? [{ op: 'remove', path }] : [{ op: 'replace', path, value: { value: managerId } }];
  const answer = await ctx.client.patch('Users', id, operations, op.label, ctx.writes ? { shapeOf: ctx.writes.shapeOf } : {});
  const outcome = await checkWrite(ctx, {
    id,
    label: op.label,
    externalId: op.externalId,
    kind: op.kind,
    changes: [{ path: `${path}.value`, from: null, to: managerId }],
    operations,
    answer,
    parkKey: () => operationParkKey(op)!,
  });
  return checked({ scimId: id }, outcome, 1, ctx, op.label);
}

async function findByUserName(ctx: OperationContext, userName: string): Promise<ServerResource | undefined> {
  const found = await ctx.client.findBy('Users', 'userName', userName);
  // Servers may match case-insensitively or loosely: keep only a real match.
  return found.find((r) => typeof r['userName'] === 'string' && r['userName'].toLowerCase() === userName.toLowerCase());
}

/**
 * The one account whose work email is the new account's, as the planner matches it. A server may
 * ignore the filter and answer with every account, or match loosely: the first answer would hand
 * someone else's account (a hand-made admin) to the new hire.
 */
async function findByEmail(op: UserPost, ctx: OperationContext): Promise<ServerResource | undefined> {
  const email = workEmail(op.resource);
  if (!email) return undefined;
  const found = await ctx.client.findBy('Users', 'emails.value', email);
  const matches = found.filter((r) => workEmail(r)?.toLowerCase() === email.toLowerCase());
  return matches.length === 1 ? matches[0] : undefined;
}

/**
 * The account an earlier attempt of this create may have made (`own`, carrying our key), and the
 * account holding the userName (`byUserName`, for adoption). A userName filter first (cheap, and
 * the one every server supports); a server may refuse that filter for some values (a quoted local
 * part, say), so then by externalId; the listing only when every filter was refused.
 */
async function findOwnCreate(op: UserPost, ctx: OperationContext): Promise<{ own?: ServerResource; byUserName?: ServerResource }> {
  const refused = (error: unknown) => {
    if (!(error instanceof BadRequestError || error instanceof ProtocolError)) throw error;
    return 'refused' as const;
  };
  const byUserName = await findByUserName(ctx, op.label).catch(refused);
  if (byUserName !== 'refused' && byUserName?.['externalId'] === op.externalId) return { own: byUserName };
  const found = byUserName === 'refused' || !byUserName ? await ctx.client.findBy('Users', 'externalId', op.externalId).catch(refused) : [];
  const user = byUserName === 'refused' ? undefined : byUserName;
  if (found !== 'refused') {
    const own = found.find((r) => r['externalId'] === op.externalId);
    return { ...(own ? { own } : {}), ...(user ? { byUserName: user } : {}) };
  }
  for await (const page of ctx.client.pages('Users', { pageSize: 100 })) {
    const own = page.find((r) => r['externalId'] === op.externalId);
    if (own) return { own };
  }
  return {};
}

/** What posting a user needs: a create's, or an update's whose account was gone (its `recreate`). */
type UserPost = Pick<CreateUserOp, 'externalId' | 'label' | 'resource' | 'hash'> & Partial<Pick<CreateUserOp, 'adoptBy'>>;

async function createUser(op: UserPost, ctx: OperationContext, state: AttemptState, note?: string): Promise<OperationResult> {
  if (state.previousAmbiguous) {
    // The last POST may have been committed before the answer was lost (or answered with another
    // account, scim-client.ts create()): look before posting again.
    const { own } = await findOwnCreate(op, ctx);
    if (own) return link(op, ctx, own.id, [note, 'created (confirmed after a lost answer)'].filter(Boolean).join('; '));
  }
  return postUser(op, ctx, note);
}

/**
 * POST /Users; on a conflict, the account holding the userName is taken when it is ours (an earlier
 * attempt's, or the one a stale link lost track of) or adoptable, and refused when it is someone else's.
 */
async function postUser(op: UserPost, ctx: OperationContext, note?: string): Promise<OperationResult> {
  try {
    const created = await ctx.client.create('Users', op.resource, op.label);
    return { ...(await link(op, ctx, created.id, note)), members: { kind: 'newUser', user: created.id } };
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
    const { own, byUserName } = await findOwnCreate(op, ctx);
    // Adopted by the attribute the config names, as the planner adopts: under adopt: email, the
    // account that holds the userName is taken only when it is the one with the work email.
    const existing = own ?? (op.adoptBy === 'email' ? await findByEmail(op, ctx) : byUserName);
    if (!existing) {
      if (byUserName && op.adoptBy === 'email') {
        throw new ConflictError(
          `userName "${op.label}" belongs to an account (id ${byUserName.id}) that does not have ${op.label}'s work email; adopt: email takes over only that one: left alone`,
          { ...error.context, resource: op.label },
        );
      }
      throw new ConflictError(
        `the server reports a conflict for userName "${op.label}" but a userName filter does not find the account`,
        error.context,
      );
    }
    const id = existing.id;
    const ours = existing === own;
    // The planner adopts only accounts keyed to no one; an account found here after the conflict
    // may be another person's (two people the mapping gives one userName): never take it over.
    const keyedTo = existing['externalId'];
    if (!ours && typeof keyedTo === 'string' && keyedTo !== '') {
      throw new ConflictError(
        `userName "${op.label}" belongs to an account keyed to another identity (id ${id}, externalId "${keyedTo}"); left alone`,
        { ...error.context, resource: op.label },
      );
    }
    if (!ours && !op.adoptBy) {
      throw new ConflictError(
        `userName "${op.label}" belongs to an account scim-sync does not manage (id ${id}); set adopt: userName to take it over`,
        { ...error.context, resource: op.label },
      );
    }
    // Ours (made by an earlier attempt or run) or adoptable: take it, and make it what the plan says,
    // keeping whatever else the account holds.
    const body: JsonObject = { ...existing, ...op.resource };
    delete body['meta'];
    await ctx.client.replace('Users', id, body, op.label);
    return { ...(await link(op, ctx, id, ours ? 'adopted its own earlier create' : `adopted by ${op.adoptBy}`)), adopted: true };
  }
}

async function link(op: Pick<CreateUserOp, 'externalId' | 'hash'>, ctx: OperationContext, id: string, note?: string): Promise<OperationResult> {
  await ctx.links.set(ctx.target, 'user', op.externalId, { id, hash: op.hash });
  return { scimId: id, ...(note ? { note } : {}) };
}

async function updateUser(op: UpdateUserOp, ctx: OperationContext, state: AttemptState): Promise<OperationResult> {
  const id = await resolveId(op, ctx);
  let write: VersionedWrite;
  try {
    write = await updateWithVersion(ctx.client, id, op, ctx.writes?.shapeOf);
  } catch (error) {
    await confirmGone(error, ctx, 'Users', id, op.label);
    return recreateUser(op, id, ctx, state);
  }
  const outcome = await checkWrite(ctx, {
    id,
    label: op.label,
    externalId: op.externalId,
    kind: op.kind,
    changes: op.changes,
    ...(op.patch ? { operations: op.patch } : {}),
    answer: write.answer,
    parkKey: (change) => attributeParkKey(op.externalId, change),
  });
  const result = await link(op, ctx, id, [op.adopt ? 'adopted' : undefined, write.note].filter(Boolean).join('; ') || undefined);
  return checked(result, outcome, op.changes.length, ctx, op.label);
}

/**
 * An update whose account a write and a read by id both found gone (deleted in the target since the
 * plan was made): the link is stale, and the person still belongs there. Made again as a create
 * would be, within the apply's re-create budget: past it, the operation fails and the link stays,
 * so that the next plan counts the person among its re-creates and its safety check judges them.
 */
async function recreateUser(op: UpdateUserOp, id: string, ctx: OperationContext, state: AttemptState): Promise<OperationResult> {
  if (!state.recreateTaken) {
    if (!(await ctx.recreates.take())) {
      const n = ctx.recreates.allowance;
      throw new NotFoundError(
        `the account (id ${id}) is gone from the target (its write and a read by id both answer 404), but is not created again: this apply may re-create ` +
          `${n === 0 ? 'no account' : `at most ${n} account${n === 1 ? '' : 's'}`} (safety.alwaysAllowRecreates, safety.maxRecreatePercent, the plan's own re-creates counted first). ` +
          'Deleted in the app, or a server that answers 404 for accounts it holds? The link is kept: the next plan counts it among its re-creates',
        { target: ctx.target, resource: op.label, status: 404 },
      );
    }
    state.recreateTaken = true;
  }
  await ctx.links.delete(ctx.target, 'user', op.externalId);
  const post: UserPost = { externalId: op.externalId, label: op.label, resource: op.recreate, hash: op.hash };
  const result = await createUser(post, ctx, state, 'recreated (the account was gone)');
  // Found under another id after all (a 409, our own account): nothing was made again.
  return result.adopted ? result : { ...result, recreated: true };
}

async function deprovisionUser(op: DeprovisionUserOp, ctx: OperationContext): Promise<OperationResult> {
  const id = await resolveId(op, ctx);
  const gone = async (): Promise<OperationResult> => {
    await ctx.links.delete(ctx.target, 'user', op.externalId);
    return { scimId: id, unchanged: true, note: 'already gone from the target; link dropped', members: { kind: 'userGone', user: id } };
  };
  if (op.unlisted) {
    // Not in the listing the plan was made from: a write could only 404 in the usual case. A read
    // that answers 404 is the confirmation confirmGone would ask for.
    const account = await readUnlessGone(ctx.client, 'Users', id);
    if (!account) return gone();
    // Read by a link the listing could not check: an account keyed to someone else is theirs.
    const keyedTo = account['externalId'];
    if (typeof keyedTo === 'string' && keyedTo !== '' && keyedTo !== op.externalId) {
      throw new ConflictError(`the account the link names (id ${id}) carries externalId "${keyedTo}", not ${op.externalId}: not deprovisioned (a stale, copied or edited link)`, {
        target: ctx.target,
        resource: op.label,
      });
    }
    if (op.mode === 'deactivate' && !isActive(account)) return { scimId: id, unchanged: true, note: 'already inactive' };
  }
  let write: VersionedWrite;
  try {
    write = await deprovisionWithVersion(ctx.client, id, op);
  } catch (error) {
    await confirmGone(error, ctx, 'Users', id, op.label);
    return gone();
  }
  if (op.mode === 'deactivate') await confirmDeactivated(ctx, id, op.label, write.answer);
  if (op.mode === 'delete') await ctx.links.delete(ctx.target, 'user', op.externalId);
  const note = [op.unlisted ? 'not in the listing, but live: deprovisioned by id' : undefined, write.note].filter(Boolean).join('; ');
  return { scimId: id, ...(note ? { note } : {}), ...(op.mode === 'delete' ? { members: { kind: 'userGone' as const, user: id } } : {}) };
}

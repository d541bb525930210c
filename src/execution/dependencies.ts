/**
 * What an operation needs that an earlier one of the same apply was to create, as data: the
 * executor records every create that failed (FailedIdentities), and an operation that resolves a
 * key with no account behind it asks there why. A manager reference to a person whose create was
 * refused is then skipped because of it (DependencyError), never a second failure; a membership
 * change goes ahead without that member and says so (partial), never reported as done in full.
 *
 * Only creates count: an update or a link that fails leaves the account where it was.
 */
import { DependencyError } from '../errors.js';
import type { Operation, OperationKind } from '../model/plan.js';
import type { ResourceKind } from '../state/link-store.js';
import type { FailedIdentities, FailedIdentity, OperationContext } from './operation-context.js';

/** In one process: the inline executor, per target and apply. */
export class FailedIdentitySet implements FailedIdentities {
  private readonly failed = new Map<string, FailedIdentity>();

  async add(resource: ResourceKind, externalId: string, failed: FailedIdentity): Promise<void> {
    this.failed.set(`${resource}\n${externalId}`, failed);
  }

  async get(resource: ResourceKind, externalId: string): Promise<FailedIdentity | undefined> {
    return this.failed.get(`${resource}\n${externalId}`);
  }
}

/** Records a failed operation when it was to create a user or a group. */
export async function recordFailedCreate(failed: FailedIdentities, op: Operation): Promise<void> {
  if (op.kind === 'createUser') await failed.add('user', op.externalId, { kind: op.kind, label: op.label });
  if (op.kind === 'createGroup') await failed.add('group', op.externalId, { kind: op.kind, label: op.label });
}

const LABELS_SHOWN = 5;

/** "depends on failed createUser for a, b" (several kinds joined by "; "). */
export function dependsOn(failed: readonly FailedIdentity[]): string {
  const byKind = new Map<OperationKind, string[]>();
  for (const f of failed) byKind.set(f.kind, [...(byKind.get(f.kind) ?? []), f.label]);
  return [...byKind]
    .map(([kind, labels]) => {
      const shown = labels.slice(0, LABELS_SHOWN).join(', ');
      return `depends on failed ${kind} for ${shown}${labels.length > LABELS_SHOWN ? ` and ${labels.length - LABELS_SHOWN} more` : ''}`;
    })
    .join('; ');
}

/**
 * The account an operation writes to: the one the planner found and checked (its listing, the
 * preconditions of a saved plan), not whatever the link store says by the time the operation runs;
 * a stale or copied link would land the write on another person's account. The link only stands in
 * for an operation planned without an id.
 */
export async function resolveId(op: { externalId: string; scimId: string }, ctx: OperationContext): Promise<string> {
  if (op.scimId !== '') return op.scimId;
  return (await ctx.links.get(ctx.target, 'user', op.externalId))?.id ?? op.scimId;
}

/**
 * The SCIM id linked to a key; undefined when there is none. Throws DependencyError when there is
 * none because its create failed in this apply.
 */
export async function linkedId(ctx: OperationContext, resource: ResourceKind, externalId: string): Promise<string | undefined> {
  const id = (await ctx.links.get(ctx.target, resource, externalId))?.id;
  if (id) return id;
  const failed = await ctx.failed.get(resource, externalId);
  if (failed) throw new DependencyError(dependsOn([failed]), { target: ctx.target, resource: externalId });
  return undefined;
}

export interface ResolvedMembers {
  ids: string[];
  /** Members left out because their create failed in this apply. */
  failed: FailedIdentity[];
  /** Members left out with no account in the target and no failure to explain it. */
  absent: string[];
}

/** Source keys -> SCIM ids through the link store; people without an account are left out, with why. */
export async function memberIds(keys: readonly string[], ctx: OperationContext): Promise<ResolvedMembers> {
  const out: ResolvedMembers = { ids: [], failed: [], absent: [] };
  for (const key of keys) {
    const id = (await ctx.links.get(ctx.target, 'user', key))?.id;
    if (id) {
      out.ids.push(id);
      continue;
    }
    const failed = await ctx.failed.get('user', key);
    if (failed) out.failed.push(failed);
    else out.absent.push(key);
  }
  return out;
}

const members = (n: number) => `${n} member${n === 1 ? '' : 's'}`;

/** Why a membership change is partial; undefined when every member was resolved. */
export function leftOut(m: ResolvedMembers): string | undefined {
  const parts: string[] = [];
  if (m.failed.length > 0) parts.push(`${members(m.failed.length)} skipped because their account was not created (${dependsOn(m.failed)})`);
  if (m.absent.length > 0) parts.push(`${members(m.absent.length)} skipped: no account in the target (${m.absent.slice(0, LABELS_SHOWN).join(', ')})`);
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/** A membership change with nothing left to send: skipped, with why. */
export function nothingLeft(m: ResolvedMembers, ctx: OperationContext, resource: string): DependencyError {
  const reason = m.absent.length === 0 ? dependsOn(m.failed) : leftOut(m)!;
  return new DependencyError(reason, { target: ctx.target, resource });
}

/**
 * Whether a resource is gone from the target: the one rule, for every write answered 404. Such an
 * answer says less than it seems: a gateway or proxy without the route, a load balancer's error
 * page, a server that hides from this credential what it may not write all answer 404 for a
 * resource that is there. Taken at its word, a leaver's live account left management for good (its
 * link dropped, never deactivated again), and an update became a second account. Only a read by id
 * that answers 404 as well says gone.
 */
import { NotFoundError, TransientError } from '../errors.js';
import type { ServerResource } from '../model/scim.js';
import type { ResourceType, ScimTarget } from '../targets/scim-target.js';
import type { OperationContext } from './operation-context.js';

/** The resource read by id; undefined when the read answers 404 (gone). Any other failure is thrown. */
export async function readUnlessGone(client: ScimTarget, type: ResourceType, id: string): Promise<ServerResource | undefined> {
  try {
    return await client.get(type, id);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/**
 * After a write to `id` failed with `error`: returns when it was a 404 and a read by id answers 404
 * too. Any other error is thrown as it is; a 404 whose resource the read finds is thrown as a
 * TransientError (not gone: the operation is tried again, and its link kept).
 */
export async function confirmGone(error: unknown, ctx: OperationContext, type: ResourceType, id: string, label: string): Promise<void> {
  if (!(error instanceof NotFoundError)) throw error;
  if ((await readUnlessGone(ctx.client, type, id)) === undefined) return;
  throw new TransientError(
    `${error.context.request ?? 'the write'} answered ${error.message}, but reading ${type}/${id} finds it: not taken as gone; its link is kept`,
    { ...error.context, target: ctx.target, resource: label },
    false,
    { cause: error },
  );
}

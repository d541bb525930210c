/**
 * Before a plan is trusted to create linked accounts again that the target's listing did not show,
 * a few of them are read by id. A listing that leaves accounts out (totalResults 0 from a server
 * that still holds everyone, a token re-scoped to see nobody) reads as "every account deleted", and
 * on a server that does not enforce unique userNames every person would get a second account. A
 * 404 confirms an account is gone (deleted by hand: it is re-created, and the safety check counts
 * such re-creates); an active account that is there means the listing cannot be planned on. An
 * inactive one does not: some apps list only active accounts, and a re-hire's deactivated account
 * is then left out of every listing; its create meets the account (409) and adopts it.
 */
import { NotFoundError, ProtocolError } from '../errors.js';
import type { TargetRuntime } from '../execution/executor.js';
import { operationsOf, type CreateUserOp, type TargetPlan } from '../model/plan.js';
import { isActive } from '../planning/user-changes.js';

/** How many of a plan's re-creates are read by id: one is enough to catch a lying listing, a few spread the odds when only some pages lie. */
const SAMPLE = 3;

/** Throws ProtocolError when an account the plan would create again is there, read by its id. */
export async function confirmUnlisted(runtime: Pick<TargetRuntime, 'name' | 'client'>, plan: TargetPlan): Promise<void> {
  const recreates = operationsOf(plan).filter((op): op is CreateUserOp & { unlistedLink: string } => op.kind === 'createUser' && op.unlistedLink !== undefined);
  for (const op of recreates.slice(0, SAMPLE)) {
    try {
      if (!isActive(await runtime.client.get('Users', op.unlistedLink))) continue;
    } catch (error) {
      if (error instanceof NotFoundError) continue;
      throw error;
    }
    throw new ProtocolError(
      `the listing (GET /Users) leaves out account ${op.unlistedLink}, linked to ${op.externalId}, which GET /Users/${op.unlistedLink} returns: ` +
        `a listing that leaves accounts out cannot be planned on (${recreates.length} linked account${recreates.length === 1 ? '' : 's'} it does not show would be created again); nothing is planned for this target`,
      { target: runtime.name, resource: op.label },
    );
  }
}

/**
 * Users asked for by an `eq` filter, for `check` and its write probe, without taking the answer on
 * trust. A server that ignores filters answers every user, and its first one looks like a match:
 * an answer that holds anyone not carrying the value is such a server, not a result.
 */
import { AuthError, ScimSyncError } from '../errors.js';
import type { ServerResource } from '../model/scim.js';
import type { ScimTarget } from '../targets/scim-target.js';

export type FilteredAttribute = 'userName' | 'externalId';

export type FilterAnswer =
  /** Every user answered carries the value (none may be answered). */
  | { kind: 'matches'; resources: ServerResource[] }
  /** `strays` of the `answered` users do not carry the value. */
  | { kind: 'ignored'; strays: number; answered: number }
  /** The filter was refused or failed (not for a refused credential: that is thrown). */
  | { kind: 'failed'; error: ScimSyncError };

/**
 * A userName no account can hold (a reserved domain, RFC 2606): a server that answers a filter on
 * it with anyone ignores filters, which a filter on an existing user cannot show when the target
 * holds that user alone.
 */
export const NO_SUCH_USER_NAME = 'scim-sync-check-no-such-user@invalid.example';

/** What ignoring filters means for runs and for the probe, said wherever check finds it. */
export const IGNORES_FILTERS =
  'the server ignores filters. Runs keep only the accounts that really match, so adoption and 409 recovery still work, ' +
  'but each lookup reads the whole user list (slow in a large target), and the write probe cannot trust a lookup';

/** userName compares case-insensitively (RFC 7643 §4.1.1), externalId exactly (it is caseExact). */
export function carries(resource: ServerResource, attribute: FilteredAttribute, value: string): boolean {
  const held = resource[attribute];
  if (typeof held !== 'string') return false;
  return attribute === 'userName' ? held.toLowerCase() === value.toLowerCase() : held === value;
}

export async function askFilter(client: ScimTarget, attribute: FilteredAttribute, value: string): Promise<FilterAnswer> {
  let answered: ServerResource[];
  try {
    answered = await client.findBy('Users', attribute, value);
  } catch (error) {
    if (error instanceof AuthError || !(error instanceof ScimSyncError)) throw error;
    return { kind: 'failed', error };
  }
  const strays = answered.filter((r) => !carries(r, attribute, value)).length;
  return strays > 0 ? { kind: 'ignored', strays, answered: answered.length } : { kind: 'matches', resources: answered };
}

/** "filter userName eq "x" answers 2 of 3 users that do not carry it: the server ignores filters..." */
export function ignoredMessage(attribute: FilteredAttribute, value: string, answer: { strays: number; answered: number }): string {
  return `filter ${attribute} eq "${value}" answers ${answer.strays} of ${answer.answered} users that do not carry it: ${IGNORES_FILTERS}`;
}

import { createHash } from 'node:crypto';
import type { DesiredUser } from '../mapping/user-mapping.js';

/** Stable digest of what we push for a user; stored in the link store as "last pushed". */
export function desiredHash(user: DesiredUser, active: boolean): string {
  const entries = [...user.values.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256')
    .update(JSON.stringify([user.externalId, active, entries]))
    .digest('hex')
    .slice(0, 32);
}

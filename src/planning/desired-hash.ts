import { hash } from 'node:crypto';
import type { DesiredUser } from '../mapping/user-mapping.js';

/**
 * Digest of what we push for a user; stored in the link store as "last pushed". Values are in
 * mapping-rule order, which is fixed for a config, so no sorting is needed. Not a security hash:
 * it only tells "same as last time".
 */
export function desiredHash(user: DesiredUser, active: boolean): string {
  // One call, no Hash object per person (see model/record-digest.ts); the same digest as createHash's.
  return hash('sha1', JSON.stringify([user.externalId, active, user.values, user.sets]), 'base64url');
}

/**
 * Short digests of source records: what a saved plan's preconditions compare (planning/) and what a
 * change feed remembers of each person between passes (sources/). One definition, so a record that
 * digests alike for one digests alike for the other. Pure.
 */
import { hash } from 'node:crypto';
import type { CanonicalUser } from './canonical.js';

/** sha256 of the value's JSON, base64url, 22 characters (132 bits). Key order matters: callers sort when it may vary. */
export function digest(value: unknown): string {
  // crypto.hash: one call, no Hash object per record (planning digests every person; about half
  // the time of createHash cold, a tenth warm). The same bytes as createHash's digest.
  return hash('sha256', JSON.stringify(value), 'base64url').slice(0, 22);
}

/** Everything the planner reads of a person; null for a person the source does not hold. */
export function personDigest(user: CanonicalUser | undefined): string | null {
  return user ? digest([user.key, user.active, user.attributes, user.managerKey ?? null, user.groups ?? null]) : null;
}

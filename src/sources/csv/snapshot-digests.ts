/**
 * What the CSV change feed remembers of an accepted file: a short digest per person and per group,
 * so the next file can be compared without keeping the last one (10,000 people make a token of a
 * few hundred kilobytes). Pure.
 */
import type { DirectorySnapshot } from '../../model/canonical.js';
import { digest, personDigest } from '../../model/record-digest.js';

export interface SnapshotDigests {
  /** Person key -> digest of everything the planner reads of them, their memberships included. */
  readonly users: ReadonlyMap<string, string>;
  /** Group key -> digest of its name and nested groups (its members show in their own digests). */
  readonly groups: ReadonlyMap<string, string>;
}

/** 72 bits: a change of one person is missed with odds of 2^-72, and the token stays small. */
const SHORT = 12;

/**
 * The digests of a read. A held key (a row the reader could not trust) keeps the digest it had in
 * `previous`: nothing is known of that person now, so they are neither a change nor a departure.
 */
export function digestSnapshot(snapshot: DirectorySnapshot, previous: SnapshotDigests | undefined): SnapshotDigests {
  const memberOf = new Map<string, string[]>();
  for (const group of snapshot.groups) {
    for (const key of group.memberKeys) {
      const list = memberOf.get(key);
      if (list) list.push(group.key);
      else memberOf.set(key, [group.key]);
    }
  }
  const users = new Map<string, string>();
  for (const user of snapshot.users) users.set(user.key, digest([personDigest(user), (memberOf.get(user.key) ?? []).sort()]).slice(0, SHORT));
  for (const key of snapshot.heldKeys) {
    const before = previous?.users.get(key);
    if (before !== undefined) users.set(key, before);
    else users.delete(key);
  }
  const groups = new Map<string, string>();
  for (const group of snapshot.groups) groups.set(group.key, digest([group.displayName, [...(group.groupKeys ?? [])].sort()]).slice(0, SHORT));
  return { users, groups };
}

export interface DigestDiff {
  /** People new or different in `after`. */
  readonly changed: string[];
  /** People in `before` and not in `after`. */
  readonly removed: string[];
  /**
   * Groups in both, renamed or nested differently. A new group needs nothing more (its members'
   * digests changed, and planning a member creates it); a group gone waits for the next cycle.
   */
  readonly groups: string[];
}

export function diffDigests(before: SnapshotDigests, after: SnapshotDigests): DigestDiff {
  const changed = [...after.users].filter(([key, d]) => before.users.get(key) !== d).map(([key]) => key);
  const removed = [...before.users.keys()].filter((key) => !after.users.has(key));
  const groups = [...after.groups].filter(([key, d]) => before.groups.has(key) && before.groups.get(key) !== d).map(([key]) => key);
  return { changed, removed, groups };
}

/** The token's JSON form (own properties only, so any key survives, `__proto__` included). */
export function digestsToJson(digests: SnapshotDigests): { users: Record<string, string>; groups: Record<string, string> } {
  return { users: Object.fromEntries(digests.users), groups: Object.fromEntries(digests.groups) };
}

export function digestsFromJson(json: unknown): SnapshotDigests | undefined {
  const doc = json as { users?: unknown; groups?: unknown } | null;
  const map = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? new Map(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string')) : undefined);
  const users = map(doc?.users);
  const groups = map(doc?.groups);
  return users && groups ? { users, groups } : undefined;
}

import type { CanonicalGroup, DirectorySnapshot } from '../model/canonical.js';
import { joined } from '../model/joined-lists.js';

export interface ReadProgress {
  records(count: number): void;
}

/**
 * A source of truth. `read` returns the whole directory or throws a SourceError: a partial read
 * must never reach the planner, where missing people would read as departures.
 */
export interface SourceDirectory {
  /** For humans and the audit log, e.g. `csv:/srv/hr/people.csv`. */
  readonly description: string;
  /** `progress.records`, where the adapter can say: told the records read so far, now and then (a progress display). */
  read(progress?: ReadProgress): Promise<DirectorySnapshot>;
  /**
   * One person's part of the directory (narrowSnapshot's shape), for on-demand commands: a source
   * that can look one person up (an LDAP search by key, a Google user by id) implements it; the
   * others are read whole and narrowed.
   */
  readOne?(key: string): Promise<DirectorySnapshot>;
  /**
   * True when readOne asks the server for that person alone (an LDAP search by key, a Google user
   * by id), so a few people are cheaper read one by one than the whole directory; false or absent
   * when readOne reads everything and narrows (a CSV file).
   */
  readonly narrowLookups?: boolean;
  /**
   * True when a read waits on nothing outside this process but a local file (a CSV export): it
   * spends this process's CPU from start to end. A target's listing then goes out alongside it but
   * its pages are read only once they can be settled (early-listing.ts): read during the read they
   * would share the one thread and be kept whole until the snapshot exists. False or absent for a
   * source that waits on a server (LDAP, Google): its waits and the listing's reading overlap.
   */
  readonly local?: boolean;
  /**
   * Every attribute name a record of this source can carry (a CSV's header, the attributes an
   * LDAP source maps, Google's fixed set): what mapping templates and scope clauses may name.
   */
  offeredAttributes(): Promise<ReadonlySet<string>>;
  /**
   * For `check`: the attribute names the config gives, against what the source itself defines (an
   * LDAP directory's schema), one problem per name it does not; `unchecked` when it cannot tell.
   */
  checkNames?(): Promise<{ problems: string[] } | { unchecked: string }>;
}

/**
 * The directory as one person's commands see it (or a few people's): those people (if read), the
 * groups (all of them: few, and nesting can make a person a member through any), and the read's
 * held keys, issues and record count unchanged (a dirty read is dirty for everyone). Every held key
 * stays, not only these people's: a group the source holds (named only on a rejected record) is
 * absent from `groups`, and only its key tells the planner it is held rather than gone, to delete.
 * Other people held stay held too, as in a cycle: the planner then keeps their memberships.
 */
export function narrowSnapshot(snapshot: DirectorySnapshot, keys: string | readonly string[]): DirectorySnapshot {
  const wanted = new Set(typeof keys === 'string' ? [keys] : keys);
  return {
    ...snapshot,
    users: snapshot.users.filter((u) => wanted.has(u.key)),
    ...(snapshot.partialKeys ? { partialKeys: snapshot.partialKeys.filter((k) => wanted.has(k)) } : {}),
    population: snapshot.population ?? snapshot.users.length,
  };
}

/**
 * Several one-person reads as one snapshot: their people, and each group once with the members the
 * reads found (each read knows only its own person's memberships).
 */
export function mergeSnapshots(reads: readonly DirectorySnapshot[]): DirectorySnapshot {
  const groups = new Map<string, CanonicalGroup>();
  for (const read of reads) {
    for (const g of read.groups) {
      const seen = groups.get(g.key);
      groups.set(
        g.key,
        seen
          ? { ...seen, memberKeys: [...new Set([...seen.memberKeys, ...g.memberKeys])], ...(g.groupKeys || seen.groupKeys ? { groupKeys: [...new Set([...(seen.groupKeys ?? []), ...(g.groupKeys ?? [])])] } : {}) }
          : g,
      );
    }
  }
  return {
    source: reads[0]?.source ?? '',
    users: joined(reads.map((r) => r.users)),
    groups: [...groups.values()],
    issues: reads.flatMap((r) => r.issues),
    warnings: reads.flatMap((r) => r.warnings ?? []),
    heldKeys: [...new Set(joined(reads.map((r) => r.heldKeys)))],
    partialKeys: [...new Set(joined(reads.map((r) => r.partialKeys ?? [])))],
    recordsRead: reads.reduce((n, r) => n + r.recordsRead, 0),
  };
}

/** What a source that has nothing of its own to check the config's names against answers `check`. */
export const NOTHING_TO_CHECK: { problems: string[] } = { problems: [] };


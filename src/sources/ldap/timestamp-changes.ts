/**
 * Adds and changes under the users base, by time: every entry whose modifyTimestamp or
 * createTimestamp is at or after the window's position (less the overlap), with only what it takes
 * to name it (the key) and to tell a change from one already handed out (entryCSN, which OpenLDAP
 * gives every write; other servers' modifyTimestamp).
 *
 * The search does not use the user filter: a person who stopped matching it (an objectClass or an
 * attribute the filter names was changed) is exactly someone to re-read, and re-reading decides
 * whether they are still in scope. The cost is a hint for every other entry changed under the base
 * (an OU, a group kept there), which the re-read finds is nobody.
 *
 * createTimestamp is asked for as well as modifyTimestamp because not every server sets
 * modifyTimestamp when an entry is added (OpenLDAP does).
 */
import type { LdapSearcher } from './connection.js';
import { aheadOfClock, advanceWindow, type Sighting, type TimeWindow } from './change-position.js';
import { isBinaryFormat } from './binary-key.js';
import { stringsOf } from './entry.js';
import type { LdapSettings } from './flavor-defaults.js';
import { formatGeneralizedTime, parseGeneralizedTime } from './generalized-time.js';
import { entryKey } from './user-entry.js';

export interface TimedChanges {
  /** Keys of entries changed since the window and not handed out before in this version. */
  readonly keys: readonly string[];
  /** Per key, the version of its entry seen (entryCSN, else its newest time): a change of theirs moves it. */
  readonly versions: ReadonlyMap<string, string>;
  readonly window: TimeWindow;
  /** Entries the search returned (for the description). */
  readonly entries: number;
  /** Entries stamped ahead of the clock (handed out, but not moving the position). */
  readonly ahead: readonly Sighting[];
}

/** The filter clause of a pass from `since` (whole seconds). */
export function changedSinceFilter(since: number): string {
  const at = formatGeneralizedTime(since);
  return `(|(modifyTimestamp>=${at})(createTimestamp>=${at}))`;
}

/** `now`: this machine's clock, whole seconds (see advanceWindow). */
export async function readTimedChanges(searcher: LdapSearcher, users: LdapSettings['users'], window: TimeWindow, overlap: number, now: number): Promise<TimedChanges> {
  const key = users.key;
  const keys = new Set<string>();
  const versions = new Map<string, string>();
  const sightings: Sighting[] = [];
  let entries = 0;
  for await (const page of searcher.search({
    base: users.base,
    scope: users.scope,
    filter: changedSinceFilter(window.since - overlap),
    attributes: [key.attribute, 'modifyTimestamp', 'createTimestamp', 'entryCSN'],
    binaryAttributes: isBinaryFormat(key.format) ? [key.attribute] : [],
  })) {
    for (const entry of page) {
      entries++;
      const modified = stringsOf(entry, 'modifyTimestamp')[0];
      const created = stringsOf(entry, 'createTimestamp')[0];
      const times = [modified, created].map((t) => (t === undefined ? null : parseGeneralizedTime(t))).filter((t): t is number => t !== null);
      const time = times.length > 0 ? Math.max(...times) : null;
      const version = stringsOf(entry, 'entryCSN')[0] ?? modified ?? created ?? '';
      const keyed = entryKey(entry, key);
      // An entry without a usable key is nobody a target knows by it: the full read reports it.
      const id = 'key' in keyed ? keyed.key : null;
      sightings.push({ id, version, time, dn: entry.dn });
      if (id !== null && window.seen[id] !== version) keys.add(id);
      if (id !== null) versions.set(id, version);
    }
  }
  return { keys: [...keys], versions, window: advanceWindow(window, sightings, overlap, now), entries, ahead: aheadOfClock(sightings, now) };
}

/**
 * The stored position of an LDAP change feed (the token a FeedTokenStore keeps): small JSON,
 * versioned, and read back defensively: a token this code cannot read is reported as such and the
 * feed asks for a full read instead of guessing a position.
 *
 * - modifyTimestamp mode: per time-ordered stream (the entries under the users base, and the
 *   accesslog when configured) the newest time seen, in whole seconds, and what was already handed
 *   out at or after `since - overlap` (entries: key -> version, their entryCSN or timestamp; the
 *   accesslog: reqStart, unique per record). Each pass asks with >= from `since - overlap`, so a
 *   change made in the same second as the last one seen, or stamped just before it and committed
 *   just after, is still found, and what was already handed out is not handed out again.
 * - usn mode (Active Directory): the domain controller (dsServiceName and invocationID) and its
 *   highestCommittedUSN read at the start of the last pass. USNs mean something only on the DC that
 *   gave them, and only while its invocationID (changed by a restore) stays the same.
 */
import { isAheadOfClock } from '../../model/clock-drift.js';
import { formatGeneralizedTime, parseGeneralizedTime } from './generalized-time.js';

export interface TimeWindow {
  /** Newest time seen, whole seconds since the epoch. */
  readonly since: number;
  /** What was handed out at or after `since - overlap`: id -> version. */
  readonly seen: Readonly<Record<string, string>>;
}

export interface TimestampPosition {
  readonly mode: 'modifyTimestamp';
  readonly entries: TimeWindow;
  /** Absent when no accesslog is configured (or was not when the position was stored). */
  readonly log?: TimeWindow;
}

export interface UsnPosition {
  readonly mode: 'usn';
  /** dsServiceName of the domain controller: its NTDS Settings object. */
  readonly server: string;
  /** Its invocationID, as a GUID string. */
  readonly invocationId: string;
  /** highestCommittedUSN, decimal (USNs are 64-bit). */
  readonly usn: string;
}

export type ChangePosition = TimestampPosition | UsnPosition;

const VERSION = 1;

interface StoredWindow {
  since: string;
  seen: Record<string, string>;
}

function storeWindow(window: TimeWindow): StoredWindow {
  return { since: formatGeneralizedTime(window.since), seen: { ...window.seen } };
}

export function encodePosition(position: ChangePosition): string {
  if (position.mode === 'usn') return JSON.stringify({ v: VERSION, ...position });
  return JSON.stringify({
    v: VERSION,
    mode: position.mode,
    entries: storeWindow(position.entries),
    ...(position.log ? { log: storeWindow(position.log) } : {}),
  });
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function readWindow(value: unknown): TimeWindow | null {
  if (!isRecord(value) || typeof value['since'] !== 'string' || !isRecord(value['seen'])) return null;
  const since = parseGeneralizedTime(value['since']);
  const seen = value['seen'];
  if (since === null || !Object.values(seen).every((v) => typeof v === 'string')) return null;
  return { since, seen: seen as Record<string, string> };
}

/** The position a token holds, or null when it is not one this code wrote. */
export function decodePosition(token: string): ChangePosition | null {
  let value: unknown;
  try {
    value = JSON.parse(token);
  } catch {
    return null;
  }
  if (!isRecord(value) || value['v'] !== VERSION) return null;
  if (value['mode'] === 'usn') {
    const { server, invocationId, usn } = value;
    if (typeof server !== 'string' || typeof invocationId !== 'string' || typeof usn !== 'string' || !/^\d+$/.test(usn)) return null;
    return { mode: 'usn', server, invocationId, usn };
  }
  if (value['mode'] === 'modifyTimestamp') {
    const entries = readWindow(value['entries']);
    const log = value['log'] === undefined ? undefined : readWindow(value['log']);
    if (!entries || log === null) return null;
    return { mode: 'modifyTimestamp', entries, ...(log ? { log } : {}) };
  }
  return null;
}

/**
 * One item a time-ordered pass met: its id (null for one never handed out, which still moves the
 * position), the version it has now, its time (null when unreadable), and its DN for a warning.
 */
export interface Sighting {
  readonly id: string | null;
  readonly version: string;
  readonly time: number | null;
  readonly dn?: string;
}

/**
 * Whether a time (whole seconds, as the feed keeps them) lies ahead of this machine's clock by more
 * than clocks differ: the one rule of model/clock-drift.ts, in this file's unit.
 */
export const aheadOfNowSeconds = (time: number, now: number): boolean => isAheadOfClock(time * 1000, now * 1000);

/**
 * The window after a pass that asked from `window.since - overlap` and met `sightings`, at `now`
 * (this machine's clock, seconds): since moves to the newest time met that is not ahead of `now`,
 * and `seen` keeps what lies within the overlap of it (anything older is not asked for again).
 *
 * A time ahead of the clock never moves the position: one entry stamped in 2030 would make every
 * later pass ask from 2030 and miss every change until then (a leaver keeping their access). Such
 * an entry stays in `seen`, so each pass finds it and hands it out again only when its version
 * moves. A server whose clock runs a little ahead of this one costs the same and loses nothing: its
 * newest entries wait in `seen` until the clock passes them.
 */
export function advanceWindow(window: TimeWindow, sightings: readonly Sighting[], overlap: number, now: number): TimeWindow {
  let since = window.since;
  for (const s of sightings) if (s.time !== null && s.time > since && s.time <= now) since = s.time;
  const seen: Record<string, string> = {};
  for (const s of sightings) if (s.id !== null && (s.time === null || s.time >= since - overlap)) seen[s.id] = s.version;
  return { since, seen };
}

/** The sightings stamped further ahead of `now` than clocks differ: named in the feed's warnings. */
export function aheadOfClock(sightings: readonly Sighting[], now: number): Sighting[] {
  return sightings.filter((s) => s.time !== null && aheadOfNowSeconds(s.time, now));
}

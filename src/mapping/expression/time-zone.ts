/**
 * IANA time zones through Intl, without a time zone library: the offset of a zone at an instant,
 * and the instant of a wall-clock time in a zone. Offsets are cached per zone and quarter hour
 * (every transition of a zone in use falls on one), so a directory of start dates costs a few
 * Intl calls, not one per person.
 */

export interface Zone {
  /** As configured, for messages. */
  readonly name: string;
  /**
   * Offset from UTC in minutes at an instant (ms since the epoch); NaN, never a RangeError, for an
   * instant no Date holds (Intl throws on one), so what is computed from it is no date either.
   */
  offsetAt(instant: number): number;
}

const QUARTER_HOUR = 15 * 60_000;
/** The furthest instant from the epoch a Date holds, either way (ECMA-262 time values), ms. */
const MAX_INSTANT = 8.64e15;

/** Whether a Date holds the instant: date readers and writers ask, so no invalid Date is ever formatted. */
export function isInstant(ms: number): boolean {
  return Number.isFinite(ms) && Math.abs(ms) <= MAX_INSTANT;
}
const FIXED = /^([+-])(\d{2}):?(\d{2})$/;
const zones = new Map<string, Zone | null>();

export const UTC: Zone = { name: 'UTC', offsetAt: () => 0 };

function fixedZone(name: string, minutes: number): Zone {
  return { name, offsetAt: () => minutes };
}

function intlZone(name: string): Zone | null {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    return null;
  }
  const cache = new Map<number, number>();
  return {
    name,
    offsetAt(instant) {
      const bucket = Math.floor(instant / QUARTER_HOUR);
      const known = cache.get(bucket);
      if (known !== undefined) return known;
      const at = bucket * QUARTER_HOUR;
      if (!isInstant(at)) return NaN;
      const parts: Record<string, number> = {};
      for (const p of format.formatToParts(at)) if (p.type !== 'literal' && p.type !== 'era') parts[p.type] = Number(p.value);
      const wall = Date.UTC(parts['year']!, parts['month']! - 1, parts['day']!, parts['hour']!, parts['minute']!, parts['second']!);
      const offset = Math.round((wall - at) / 60_000);
      if (cache.size > 50_000) cache.clear();
      cache.set(bucket, offset);
      return offset;
    },
  };
}

/** A zone by IANA name ("Europe/Berlin"), "UTC", or a fixed offset ("+05:30"); null when unknown. */
export function zoneOf(name: string): Zone | null {
  const cached = zones.get(name);
  if (cached !== undefined) return cached;
  const fixed = FIXED.exec(name);
  let zone: Zone | null;
  if (name.toUpperCase() === 'UTC' || name === 'Z') zone = UTC;
  else if (fixed) zone = fixedZone(name, (fixed[1] === '-' ? -1 : 1) * (Number(fixed[2]) * 60 + Number(fixed[3])));
  else zone = intlZone(name);
  zones.set(name, zone);
  return zone;
}

const HALF_DAY = 12 * 3_600_000;

/**
 * The instant at which a zone's clocks show a wall-clock time (given as if it were UTC). In an
 * overlap (clocks turned back) the earlier of the two; in a gap (clocks jump forward) the time is
 * read with the offset before the jump, so 02:30 on a night that skips 02:00-03:00 is 03:30.
 */
export function instantOf(wall: number, zone: Zone): number {
  const before = zone.offsetAt(wall - HALF_DAY);
  const after = zone.offsetAt(wall + HALF_DAY);
  // The larger offset gives the earlier instant: try it first.
  for (const offset of before >= after ? [before, after] : [after, before]) {
    const instant = wall - offset * 60_000;
    if (zone.offsetAt(instant) === offset) return instant;
  }
  return wall - before * 60_000;
}

/**
 * Date formats of FormatDateTime, compiled once: a named format (iso, date, unix, unixms, ldap,
 * filetime) or a pattern of letters (yyyy-MM-dd HH:mm) with 'quoted' literal text. A parsed date is
 * an instant (ms since the epoch) and whether it had a time of day. Reading a text that does not
 * fit the format gives null, never a guess; so does an instant a JavaScript Date cannot hold (a unix
 * time of 17 digits), and writing one gives null rather than "NaN" text or a RangeError.
 */
import { instantOf, isInstant, UTC, type Zone } from './time-zone.js';

export interface ParsedDate {
  readonly instant: number;
  /** The text had no time of day (a date alone): DateAdd by days keeps it a date. */
  readonly dateOnly: boolean;
}

export interface DateFormat {
  /** `zone`: how to read a time written without an offset. */
  parse(text: string, zone: Zone): ParsedDate | null;
  /** Null when the instant, or its wall clock in `zone`, is past what a Date holds. */
  format(date: ParsedDate, zone: Zone): string | null;
}

/** A parsed instant, or null when no Date can hold it. */
function instantAt(instant: number, dateOnly = false): ParsedDate | null {
  return isInstant(instant) ? { instant, dateOnly } : null;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const FILETIME_EPOCH_MS = 11_644_473_600_000n;
/** AD's "never" (accountExpires): 0 and the largest 64-bit integer. */
const FILETIME_NEVER = new Set(['0', '9223372036854775807']);

interface Fields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
  pm: boolean | null;
  /** Minutes east of UTC, when the text says. */
  offset: number | null;
  hasTime: boolean;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

function offsetText(minutes: number, colon = true): string {
  const sign = minutes < 0 ? '-' : '+';
  const m = Math.abs(minutes);
  return `${sign}${pad(Math.floor(m / 60))}${colon ? ':' : ''}${pad(m % 60)}`;
}

function readOffset(text: string): number {
  if (text.toUpperCase() === 'Z') return 0;
  const digits = text.replace(':', '');
  return (digits[0] === '-' ? -1 : 1) * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5)));
}

/** The instant of a set of fields, or null when they name no real date (31 February, hour 25). */
function instantOfFields(f: Fields, zone: Zone): ParsedDate | null {
  let hour = f.hour;
  if (f.pm !== null) {
    if (hour < 1 || hour > 12) return null;
    hour = (hour % 12) + (f.pm ? 12 : 0);
  }
  if (f.month < 1 || f.month > 12 || f.day < 1 || hour > 23 || f.minute > 59 || f.second > 59) return null;
  const wall = Date.UTC(f.year, f.month - 1, f.day, hour, f.minute, f.second, f.ms);
  const check = new Date(wall);
  if (check.getUTCDate() !== f.day || check.getUTCMonth() !== f.month - 1) return null;
  const instant = f.offset !== null ? wall - f.offset * 60_000 : instantOf(wall, zone);
  return instantAt(instant, !f.hasTime);
}

const fresh = (): Fields => ({ year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0, ms: 0, pm: null, offset: null, hasTime: false });

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/** ISO 8601 / xsd:dateTime: a date, or a date and time with or without an offset. */
export function parseIso(text: string, zone: Zone = UTC): ParsedDate | null {
  const m = ISO.exec(text.trim());
  if (!m) return null;
  const f = fresh();
  f.year = Number(m[1]);
  f.month = Number(m[2]);
  f.day = Number(m[3]);
  if (m[4] !== undefined) {
    f.hasTime = true;
    f.hour = Number(m[4]);
    f.minute = Number(m[5]);
    f.second = m[6] ? Number(m[6]) : 0;
    f.ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
    if (m[8]) f.offset = readOffset(m[8].length === 3 ? `${m[8]}:00` : m[8]);
  }
  return instantOfFields(f, zone);
}

/** Wall-clock fields of an instant in a zone; null when the instant or its wall clock is past what a Date holds. */
function wallOf(instant: number, zone: Zone): { d: Date; offset: number } | null {
  if (!isInstant(instant)) return null;
  const offset = zone.offsetAt(instant);
  const wall = instant + offset * 60_000;
  return isInstant(wall) ? { d: new Date(wall), offset } : null;
}

export function formatIso(date: ParsedDate, zone: Zone = UTC): string | null {
  const wall = wallOf(date.instant, zone);
  if (!wall) return null;
  const { d, offset } = wall;
  const day = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return `${day}T${time}${zone === UTC ? 'Z' : offsetText(offset)}`;
}

const NAMED: Record<string, DateFormat> = {
  iso: { parse: parseIso, format: formatIso },
  date: {
    parse: (text, zone) => {
      const parsed = /^\d{4}-\d{2}-\d{2}$/.test(text.trim()) ? parseIso(text, zone) : null;
      return parsed;
    },
    format: (date, zone) => formatIso(date, zone)?.slice(0, 10) ?? null,
  },
  unix: {
    parse: (text) => (/^-?\d+$/.test(text.trim()) ? instantAt(Number(text) * 1000) : null),
    format: (date) => (isInstant(date.instant) ? String(Math.floor(date.instant / 1000)) : null),
  },
  unixms: {
    parse: (text) => (/^-?\d+$/.test(text.trim()) ? instantAt(Number(text)) : null),
    format: (date) => (isInstant(date.instant) ? String(date.instant) : null),
  },
  // LDAP generalized time (RFC 4517): 20240131120000Z, 20240131120000.0Z, 202401311200+0100. Written in UTC.
  ldap: {
    parse: (text, zone) => {
      const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{2})?(?:[.,](\d+))?(Z|[+-]\d{4})?$/i.exec(text.trim());
      if (!m) return null;
      const f = fresh();
      f.hasTime = true;
      [f.year, f.month, f.day, f.hour] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
      f.minute = m[5] ? Number(m[5]) : 0;
      f.second = m[6] ? Number(m[6]) : 0;
      f.ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
      if (m[8]) f.offset = readOffset(m[8]);
      return instantOfFields(f, zone);
    },
    format: (date) => {
      const d = wallOf(date.instant, UTC)?.d;
      if (!d) return null;
      return `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
    },
  },
  // Active Directory's FILETIME (accountExpires, pwdLastSet): 100-ns ticks since 1601-01-01 UTC; 0 and 2^63-1 mean never.
  filetime: {
    parse: (text) => {
      const t = text.trim();
      if (!/^\d+$/.test(t) || FILETIME_NEVER.has(t)) return null;
      return instantAt(Number(BigInt(t) / 10_000n - FILETIME_EPOCH_MS));
    },
    format: (date) => (isInstant(date.instant) ? String((BigInt(Math.trunc(date.instant)) + FILETIME_EPOCH_MS) * 10_000n) : null),
  },
};

export const NAMED_FORMATS = Object.keys(NAMED);

type Piece = { literal: string } | { token: string };

const TOKENS = ['yyyy', 'yy', 'MMMM', 'MMM', 'MM', 'M', 'dd', 'd', 'HH', 'H', 'hh', 'h', 'mm', 'm', 'ss', 's', 'fff', 'ff', 'f', 'tt', 'zzz'];

/** Splits a pattern into tokens and literal text; throws on a letter that is no token (a typo like YYYY). */
function pieces(pattern: string): Piece[] {
  const out: Piece[] = [];
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i]!;
    if (ch === "'") {
      const end = pattern.indexOf("'", i + 1);
      if (end === -1) throw new Error(`a quote opened at position ${i + 1} of the format is never closed`);
      out.push({ literal: end === i + 1 ? "'" : pattern.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    if (/[A-Za-z]/.test(ch)) {
      const token = TOKENS.find((t) => pattern.startsWith(t, i));
      if (!token) {
        throw new Error(
          `"${ch}" at position ${i + 1} of the format is not a format letter (yyyy MM dd HH mm ss fff tt zzz...; write literal text in 'quotes')`,
        );
      }
      out.push({ token });
      i += token.length;
      continue;
    }
    out.push({ literal: ch });
    i++;
  }
  return out;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const TOKEN_PATTERN: Record<string, string> = {
  yyyy: '(\\d{4})',
  yy: '(\\d{2})',
  MMMM: '([A-Za-z]+)',
  MMM: '([A-Za-z]{3})',
  MM: '(\\d{2})',
  M: '(\\d{1,2})',
  dd: '(\\d{2})',
  d: '(\\d{1,2})',
  HH: '(\\d{2})',
  H: '(\\d{1,2})',
  hh: '(\\d{2})',
  h: '(\\d{1,2})',
  mm: '(\\d{2})',
  m: '(\\d{1,2})',
  ss: '(\\d{2})',
  s: '(\\d{1,2})',
  fff: '(\\d{3})',
  ff: '(\\d{2})',
  f: '(\\d)',
  tt: '(AM|PM)',
  zzz: '(Z|[+-]\\d{2}:?\\d{2})',
};

function monthOf(name: string): number {
  const lower = name.toLowerCase();
  const i = MONTHS.findIndex((m) => (name.length === 3 ? m.slice(0, 3) : m).toLowerCase() === lower);
  return i + 1;
}

function setField(f: Fields, token: string, text: string): void {
  switch (token) {
    case 'yyyy':
      f.year = Number(text);
      break;
    case 'yy': {
      // Two-digit years: 00-49 are 2000-2049, 50-99 are 1950-1999.
      const y = Number(text);
      f.year = y < 50 ? 2000 + y : 1900 + y;
      break;
    }
    case 'MMMM':
    case 'MMM':
      f.month = monthOf(text);
      break;
    case 'MM':
    case 'M':
      f.month = Number(text);
      break;
    case 'dd':
    case 'd':
      f.day = Number(text);
      break;
    case 'tt':
      f.pm = text.toUpperCase() === 'PM';
      break;
    case 'zzz':
      f.offset = readOffset(text);
      break;
    case 'fff':
    case 'ff':
    case 'f':
      f.ms = Number(text.padEnd(3, '0'));
      break;
    default:
      f.hasTime = true;
      if (token[0] === 'H' || token[0] === 'h') f.hour = Number(text);
      else if (token[0] === 'm') f.minute = Number(text);
      else f.second = Number(text);
  }
}

function formatToken(token: string, d: Date, offset: number): string {
  switch (token) {
    case 'yyyy':
      return pad(d.getUTCFullYear(), 4);
    case 'yy':
      return pad(d.getUTCFullYear() % 100);
    case 'MMMM':
      return MONTHS[d.getUTCMonth()]!;
    case 'MMM':
      return MONTHS[d.getUTCMonth()]!.slice(0, 3);
    case 'MM':
      return pad(d.getUTCMonth() + 1);
    case 'M':
      return String(d.getUTCMonth() + 1);
    case 'dd':
      return pad(d.getUTCDate());
    case 'd':
      return String(d.getUTCDate());
    case 'HH':
      return pad(d.getUTCHours());
    case 'H':
      return String(d.getUTCHours());
    case 'hh':
      return pad(d.getUTCHours() % 12 || 12);
    case 'h':
      return String(d.getUTCHours() % 12 || 12);
    case 'mm':
      return pad(d.getUTCMinutes());
    case 'm':
      return String(d.getUTCMinutes());
    case 'ss':
      return pad(d.getUTCSeconds());
    case 's':
      return String(d.getUTCSeconds());
    case 'fff':
      return pad(d.getUTCMilliseconds(), 3);
    case 'ff':
      return pad(d.getUTCMilliseconds(), 3).slice(0, 2);
    case 'f':
      return pad(d.getUTCMilliseconds(), 3).slice(0, 1);
    case 'tt':
      return d.getUTCHours() < 12 ? 'AM' : 'PM';
    default:
      return offsetText(offset);
  }
}

/** A named format or a pattern; throws with what is wrong in a pattern. */
export function compileDateFormat(spec: string): DateFormat {
  const named = NAMED[spec.toLowerCase()];
  if (named) return named;
  const parts = pieces(spec);
  if (!parts.some((p) => 'token' in p)) throw new Error(`"${spec}" has no date in it (yyyy, MM, dd...; or a named format: ${NAMED_FORMATS.join(', ')})`);
  const tokens = parts.flatMap((p) => ('token' in p ? [p.token] : []));
  const re = new RegExp(`^${parts.map((p) => ('token' in p ? TOKEN_PATTERN[p.token] : escape(p.literal))).join('')}$`, 'i');
  return {
    parse(text, zone) {
      const m = re.exec(text.trim());
      if (!m) return null;
      const f = fresh();
      tokens.forEach((token, i) => setField(f, token, m[i + 1]!));
      if (f.month === 0) return null;
      return instantOfFields(f, zone);
    },
    format(date, zone) {
      const wall = wallOf(date.instant, zone);
      if (!wall) return null;
      const { d, offset } = wall;
      let out = '';
      for (const p of parts) out += 'token' in p ? formatToken(p.token, d, offset) : p.literal;
      return out;
    },
  };
}

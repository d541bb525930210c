/**
 * Dates: FormatDateTime reads a date in one format and writes it in another, with time zones;
 * DateAdd and DateDiff work on ISO 8601 dates (what FormatDateTime writes with "iso" or "date").
 * A date that does not read gives null: an empty attribute, never a wrong one. A present text that
 * does not read is also noted as unreadable (BuildContext), so a
 * scope condition does not take it for an absent date.
 */
import { compileDateFormat, formatIso, parseIso, type ParsedDate } from './date-format.js';
import { defineFunctions, type Arg, type BuildContext } from './function-spec.js';
import { UTC, zoneOf, type Zone } from './time-zone.js';
import { memoize, type Evaluator } from './values.js';

type Text = Evaluator<string | null>;

/** A literal format, compiled at load (its mistakes are config errors at its column). */
function format(arg: Arg, context: BuildContext) {
  try {
    return compileDateFormat(String(arg.value ?? ''));
  } catch (error) {
    return context.fail((error as Error).message, arg.at);
  }
}

/** A zone argument: a literal one is checked at load; one read per person that is unknown gives null. */
function zone(arg: Arg | undefined, context: BuildContext, fallback: Evaluator<Zone | null>): Evaluator<Zone | null> {
  if (!arg) return fallback;
  if (arg.constant) {
    const name = arg.value as string | null;
    if (!name) return fallback;
    const z = zoneOf(name);
    if (!z) context.fail(`unknown time zone "${name}" (an IANA name such as Europe/Berlin, UTC, or an offset such as +05:30)`, arg.at);
    return () => z;
  }
  const e = arg.eval as Text;
  return (a) => {
    const name = e(a);
    if (!name) return fallback(a);
    const z = zoneOf(name);
    if (!z) context.unreadable(name, 'a time zone');
    return z;
  };
}

const INTERVALS = ['yyyy', 'q', 'm', 'ww', 'd', 'h', 'n', 's'] as const;
type Interval = (typeof INTERVALS)[number];
const MS: Partial<Record<Interval, number>> = { ww: 7 * 86_400_000, d: 86_400_000, h: 3_600_000, n: 60_000, s: 1000 };

function interval(arg: Arg, context: BuildContext): Interval {
  const name = String(arg.value ?? '').toLowerCase();
  if (!(INTERVALS as readonly string[]).includes(name)) {
    context.fail(`unknown interval "${String(arg.value)}" (yyyy years, q quarters, m months, ww weeks, d days, h hours, n minutes, s seconds)`, arg.at);
  }
  return name as Interval;
}

const monthsOf: Partial<Record<Interval, number>> = { yyyy: 12, q: 3, m: 1 };

function add(date: ParsedDate, unit: Interval, n: number): ParsedDate {
  const months = monthsOf[unit];
  if (months === undefined) return { instant: date.instant + n * MS[unit]!, dateOnly: date.dateOnly && (unit === 'd' || unit === 'ww') };
  // Calendar months; a day the target month lacks becomes its last (31 January + 1 month = 28 or 29 February).
  const d = new Date(date.instant);
  const target = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n * months, 1, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()));
  const last = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(d.getUTCDate(), last));
  return { instant: target.getTime(), dateOnly: date.dateOnly };
}

/** Boundaries of the unit crossed from `a` to `b` (UTC): from 23:00 to 01:00 the next day is 1 day. */
function diff(a: number, b: number, unit: Interval): number {
  const x = new Date(a);
  const y = new Date(b);
  const months = monthsOf[unit];
  if (months !== undefined) {
    const m = (y.getUTCFullYear() - x.getUTCFullYear()) * 12 + (y.getUTCMonth() - x.getUTCMonth());
    if (unit === 'm') return m;
    if (unit === 'yyyy') return y.getUTCFullYear() - x.getUTCFullYear();
    return Math.floor((y.getUTCFullYear() * 12 + y.getUTCMonth()) / 3) - Math.floor((x.getUTCFullYear() * 12 + x.getUTCMonth()) / 3);
  }
  const size = unit === 'ww' ? MS.d! : MS[unit]!;
  const crossed = Math.floor(b / size) - Math.floor(a / size);
  return unit === 'ww' ? Math.trunc(crossed / 7) : crossed;
}

/** An ISO date read once per distinct text; a present text that does not read is noted per person. */
function isoReader(context: BuildContext): (text: string | null) => ParsedDate | null {
  const read = memoize((v) => parseIso(v));
  return (text) => {
    if (!text) return null;
    const parsed = read(text);
    if (!parsed) context.unreadable(text, 'an ISO date (yyyy-MM-dd)');
    return parsed;
  };
}

/** Null when the date was moved past what a Date holds (formatIso says so). */
const write = (date: ParsedDate) => (date.dateOnly ? (formatIso(date)?.slice(0, 10) ?? null) : formatIso(date));

export const DATE_FUNCTIONS = defineFunctions(
  {
    name: 'FormatDateTime',
    notesUnreadable: true,
    params: [
      { name: 'date', kind: 'text' },
      { name: 'inputFormat', kind: 'text', constant: true },
      { name: 'outputFormat', kind: 'text', constant: true },
      { name: 'timeZone', kind: 'text', optional: true },
      { name: 'outputTimeZone', kind: 'text', optional: true },
    ],
    returns: () => 'text',
    // A time written without an offset is read in timeZone (default UTC); the result is written in outputTimeZone (default timeZone).
    build: ([value, input, output, tz, outTz], context) => {
      const from = format(input!, context);
      const to = format(output!, context);
      const readIn = zone(tz, context, () => UTC);
      const writeIn = zone(outTz, context, readIn);
      const e = value!.eval as Text;
      const what = `a date in the format "${String(input!.value)}"`;
      const noted = (v: string, result: string | null) => {
        if (result === null) context.unreadable(v, what);
        return result;
      };
      const convert = (v: string, z: Zone, out: Zone) => {
        const date = from.parse(v, z);
        return date ? to.format(date, out) : null;
      };
      const fixedZones = (!tz || tz.constant) && (!outTz || outTz.constant);
      if (fixedZones) {
        const z = readIn({});
        const out = writeIn({});
        const once = memoize((v) => convert(v, z!, out!));
        return (a) => {
          const v = e(a);
          return v ? noted(v, once(v)) : null;
        };
      }
      const once = memoize((key) => {
        const [zone, outZone, v] = key.split('\u0000') as [string, string, string];
        return convert(v, zoneOf(zone)!, zoneOf(outZone)!);
      });
      return (a) => {
        const v = e(a);
        if (!v) return null;
        const z = readIn(a);
        const out = writeIn(a);
        if (!z || !out) return null;
        return noted(v, once(`${z.name}\u0000${out.name}\u0000${v}`));
      };
    },
  },
  {
    name: 'DateAdd',
    notesUnreadable: true,
    params: [{ name: 'interval', kind: 'text', constant: true }, { name: 'count', kind: 'number' }, { name: 'date', kind: 'text' }],
    returns: () => 'text',
    // The date moved by count intervals (negative: back). A date alone stays a date when moved by days, weeks, months, quarters or years.
    build: ([unit, n, date], context) => {
      const u = interval(unit!, context);
      const count = n!.eval as Evaluator<number | null>;
      const e = date!.eval as Text;
      const read = isoReader(context);
      return (a) => {
        const v = e(a);
        const k = count(a);
        const parsed = read(v);
        return parsed && k !== null ? write(add(parsed, u, Math.trunc(k))) : null;
      };
    },
  },
  {
    name: 'DateDiff',
    notesUnreadable: true,
    params: [{ name: 'interval', kind: 'text', constant: true }, { name: 'from', kind: 'text' }, { name: 'to', kind: 'text' }],
    returns: () => 'number',
    // How many interval boundaries lie between the two (UTC), negative when `to` is earlier.
    build: ([unit, from, to], context) => {
      const u = interval(unit!, context);
      const f = from!.eval as Text;
      const t = to!.eval as Text;
      const read = isoReader(context);
      return (a) => {
        // Both read, so that each unreadable one is noted.
        const px = read(f(a));
        const py = read(t(a));
        return px && py ? diff(px.instant, py.instant, u) : null;
      };
    },
  },
  {
    name: 'Now',
    params: [],
    returns: () => 'text',
    // The time the plan is made (one instant for the whole plan), in ISO 8601 UTC.
    build: (_, context) => {
      const now = formatIso({ instant: context.now.getTime(), dateOnly: false });
      return () => now;
    },
  },
);

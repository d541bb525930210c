/**
 * GeneralizedTime (RFC 4517 3.3.13), as modifyTimestamp, createTimestamp and the accesslog's
 * reqStart carry it, and the first part of an OpenLDAP entryCSN: read to whole seconds since the
 * epoch (the fraction is dropped: positions are compared in whole seconds and a pass asks with >=),
 * and written back in the one form every server accepts in a filter, YYYYMMDDHHMMSSZ.
 */

const FORM = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{2})?(?:[.,]\d+)?(Z|[+-]\d{2}(?:\d{2})?)/;

/** Whole seconds since the epoch (UTC), or null when the text does not start with a GeneralizedTime. */
export function parseGeneralizedTime(text: string): number | null {
  const m = FORM.exec(text.trim());
  if (!m) return null;
  const [, year, month, day, hour, minute = '00', second = '00', zone] = m;
  let seconds = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)) / 1000;
  if (!Number.isFinite(seconds)) return null;
  if (zone !== 'Z') {
    const sign = zone!.startsWith('-') ? -1 : 1;
    const offset = Number(zone!.slice(1, 3)) * 3600 + Number(zone!.slice(3, 5) || '0') * 60;
    // 12:00+0200 is 10:00Z.
    seconds -= sign * offset;
  }
  return seconds;
}

/** YYYYMMDDHHMMSSZ for whole seconds since the epoch. */
export function formatGeneralizedTime(seconds: number): string {
  const d = new Date(Math.max(0, seconds) * 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${String(d.getUTCFullYear()).padStart(4, '0')}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`;
}

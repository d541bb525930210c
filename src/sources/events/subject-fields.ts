/**
 * Reading a key and an effective date out of a parsed payload by a configured path (`id`,
 * `data.employeeId`, BambooHR's `Employee #`). Pure.
 */
import { EventPayloadError, type EventKind, type InboundEvent } from './inbound-event.js';

export type Json = unknown;

export function isObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The value at `path` in `record`: a property named exactly `path` first (field names may hold
 * dots), else the dotted walk. Undefined when absent.
 */
export function lookup(record: Json, path: string): Json | undefined {
  if (!isObject(record)) return undefined;
  if (Object.hasOwn(record, path)) return record[path];
  let at: Json = record;
  for (const segment of path.split('.')) {
    if (!isObject(at) || !Object.hasOwn(at, segment)) return undefined;
    at = at[segment];
  }
  return at;
}

/** Longest key we take; a source key is an employee number or id, never near this. */
const MAX_KEY_LENGTH = 256;
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** A key value as the source would hold it: a non-empty string, or an integer written in decimal. */
export function keyValue(value: Json | undefined, field: string, where: string): string {
  if (value === undefined || value === null || value === '') throw new EventPayloadError(`${where}: no person key at "${field}" (set keyField to where the payload names the source key)`);
  let key: string;
  if (typeof value === 'string') key = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) key = String(value);
  else throw new EventPayloadError(`${where}: the person key at "${field}" is not a string or an integer`);
  if (key.trim() === '' || key.length > MAX_KEY_LENGTH || CONTROL.test(key)) {
    throw new EventPayloadError(`${where}: the person key at "${field}" is empty, longer than ${MAX_KEY_LENGTH} characters or holds a control character`);
  }
  return key;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * An ISO 8601 date or date-time, as HR systems write them: `2026-03-31` (00:00 UTC that day),
 * `2026-03-31T17:00:00Z`, `2026-01-31T18:42:00+0000` (BambooHR), `2024-12-26T11:29:14.399997`
 * (HiBob: no zone, read as UTC). Undefined for an absent or empty value.
 */
export function effectiveDate(value: Json | undefined, field: string, where: string): Date | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const bad = () => new EventPayloadError(`${where}: the effective date at "${field}" is not an ISO 8601 date or date-time`);
  if (typeof value !== 'string') throw bad();
  const d = DATE.exec(value);
  const t = d ? null : DATE_TIME.exec(value);
  const m = d ?? t;
  if (!m) throw bad();
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hour, minute, second] = t ? [Number(t[4]), Number(t[5]), Number(t[6] ?? 0)] : [0, 0, 0];
  const millis = t?.[7] ? Math.floor(Number(t[7]) * 1000) : 0;
  let ms = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const probe = new Date(ms);
  // Date.UTC rolls 2026-02-30 into March: a date that does not exist is refused, not moved.
  if (probe.getUTCFullYear() !== year || probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) throw bad();
  const zone = t?.[8];
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offset = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2));
    if (Number(digits.slice(2)) > 59) throw bad();
    ms -= sign * offset * 60_000;
  }
  return new Date(ms);
}

/** The event of one subject record: its key at `keyField`, its effective date at `dateField` if set. */
export function subjectEvent(
  subject: Json,
  fields: { readonly keyField: string; readonly dateField: string | undefined; readonly where: string },
  event: { readonly id: string; readonly kind: EventKind; readonly type: string },
): InboundEvent {
  const { keyField, dateField, where } = fields;
  const effectiveAt = dateField ? effectiveDate(lookup(subject, dateField), dateField, where) : undefined;
  return { ...event, keys: [keyValue(lookup(subject, keyField), keyField, where)], ...(effectiveAt ? { effectiveAt } : {}) };
}

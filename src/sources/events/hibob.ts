/**
 * HiBob (Bob) webhook payloads, apidocs.hibob.com: v2 `{ "companyId", "type", "triggeredBy",
 * "triggeredAt", "version": "v2", "data": { "employeeId", ... } }`; legacy v1 also has
 * `"employee": { "id", ... }`. No delivery id: it is derived from the body. The subject record is
 * `data` (plus `employee` for v1), so the default key is `employeeId`. Lifecycle events
 * (employee.left, employee.inactivated...) are sent when they take effect; table entry events carry
 * the row's `effectiveDate`, which may be in the future (a termination entered ahead), and is kept.
 * Pure.
 */
import { FORMAT_DEFAULTS } from '../../config/schema/index.js';
import type { EndpointSettings } from './endpoint-settings.js';
import { bodyId } from './event-ids.js';
import { EventPayloadError, type EventKind, type InboundEvent } from './inbound-event.js';
import { isObject, subjectEvent, type Json } from './subject-fields.js';

const KINDS: Record<string, EventKind> = {
  'employee.created': 'created',
  'employee.deleted': 'deleted',
  'employee.left': 'terminated',
};

/**
 * Largest body read as a possible connection test: `{"text":"Ping test"}` with room for white
 * space. An unsigned body longer is no ping, and is neither parsed nor (by the server) read whole.
 */
export const HIBOB_PING_MAX_BYTES = 256;

/**
 * Bob's connection test: "Ping test" as a string, or `{"text":"Ping test"}`. It must be answered
 * 2xx for the webhook to be set up, and Bob's documentation does not say it is signed.
 */
export function isHiBobPing(rawBody: Buffer): boolean {
  if (rawBody.length > HIBOB_PING_MAX_BYTES) return false;
  const text = rawBody.toString('utf8').trim();
  if (text === 'Ping test' || text === '"Ping test"') return true;
  try {
    const doc: unknown = JSON.parse(text);
    return isObject(doc) && Object.keys(doc).length === 1 && doc['text'] === 'Ping test';
  } catch {
    return false;
  }
}

export function parseHiBob(doc: Json, rawBody: Buffer, settings: EndpointSettings): InboundEvent[] {
  const keyField = settings.keyField ?? FORMAT_DEFAULTS.hibob.keyField;
  if (!isObject(doc) || typeof doc['type'] !== 'string') throw new EventPayloadError('not a HiBob webhook payload: expected an object with "type" and "data"');
  const type = doc['type'];
  const data = isObject(doc['data']) ? doc['data'] : {};
  const employee = doc['employee'];
  const subject: Record<string, Json> = { ...data };
  if (isObject(employee)) {
    subject['employee'] = employee;
    subject['employeeId'] ??= employee['id'];
  }
  return [subjectEvent(subject, { keyField, dateField: settings.effectiveAtField, where: 'data' }, { id: bodyId('hibob', rawBody), kind: KINDS[type] ?? 'changed', type })];
}

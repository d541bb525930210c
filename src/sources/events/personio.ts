/**
 * Personio webhook payloads (API v2, developer.personio.de/v2.0/reference/webhooks): `{ "company_id",
 * "event_name", "occurred_at", "payload": {...}, "meta": {...} }`, "dataless" (the payload names what
 * changed, not its values). No delivery id: it is derived from the body. The subject record is
 * `payload`: person.* events name the person by `id`; for employment.* events the default is
 * `person.id` (the employment's person), since Personio's published pages show the envelope but not
 * each event's payload: check a delivery and set keyField if it differs. employment.started and
 * employment.terminated are sent on the day they take effect. Pure.
 */
import type { EndpointSettings } from './endpoint-settings.js';
import { bodyId } from './event-ids.js';
import { EventPayloadError, type EventKind, type InboundEvent } from './inbound-event.js';
import { isObject, subjectEvent, type Json } from './subject-fields.js';

const KINDS: Record<string, EventKind> = {
  'person.created': 'created',
  'person.deleted': 'deleted',
  'employment.terminated': 'terminated',
};

export function parsePersonio(doc: Json, rawBody: Buffer, settings: EndpointSettings): InboundEvent[] {
  if (!isObject(doc) || typeof doc['event_name'] !== 'string' || !isObject(doc['payload'])) {
    throw new EventPayloadError('not a Personio webhook payload: expected an object with "event_name" and "payload"');
  }
  const type = doc['event_name'];
  const payload = doc['payload'];
  const keyField = settings.keyField ?? (type.startsWith('person.') ? 'id' : 'person.id');
  return [subjectEvent(payload, { keyField, dateField: settings.effectiveAtField, where: 'payload' }, { id: bodyId('personio', rawBody), kind: KINDS[type] ?? 'changed', type })];
}

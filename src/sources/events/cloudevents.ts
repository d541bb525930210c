/**
 * Our generic format: CloudEvents 1.0 in structured JSON mode (one event) or the JSON batch format
 * (an array of events), for HR systems we have no adapter for and for relays. Each event needs
 * `specversion` 1.x, `id`, `source` and `type`; `source` with `id` is its delivery id (CloudEvents
 * makes the pair unique). The key is `subject` by default, or any path (`data.employeeId`); a future
 * change carries `data.effectiveAt`. The type's last segment says what happened, e.g.
 * `com.example.hr.employee.terminated`: created, hired (created); terminated, left (terminated);
 * deleted (deleted); anything else (changed). Signed with scheme scim-sync. Pure.
 */
import { FORMAT_DEFAULTS } from '../../config/schema/index.js';
import type { EndpointSettings } from './endpoint-settings.js';
import { boundedId } from './event-ids.js';
import { EventPayloadError, type EventKind, type InboundEvent, type ParsedDelivery } from './inbound-event.js';
import { isObject, lookup, subjectEvent, type Json } from './subject-fields.js';

const KINDS: Record<string, EventKind> = {
  created: 'created',
  hired: 'created',
  terminated: 'terminated',
  left: 'terminated',
  deleted: 'deleted',
};

function kindOf(type: string): EventKind {
  const last = type.split('.').pop() ?? '';
  return KINDS[last.toLowerCase()] ?? 'changed';
}

function requiredString(event: Record<string, Json>, name: string, where: string): string {
  const v = event[name];
  if (typeof v !== 'string' || v === '') throw new EventPayloadError(`${where}: "${name}" is missing or not a non-empty string (CloudEvents requires it)`);
  return v;
}

/**
 * A batch's event that names no one at the key (a relay passing on an event about something other
 * than a person) is skipped and said so, not the whole delivery refused: a 400 would lose the
 * batch's other changes, the sender's retries meeting the same 400. A batch that names no one at
 * all, or a single such event, is refused: a keyField set wrong must be loud.
 */
export function parseCloudEvents(doc: Json, settings: EndpointSettings): ParsedDelivery {
  const keyField = settings.keyField ?? FORMAT_DEFAULTS.cloudevents.keyField;
  const dateField = settings.effectiveAtField;
  const batch = Array.isArray(doc);
  const list = batch ? doc : [doc];
  const events: InboundEvent[] = [];
  const skipped: string[] = [];
  list.forEach((event, i) => {
    const where = batch ? `event ${i + 1} of ${list.length}` : 'event';
    if (!isObject(event)) throw new EventPayloadError(`${where}: not a CloudEvents JSON object`);
    const version = requiredString(event, 'specversion', where);
    if (!/^1(\.|$)/.test(version)) throw new EventPayloadError(`${where}: specversion must be 1.x`);
    const id = requiredString(event, 'id', where);
    const source = requiredString(event, 'source', where);
    const type = requiredString(event, 'type', where);
    const key = lookup(event, keyField);
    if (batch && (key === undefined || key === null || key === '')) {
      // Quoted in logs: the type only as a word, never whatever a sender put there.
      skipped.push(`${where} (${/^[A-Za-z0-9_.-]{1,100}$/.test(type) ? type : 'its type'}): nothing at "${keyField}"`);
      return;
    }
    events.push(subjectEvent(event, { keyField, dateField, where }, { id: boundedId(`${source} ${id}`), kind: kindOf(type), type }));
  });
  if (events.length === 0 && skipped.length > 0) {
    throw new EventPayloadError(`no event of the batch names a person: ${skipped.join('; ')} (set keyField to where the payload names the source key)`);
  }
  return { events, skipped };
}

/**
 * BambooHR webhook payloads (JSON; the form-post encoding is not read: choose JSON in the webhook's
 * settings). Two shapes, both documented at documentation.bamboohr.com/docs/webhooks:
 * - field-based (global webhooks, `employee_with_fields.*`): `{ "employees": [ { "id", "action":
 *   "Created" | "Updated" | "Deleted", "timestamp", "changedFields": [...], "fields": {...} } ] }`,
 *   several employees in one delivery;
 * - event-based (`employee.created|updated|deleted`): `{ "type", "timestamp", "data": { "companyId",
 *   "employeeId", "changedFields" } }`, one employee.
 * Neither carries a delivery id: it is derived from the body. The key is `id` (BambooHR's employee
 * id) by default, or a posted field by the name the webhook posts it under (`Employee #`); an
 * employee posted without fields (BambooHR sends none with Created and Deleted) cannot be named by
 * one and is left to the next full cycle, not allowed to fail the rest of the batch.
 * BambooHR sends history-tracked changes when they take effect, so an effective date is only read
 * when `effectiveAtField` names a posted field (e.g. a termination date). Pure.
 */
import { FORMAT_DEFAULTS } from '../../config/schema/index.js';
import type { EndpointSettings } from './endpoint-settings.js';
import { bodyId } from './event-ids.js';
import { EventPayloadError, type EventKind, type InboundEvent, type ParsedDelivery } from './inbound-event.js';
import { effectiveDate, isObject, keyValue, lookup, subjectEvent, type Json } from './subject-fields.js';

const KINDS: Record<string, EventKind> = {
  created: 'created',
  updated: 'changed',
  deleted: 'deleted',
  'employee.created': 'created',
  'employee.updated': 'changed',
  'employee.deleted': 'deleted',
  'employee_with_fields.created': 'created',
  'employee_with_fields.updated': 'changed',
  'employee_with_fields.deleted': 'deleted',
};

const kindOf = (type: string): EventKind => KINDS[type.toLowerCase()] ?? 'changed';

/** A field-based item's value: a property of the item itself (id, action), else a posted field. */
function itemValue(item: Record<string, Json>, path: string): Json | undefined {
  return lookup(item, path) ?? lookup(item['fields'], path);
}

interface Named {
  key: string;
  kind: EventKind;
  type: string;
  effectiveAt?: Date;
}

/** One event per (kind, effective date), in the order first seen: a batch may mix leavers and changes. */
function group(id: string, named: Named[]): InboundEvent[] {
  const groups = new Map<string, { keys: Set<string>; first: Named }>();
  for (const n of named) {
    const g = `${n.kind} ${n.effectiveAt?.toISOString() ?? ''}`;
    const found = groups.get(g);
    if (found) found.keys.add(n.key);
    else groups.set(g, { keys: new Set([n.key]), first: n });
  }
  return [...groups.values()].map(({ keys, first }) => ({
    id,
    keys: [...keys],
    kind: first.kind,
    type: first.type,
    ...(first.effectiveAt ? { effectiveAt: first.effectiveAt } : {}),
  }));
}

/** BambooHR posts no fields with Created and Deleted: such an item cannot be named by a posted field. */
function fieldless(item: Record<string, Json>): boolean {
  const fields = item['fields'];
  return !isObject(fields) || Object.keys(fields).length === 0;
}

export function parseBambooHr(doc: Json, rawBody: Buffer, settings: EndpointSettings): ParsedDelivery {
  const keyField = settings.keyField ?? FORMAT_DEFAULTS.bamboohr.keyField;
  const dateField = settings.effectiveAtField;
  const id = bodyId('bamboohr', rawBody);
  if (!isObject(doc)) throw new EventPayloadError('not a BambooHR webhook payload: expected a JSON object');

  const employees = doc['employees'];
  if (employees !== undefined) {
    if (!Array.isArray(employees) && !isObject(employees)) throw new EventPayloadError('not a BambooHR webhook payload: "employees" is not a list');
    // An array in the documented JSON; an object keyed by employee id in older posts.
    const items: [string, Json][] = Array.isArray(employees)
      ? employees.map((e, i) => [`employees[${i}]`, e])
      : Object.entries(employees).map(([k, e], i) => [`employees (entry ${i + 1})`, isObject(e) && e['id'] === undefined ? { ...e, id: k } : e]);
    const named: Named[] = [];
    const skipped: string[] = [];
    for (const [where, item] of items) {
      if (!isObject(item)) throw new EventPayloadError(`${where}: not an object`);
      // Quoted in logs: only a word, never whatever a sender put there.
      const action = typeof item['action'] === 'string' && /^[A-Za-z_.]{1,40}$/.test(item['action']) ? item['action'] : 'Updated';
      const value = itemValue(item, keyField);
      // The whole delivery is not refused for what BambooHR never sends: the next full cycle finds that person.
      if ((value === undefined || value === '') && fieldless(item)) {
        skipped.push(`${where} (${action}): BambooHR posts no fields with it, so nothing at "${keyField}"`);
        continue;
      }
      const effectiveAt = dateField ? effectiveDate(itemValue(item, dateField), dateField, where) : undefined;
      named.push({ key: keyValue(value, keyField, where), kind: kindOf(action), type: action, ...(effectiveAt ? { effectiveAt } : {}) });
    }
    return { events: group(id, named), skipped };
  }

  const type = doc['type'];
  const data = doc['data'];
  if (typeof type === 'string' && isObject(data)) {
    // `id` names the employee here too, so one keyField fits both shapes.
    const subject = { id: data['employeeId'], ...data };
    return { events: [subjectEvent(subject, { keyField, dateField, where: 'data' }, { id, kind: kindOf(type), type })], skipped: [] };
  }
  throw new EventPayloadError('not a BambooHR webhook payload: expected "employees" (field-based) or "type" and "data" (event-based)');
}

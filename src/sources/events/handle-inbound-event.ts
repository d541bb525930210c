/**
 * One inbound webhook request, from raw bytes to the people to look at: size, signature, payload,
 * deduplication, and the future-dated changes stored. It reads no source and calls no app, so it
 * answers within milliseconds; the service (service/) re-reads each accepted key from the source
 * and plans it like a cycle would. The HTTP server owns the socket: it reads at most
 * MAX_EVENT_BODY_BYTES (413 past it), passes the bytes untouched, and writes back status and body.
 *
 * Answers:
 * - 202 `{ events, keys, scheduled, duplicates }`: accepted; `accepted` holds what to process now,
 *   `scheduled` what was stored in DueChanges for later;
 * - 200 `{ duplicate: true }`: every event in it was seen within `dedupSeconds`; nothing is done;
 * - 200 `{ ok: true }`: HiBob's connection test, or a payload naming nobody; nothing is done;
 * - 400 `{ error }`: not the format's JSON, or no key where keyField says (the message names the
 *   field, never a value);
 * - 401 `{ error: "unauthorized" }`: signature or token missing, wrong or stale; nothing is done,
 *   and the body says no more (`log` says why, for the service's log);
 * - 413: a body over MAX_EVENT_BODY_BYTES (the server should have stopped reading already);
 * - 503 `{ error }`: our state could not record it; nothing is kept, so the sender's retry counts.
 * No answer and no log line holds the secret, a header value or the signature.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { MAX_EVENT_BODY_BYTES } from '../../config/schema/index.js';
import { parseRedacted, redact } from '../../config/secret.js';
import type { JsonObject } from '../../model/scim.js';
import type { DueChanges } from '../../state/due-changes.js';
import type { EventIdStore } from '../../state/event-id-store.js';
import { endpointSettings, type NamedEventEndpoint } from './endpoint-settings.js';
import { HIBOB_PING_MAX_BYTES, isHiBobPing } from './hibob.js';
import { EventPayloadError, type EventKind, type InboundEvent } from './inbound-event.js';
import { parseEvents } from './parse-events.js';
import { headerVerdict, verifySignature } from './verify-signature.js';

export interface InboundRequest {
  /** The body exactly as received: signatures are over these bytes. */
  readonly rawBody: Buffer;
  readonly headers: IncomingHttpHeaders;
}

export interface InboundDeps {
  readonly now: Date;
  readonly ids: EventIdStore;
  /** Where future-dated changes wait; written before the answer, so a 202 never loses one. */
  readonly due: DueChanges;
  /** The endpoint's secret, revealed (`config.events[name].secret.reveal()`). */
  readonly secret: string;
}

export interface AcceptedChange {
  readonly eventId: string;
  readonly keys: readonly string[];
  readonly effectiveAt?: Date;
  readonly kind: EventKind;
}

export interface InboundResult {
  readonly status: number;
  readonly body: JsonObject;
  /** People to re-read and plan now. */
  readonly accepted?: readonly AcceptedChange[];
  /** People stored in DueChanges for a later instant (for the service's wake-up and its log). */
  readonly scheduled?: readonly AcceptedChange[];
  /** One line for the service's log: what happened and, for a refusal, why. Redacted, no header values. */
  readonly log: string;
}

const change = (e: InboundEvent): AcceptedChange => ({ eventId: e.id, keys: e.keys, kind: e.kind, ...(e.effectiveAt ? { effectiveAt: e.effectiveAt } : {}) });

function answer(status: number, body: JsonObject, log: string, more: Partial<InboundResult> = {}): InboundResult {
  return { status, body: parseRedacted(JSON.stringify(body)) as JsonObject, log: redact(log), ...more };
}

/**
 * What a delivery's headers alone decide, before any of its body is read: without the scheme's
 * signature header it is refused at once (401), as no body could pass; HiBob's unsigned connection
 * test aside, whose body is read up to a ping's size (401 past it).
 */
export function inboundIntake(endpoint: NamedEventEndpoint, headers: IncomingHttpHeaders): { refuse: InboundResult } | { read: number; past?: InboundResult } {
  const settings = endpointSettings(endpoint);
  const verdict = headerVerdict(settings.signature, headers);
  if (verdict.ok) return { read: MAX_EVENT_BODY_BYTES };
  const refused = answer(401, { error: 'unauthorized' }, `events.${settings.name}: refused (${verdict.reason})`);
  if (settings.format === 'hibob') return { read: HIBOB_PING_MAX_BYTES, past: answer(401, { error: 'unauthorized' }, `events.${settings.name}: refused (${verdict.reason}; no connection test: over ${HIBOB_PING_MAX_BYTES} bytes)`) };
  return { refuse: refused };
}

export async function handleInboundEvent(endpoint: NamedEventEndpoint, request: InboundRequest, deps: InboundDeps): Promise<InboundResult> {
  const settings = endpointSettings(endpoint);
  const at = `events.${settings.name}`;
  if (request.rawBody.length > MAX_EVENT_BODY_BYTES) {
    return answer(413, { error: `body larger than ${MAX_EVENT_BODY_BYTES} bytes` }, `${at}: refused a body of ${request.rawBody.length} bytes`);
  }
  // Does nothing, so it needs no proof: Bob sends it unsigned as far as its documentation says.
  if (settings.format === 'hibob' && isHiBobPing(request.rawBody)) return answer(200, { ok: true }, `${at}: HiBob connection test answered`);

  const verdict = verifySignature(settings.signature, request.rawBody, request.headers, deps.secret, deps.now);
  if (!verdict.ok) return answer(401, { error: 'unauthorized' }, `${at}: refused (${verdict.reason})`);

  let events: readonly InboundEvent[];
  let skipped: readonly string[];
  try {
    ({ events, skipped } = parseEvents(request.rawBody, settings));
  } catch (error) {
    if (!(error instanceof EventPayloadError)) throw error;
    return answer(400, { error: error.message }, `${at}: bad payload: ${error.message}`);
  }
  const notes = skipped.length > 0 ? `; not named: ${skipped.join('; ')}` : '';
  if (events.length === 0) return answer(200, { ok: true }, `${at}: the payload names nobody${notes}`);

  // One look-up per delivery id: a batch split by kind or date shares one.
  const ids = [...new Set(events.map((e) => e.id))];
  const fresh = new Set<string>();
  try {
    for (const id of ids) if (!(await deps.ids.seen(settings.name, id, settings.dedupMs))) fresh.add(id);
  } catch (error) {
    await forget(deps.ids, settings.name, fresh);
    return answer(503, { error: 'the event could not be recorded; retry later' }, `${at}: cannot record event ids: ${(error as Error).message}`);
  }
  if (fresh.size === 0) return answer(200, { duplicate: true }, `${at}: duplicate of ${ids.length} event(s) seen before; nothing done`);

  const taken = events.filter((e) => fresh.has(e.id));
  const isLater = (e: (typeof taken)[number]): boolean => !!e.effectiveAt && e.effectiveAt.getTime() > deps.now.getTime();
  const later = taken.filter(isLater);
  // By the same test, not by searching `later` (quadratic in a body of thousands of events).
  const current = taken.filter((e) => !isLater(e));
  try {
    await deps.due.add(later.flatMap((e) => e.keys.map((key) => ({ endpoint: settings.name, eventId: e.id, key, effectiveAt: e.effectiveAt! }))));
  } catch (error) {
    // Nothing kept: the ids are forgotten so the sender's retry is processed, not called a duplicate.
    await forget(deps.ids, settings.name, fresh);
    return answer(503, { error: 'the event could not be recorded; retry later' }, `${at}: cannot store future-dated changes: ${(error as Error).message}`);
  }
  const keys = new Set(taken.flatMap((e) => e.keys)).size;
  const duplicates = ids.length - fresh.size;
  return answer(
    202,
    { events: fresh.size, keys, scheduled: later.reduce((n, e) => n + e.keys.length, 0), duplicates },
    `${at}: accepted ${fresh.size} event(s) naming ${keys} person(s)` +
      (later.length > 0 ? `, ${later.length} taking effect later (first ${later.map((e) => e.effectiveAt!.toISOString()).sort()[0]})` : '') +
      (duplicates > 0 ? `, ${duplicates} duplicate(s) skipped` : '') +
      notes,
    { accepted: current.map(change), scheduled: later.map(change) },
  );
}

async function forget(ids: EventIdStore, endpoint: string, recorded: Iterable<string>): Promise<void> {
  for (const id of recorded) await ids.forget(endpoint, id).catch(() => undefined);
}

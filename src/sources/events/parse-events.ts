/** A verified body -> the events it holds, by the endpoint's format. Pure. */
import { parseBambooHr } from './bamboohr.js';
import { parseCloudEvents } from './cloudevents.js';
import type { EndpointSettings } from './endpoint-settings.js';
import { parseHiBob } from './hibob.js';
import { EventPayloadError, type ParsedDelivery } from './inbound-event.js';
import { parsePersonio } from './personio.js';

/** Throws EventPayloadError (its message fit for a 400) when the body is not the format's JSON. */
export function parseEvents(rawBody: Buffer, settings: EndpointSettings): ParsedDelivery {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(rawBody);
  } catch {
    throw new EventPayloadError('the body is not UTF-8 text');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new EventPayloadError('the body is not valid JSON (webhooks must post JSON)');
  }
  switch (settings.format) {
    case 'bamboohr':
      return parseBambooHr(doc, rawBody, settings);
    case 'hibob':
      return { events: parseHiBob(doc, rawBody, settings), skipped: [] };
    case 'personio':
      return { events: parsePersonio(doc, rawBody, settings), skipped: [] };
    case 'cloudevents':
      return parseCloudEvents(doc, settings);
  }
}

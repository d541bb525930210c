/**
 * POST /events/<name> in the service: the events module (sources/events) verifies, reads and
 * deduplicates the delivery and stores future-dated changes before answering; the people to sync
 * now go to the fast lane without waiting for it (the sender gets its 2xx within the second); the
 * due-change timer wakes for the future-dated ones.
 *
 * A delivery naming more people to sync now than serve.maxEventKeys (a bulk import in the HR system,
 * a sender posting its whole directory) is accepted all the same, as one request for all of them:
 * past serve.maxBatch the fast lane hands it to a full reconcile, which lists each target once
 * where the lane would look each person up, and judges such a change as a whole. Refused (4xx), a
 * signed, well-formed delivery would lose its changes until the next cycle, and a sender's retry
 * would be refused again. Not applied everywhere, its people are kept as due changes as any event's.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { EventEndpointConfig } from '../config/schema/index.js';
import { describeError } from '../errors.js';
import type { JsonObject } from '../model/scim.js';
import { handleInboundEvent } from '../sources/events/handle-inbound-event.js';
import type { DueChanges } from '../state/due-changes.js';
import type { EventIdStore } from '../state/event-id-store.js';
import type { DueTimer } from './due-timer.js';
import { notApplied, type FastLane } from './fast-lane.js';
import { RETRY_SUFFIX } from './due-timer.js';
import type { Metrics } from '../telemetry/metrics.js';

export interface InboundEventsDeps {
  endpoints: Readonly<Record<string, EventEndpointConfig>>;
  ids: EventIdStore;
  due: DueChanges;
  fast: FastLane;
  timer: DueTimer;
  /** serve.maxEventKeys: a delivery naming more people to sync now is one request for them all. */
  maxKeys: number;
  /** serve.maxBatch: a request naming more is served by a full reconcile (the fast lane's choice). */
  maxBatch: number;
  metrics: Metrics;
  log(line: string): void;
}

export type EventRoute = (name: string, rawBody: Buffer, headers: IncomingHttpHeaders) => Promise<{ status: number; body: JsonObject } | null>;

export function inboundEvents(deps: InboundEventsDeps): EventRoute {
  return async (name, rawBody, headers) => {
    const endpoint = Object.hasOwn(deps.endpoints, name) ? deps.endpoints[name] : undefined;
    if (!endpoint) return null;
    const received = Date.now();
    const result = await handleInboundEvent({ ...endpoint, name }, { rawBody, headers }, { now: new Date(received), ids: deps.ids, due: deps.due, secret: endpoint.secret.reveal() });
    deps.metrics.events.inc({ endpoint: name, status: String(result.status) });
    deps.log(`event ${name}: ${result.status} ${result.log}`);
    const accepted = result.accepted ?? [];
    const now = new Set(accepted.flatMap((c) => c.keys)).size;
    let bulk: string | undefined;
    // One request per change, or one for the whole delivery when it names too many people.
    let requests = accepted.map((c) => ({ keys: c.keys, eventId: c.eventId }));
    if (now > deps.maxKeys) {
      bulk = `the delivery names ${now} people to sync now, more than serve.maxEventKeys (${deps.maxKeys}): synced as one request${now > deps.maxBatch ? ', by a full reconcile' : ''}`;
      deps.log(`event ${name}: ${bulk}`);
      const ids = [...new Set(accepted.map((c) => c.eventId))];
      requests = [{ keys: [...new Set(accepted.flatMap((c) => c.keys))], eventId: ids.length === 1 ? ids[0]! : `${ids[0]!}+${ids.length - 1}` }];
    }
    for (const change of requests) {
      void deps.fast.sync({ keys: change.keys, initiator: 'event', by: `event ${name} ${change.eventId}` }).then(async (outcome) => {
        if (outcome.report) deps.metrics.propagation.observe((Date.now() - received) / 1000);
        const left = notApplied(outcome);
        if (left === undefined) return;
        const why = left.why;
        const keys = left.keys === 'all' ? change.keys : change.keys.filter((k) => (left.keys as ReadonlySet<string>).has(k));
        if (keys.length === 0) return;
        // The sender was told 202 and its id is seen: a retry would be a duplicate. Kept as a change due
        // now, the due timer tries it again (and after a restart) until it applies. Its own event id:
        // the same delivery may hold a future-dated change for the same person, which must stay dated.
        try {
          await deps.due.add(keys.map((key) => ({ endpoint: name, eventId: `${change.eventId}${RETRY_SUFFIX}`, key, effectiveAt: new Date(received) })));
          deps.log(`event ${name} ${change.eventId}: not applied, kept to try again: ${why}`);
          deps.timer.wake();
        } catch (error) {
          deps.log(`event ${name} ${change.eventId}: not applied, and could not be kept to try again (the next full cycle syncs the person): ${why}; ${describeError(error)}`);
        }
      });
    }
    if (result.scheduled?.length) deps.timer.wake();
    return { status: result.status, body: bulk ? { ...result.body, fullReconcile: bulk } : result.body };
  };
}

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
 *
 * A delivery without its scheme's signature header is refused from its headers (eventIntake), before
 * the server reads its body. Refusals (401) are logged a line for the first of a minute per endpoint,
 * the rest counted in one line at the minute's end: anyone reaching the port can send them.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { EventEndpointConfig } from '../config/schema/index.js';
import { describeError } from '../errors.js';
import type { JsonObject } from '../model/scim.js';
import { handleInboundEvent, inboundIntake, type InboundResult } from '../sources/events/handle-inbound-event.js';
import type { DueChanges } from '../state/due-changes.js';
import type { EventIdStore } from '../state/event-id-store.js';
import type { DueTimer } from './due-timer.js';
import { notApplied, type FastLane } from './fast-lane.js';
import { RETRY_SUFFIX } from './due-timer.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { EventIntake } from './http-server.js';

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
  /** How long refusals are counted into one log line, ms; default a minute. */
  refusalLogMs?: number;
}

export type EventRoute = (name: string, rawBody: Buffer, headers: IncomingHttpHeaders) => Promise<{ status: number; body: JsonObject } | null>;

/**
 * Log lines of refused deliveries, per endpoint: the first of a window in full, the rest counted and
 * said in one line when the window ends, so unsigned requests cannot fill the log (and its disk).
 */
class RefusalLog {
  private readonly windows = new Map<string, { more: number; last: string }>();

  constructor(
    private readonly log: (line: string) => void,
    private readonly windowMs: number,
  ) {}

  refused(endpoint: string, line: string): void {
    const open = this.windows.get(endpoint);
    if (open) {
      open.more++;
      open.last = line;
      return;
    }
    this.log(line);
    this.windows.set(endpoint, { more: 0, last: line });
    setTimeout(() => {
      const { more, last } = this.windows.get(endpoint)!;
      this.windows.delete(endpoint);
      if (more > 0) this.log(`event ${endpoint}: ${more} more deliver${more === 1 ? 'y' : 'ies'} refused (401) in ${Math.round(this.windowMs / 1000)} s; the last: ${last}`);
    }, this.windowMs).unref();
  }
}

export interface InboundEventRoutes {
  event: EventRoute;
  has(name: string): boolean;
  /** What a POST's headers decide before its body is read (http-server.ts EventIntake), for an endpoint that exists. */
  intake(name: string, headers: IncomingHttpHeaders): EventIntake;
}

export function inboundEvents(deps: InboundEventsDeps): InboundEventRoutes {
  const refusals = new RefusalLog(deps.log, deps.refusalLogMs ?? 60_000);
  const endpointOf = (name: string) => (Object.hasOwn(deps.endpoints, name) ? deps.endpoints[name] : undefined);
  /** Counted, and said in the log (a refusal among the others of its window). */
  const answered = (name: string, result: InboundResult) => {
    deps.metrics.events.inc({ endpoint: name, status: String(result.status) });
    const line = `event ${name}: ${result.status} ${result.log}`;
    if (result.status === 401) refusals.refused(name, line);
    else deps.log(line);
    return { status: result.status, body: result.body };
  };
  const intake = (name: string, headers: IncomingHttpHeaders): EventIntake => {
    const endpoint = endpointOf(name);
    if (!endpoint) return { read: 0 };
    const decided = inboundIntake({ ...endpoint, name }, headers);
    if ('refuse' in decided) return { refuse: answered(name, decided.refuse) };
    const past = decided.past;
    return { read: decided.read, ...(past ? { past: () => answered(name, past) } : {}) };
  };
  const event: EventRoute = async (name, rawBody, headers) => {
    const endpoint = endpointOf(name);
    if (!endpoint) return null;
    const received = Date.now();
    const result = await handleInboundEvent({ ...endpoint, name }, { rawBody, headers }, { now: new Date(received), ids: deps.ids, due: deps.due, secret: endpoint.secret.reveal() });
    answered(name, result);
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
  return { event, intake, has: (name) => endpointOf(name) !== undefined };
}

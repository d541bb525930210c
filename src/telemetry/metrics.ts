/**
 * The Prometheus metrics of every command that keeps them (prom-client), one set of names for the
 * whole product: `serve` and `worker`/`schedule` serve them at /metrics, `run --metrics-file` writes
 * them for node_exporter's textfile collector. Names follow Prometheus's conventions: `scimsync_`
 * prefix, `_total` counters, `_seconds` units. Labels are target, queue, feed and endpoint names,
 * HTTP methods and statuses, and fixed words: never a person, never a value from a request.
 *
 * Operations, retries and cycles arrive as SyncEvents (`observe`), requests from the process's
 * request hub (`listenToRequests`), the queues' depth from BullMQ when scraped (`watchQueues`).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { onRequestEnd } from '../targets/http/request-events.js';
import type { SyncEvent, SyncObserver } from './sync-events.js';

/** Request latency buckets, seconds: a SCIM call takes tens of ms to a few s; the timeout caps the rest. */
const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Jobs of one BullMQ queue by state (waiting, active, delayed, failed, ...). */
export interface QueueCounts {
  queue: string;
  counts: Record<string, number>;
}

export interface MetricsOptions {
  /** Node's process metrics (CPU, memory, event loop lag) as scimsync_process_*: for long-running processes. Default true. */
  process?: boolean;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly r = [this.registry];
  readonly operations = new Counter({ name: 'scimsync_operations_total', help: 'Operations applied, by target, kind and outcome (ok, partial, unchanged, skipped, failed).', labelNames: ['target', 'kind', 'outcome'], registers: this.r });
  readonly retries = new Counter({ name: 'scimsync_retries_total', help: 'Operations tried again, by target and reason (rate-limited: the server answered 429; transient: timeout, reset, 5xx).', labelNames: ['target', 'reason'], registers: this.r });
  readonly requests = new Counter({ name: 'scimsync_requests_total', help: 'SCIM requests sent, by target, method and HTTP status (0: no answer).', labelNames: ['target', 'method', 'status'], registers: this.r });
  readonly rateLimited = new Counter({ name: 'scimsync_rate_limited_total', help: 'Requests the target answered with 429 Too Many Requests.', labelNames: ['target'], registers: this.r });
  readonly latency = new Histogram({ name: 'scimsync_request_duration_seconds', help: 'Time from sending a SCIM request to its answer (waits for the rate budget not included), by target and method.', labelNames: ['target', 'method'], buckets: LATENCY_BUCKETS, registers: this.r });
  readonly lastSuccess = new Gauge({ name: 'scimsync_last_successful_cycle_timestamp_seconds', help: 'When the last cycle that read, applied and failed nothing ended for the target (Unix time).', labelNames: ['target'], registers: this.r });
  readonly lastDuration = new Gauge({ name: 'scimsync_last_cycle_duration_seconds', help: "Duration of the target's last cycle, from the source read to its last operation.", labelNames: ['target'], registers: this.r });
  readonly cycles = new Counter({ name: 'scimsync_cycles_total', help: 'Full cycles, by result (applied, stopped, enqueued, quarantined, failed).', labelNames: ['result'], registers: this.r });
  readonly batches = new Counter({ name: 'scimsync_change_batches_total', help: 'Change-driven syncs of the service, by result (applied; incomplete: not everywhere, tried again; stopped; failed).', labelNames: ['result'], registers: this.r });
  readonly people = new Counter({ name: 'scimsync_change_people_total', help: 'People in change-driven batches, by the batch\'s result (applied, incomplete, stopped, failed).', labelNames: ['result'], registers: this.r });
  readonly feedPolls = new Counter({ name: 'scimsync_feed_polls_total', help: 'Change feed polls, by feed and result (changes, none, full, error).', labelNames: ['feed', 'result'], registers: this.r });
  readonly events = new Counter({ name: 'scimsync_inbound_events_total', help: 'Inbound events, by endpoint and HTTP status.', labelNames: ['endpoint', 'status'], registers: this.r });
  readonly propagation = new Histogram({
    name: 'scimsync_change_propagation_seconds',
    help: 'From a change being noticed (feed poll, event received, due time) to its sync applied.',
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
    registers: this.r,
  });
  private queueReaders: (() => Promise<QueueCounts[]>)[] = [];

  constructor(options: MetricsOptions = {}) {
    if (options.process !== false) collectDefaultMetrics({ register: this.registry, prefix: 'scimsync_' });
  }

  /** The SyncObserver that keeps these metrics. */
  readonly observe: SyncObserver = (event: SyncEvent) => {
    switch (event.type) {
      case 'operation':
        this.operations.inc({ target: event.target, kind: event.kind, outcome: event.outcome });
        return;
      case 'retry':
        this.retries.inc({ target: event.target, reason: event.reason });
        return;
      case 'cycle':
        this.lastDuration.set({ target: event.target }, event.seconds);
        if (event.ok) this.lastSuccess.set({ target: event.target }, event.endedAt.getTime() / 1000);
        return;
      default:
        return;
    }
  };

  /** Counts every request this process sends, until the returned function is called. */
  listenToRequests(): () => void {
    return onRequestEnd((e) => {
      this.latency.observe({ target: e.target, method: e.method }, e.seconds);
      this.requests.inc({ target: e.target, method: e.method, status: String(e.status) });
      if (e.status === 429) this.rateLimited.inc({ target: e.target });
    });
  }

  /**
   * The depth of queues, read from BullMQ at each scrape (its own job counts, the figures of
   * `Queue.exportPrometheusMetrics`) as scimsync_queue_jobs{queue,state}: not cached, so a scrape
   * that cannot reach Redis fails rather than show old figures.
   */
  watchQueues(read: () => Promise<QueueCounts[]>): void {
    if (this.queueReaders.length === 0) {
      const readers = this.queueReaders;
      new Gauge({
        name: 'scimsync_queue_jobs',
        help: 'Jobs in each BullMQ queue by state (waiting, active, delayed, prioritized, waiting-children, completed, failed, paused), as BullMQ counts them.',
        labelNames: ['queue', 'state'],
        registers: this.r,
        async collect() {
          this.reset();
          for (const reader of readers) {
            for (const { queue, counts } of await reader()) for (const [state, n] of Object.entries(counts)) this.set({ queue, state }, n);
          }
        },
      });
    }
    this.queueReaders.push(read);
  }

  /** The exposition text (Prometheus's text format) and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

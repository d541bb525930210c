/**
 * The service's Prometheus metrics (prom-client), served at /metrics. Names follow Prometheus's
 * conventions: `scimsync_` prefix, `_total` counters, `_seconds` units. Labels are target, feed
 * and endpoint names and fixed words: never a person, never a value from a request.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { totals, type RunReport } from '../execution/run-report.js';

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly operations = new Counter({ name: 'scimsync_operations_total', help: 'Operations applied, by target, kind and outcome.', labelNames: ['target', 'kind', 'outcome'], registers: [this.registry] });
  readonly cycles = new Counter({ name: 'scimsync_cycles_total', help: 'Full reconcile cycles, by result (applied, stopped, enqueued, quarantined, failed).', labelNames: ['result'], registers: [this.registry] });
  readonly cycleDuration = new Gauge({ name: 'scimsync_last_cycle_duration_seconds', help: 'Duration of the last full cycle.', registers: [this.registry] });
  readonly lastSuccess = new Gauge({ name: 'scimsync_last_successful_cycle_timestamp_seconds', help: 'When the last full cycle that applied without failures ended (Unix time).', registers: [this.registry] });
  readonly batches = new Counter({ name: 'scimsync_change_batches_total', help: 'Change-driven syncs, by result (applied, stopped, failed).', labelNames: ['result'], registers: [this.registry] });
  readonly people = new Counter({ name: 'scimsync_change_people_total', help: 'People synced by change-driven syncs.', registers: [this.registry] });
  readonly feedPolls = new Counter({ name: 'scimsync_feed_polls_total', help: 'Change feed polls, by feed and result (changes, none, full, error).', labelNames: ['feed', 'result'], registers: [this.registry] });
  readonly events = new Counter({ name: 'scimsync_inbound_events_total', help: 'Inbound events, by endpoint and HTTP status.', labelNames: ['endpoint', 'status'], registers: [this.registry] });
  readonly propagation = new Histogram({
    name: 'scimsync_change_propagation_seconds',
    help: 'From a change being noticed (feed poll, event received, due time) to its sync applied.',
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'scimsync_' });
  }

  countReport(report: RunReport): void {
    for (const t of report.targets) {
      for (const [kind, byOutcome] of Object.entries(t.counts)) {
        for (const [outcome, n] of Object.entries(byOutcome ?? {})) if (n) this.operations.inc({ target: t.target, kind, outcome }, n);
      }
    }
  }

  /** Whether a report had no failure: what "successful cycle" means. */
  static clean(report: RunReport): boolean {
    return totals(report).failed === 0 && report.targets.every((t) => !t.stopped && !t.unreadable);
  }
}

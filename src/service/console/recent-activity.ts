/**
 * The last hour of the service, for the overview: inbound events, people synced by change-driven
 * syncs, and the leaver propagation time (p50, p99). The service's Prometheus counters and
 * histogram hold totals since start; samples of them, one a minute for an hour, give the last hour
 * as the difference between now and the sample an hour old (or the first, in a service younger than
 * that). Quantiles come from the histogram's buckets, interpolated as Prometheus's
 * histogram_quantile does, so they are estimates within a bucket.
 */
import type { Registry } from 'prom-client';

/** The metrics read (telemetry/metrics.ts): their names are the service's public interface. */
export const ACTIVITY_METRICS = {
  events: 'scimsync_inbound_events_total',
  people: 'scimsync_change_people_total',
  propagation: 'scimsync_change_propagation_seconds',
} as const;

const HOUR_MS = 3_600_000;

interface Sample {
  at: number;
  events: number;
  people: number;
  /** Cumulative bucket counts by upper bound (Infinity last). */
  buckets: { le: number; count: number }[];
}

export interface Activity {
  /** Start of the window: an hour ago, or when sampling began if later. */
  since: number;
  events: number;
  people: number;
  /** Propagations observed in the window, and their p50 and p99 in seconds (absent when none). */
  propagation: { count: number; p50?: number; p99?: number };
}

/**
 * The q-quantile of cumulative buckets (as histogram_quantile): linear within the bucket it falls in;
 * in the +Inf bucket, the highest finite bound.
 */
export function bucketQuantile(q: number, buckets: readonly { le: number; count: number }[]): number | undefined {
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return lowerBound;
      const inBucket = b.count - lowerCount;
      return inBucket === 0 ? b.le : lowerBound + (b.le - lowerBound) * ((rank - lowerCount) / inBucket);
    }
    lowerBound = b.le;
    lowerCount = b.count;
  }
  return lowerBound;
}

/** What happened between two samples. */
export function between(old: Sample, now: Sample): Activity {
  const buckets = now.buckets.map((b, i) => ({ le: b.le, count: b.count - (old.buckets[i]?.count ?? 0) }));
  const count = buckets.at(-1)?.count ?? 0;
  const p50 = bucketQuantile(0.5, buckets);
  const p99 = bucketQuantile(0.99, buckets);
  return {
    since: old.at,
    events: now.events - old.events,
    people: now.people - old.people,
    propagation: { count, ...(p50 !== undefined ? { p50 } : {}), ...(p99 !== undefined ? { p99 } : {}) },
  };
}

/** The metric's total over its labels, or over the values whose labels include `only`. */
async function sum(registry: Registry, name: string, only: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const wanted = (labels: Record<string, unknown>) => Object.entries(only).every(([k, v]) => labels[k] === v);
  return (await metric.get()).values.reduce((n, v) => (wanted(v.labels) ? n + v.value : n), 0);
}

export class RecentActivity {
  private readonly samples: Sample[] = [];

  constructor(
    private readonly registry: Registry,
    private readonly now: () => number = Date.now,
  ) {}

  async sample(): Promise<Sample> {
    const histogram = this.registry.getSingleMetric(ACTIVITY_METRICS.propagation);
    const values = histogram ? (await histogram.get()).values : [];
    const buckets = values
      .filter((v) => (v as { metricName?: string }).metricName?.endsWith('_bucket'))
      .map((v) => ({ le: v.labels['le'] === '+Inf' ? Infinity : Number(v.labels['le']), count: v.value }))
      .sort((a, b) => a.le - b.le);
    return { at: this.now(), events: await sum(this.registry, ACTIVITY_METRICS.events), people: await sum(this.registry, ACTIVITY_METRICS.people, { result: 'applied' }), buckets };
  }

  /** Keeps a sample (call once a minute); those older than an hour go, but the newest of them stays as the baseline. */
  async keep(): Promise<void> {
    this.samples.push(await this.sample());
    const cutoff = this.now() - HOUR_MS;
    while (this.samples.length > 1 && this.samples[1]!.at <= cutoff) this.samples.shift();
  }

  async lastHour(): Promise<Activity> {
    const current = await this.sample();
    const cutoff = current.at - HOUR_MS;
    const base = [...this.samples].reverse().find((s) => s.at <= cutoff) ?? this.samples[0] ?? current;
    return between(base, current);
  }
}

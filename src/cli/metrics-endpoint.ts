/**
 * `worker --metrics-port` and `schedule --metrics-port`: the process's metrics at /metrics (and
 * /healthz, /readyz: the process answers) on the service's HTTP server, loopback unless told.
 */
import { startHttp, type HttpHandle } from '../service/http-server.js';
import type { Log } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';

export interface MetricsListen {
  metricsPort?: number;
  /** Default 127.0.0.1: a scraper elsewhere needs it said (0.0.0.0 in a container). */
  metricsHost?: string;
}

/** Serves `metrics` when a port was given; null otherwise. */
export async function serveMetrics(metrics: Metrics, where: MetricsListen, log: Log): Promise<HttpHandle | null> {
  if (where.metricsPort === undefined) return null;
  const host = where.metricsHost ?? '127.0.0.1';
  const listen = `${host.includes(':') ? `[${host}]` : host}:${where.metricsPort}`;
  const http = await startHttp(listen, { readiness: () => ({ ready: true, problems: [], detail: {} }), metrics: () => metrics.scrape() }, (line) => log(line, { level: 'error' }));
  log(`metrics on ${http.url}/metrics`);
  return http;
}

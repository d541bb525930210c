/**
 * The Prometheus metrics, checked against what the sandbox saw: `run --metrics-file` (the file
 * node_exporter's textfile collector reads: operations, requests by status, 429s, retries, last
 * success, carried over from run to run), and `worker --metrics-port` scraped after a distributed
 * cycle (its operations, and the queues' depth from BullMQ).
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseSamples } from '../../src/telemetry/metrics-file.js';
import { CliProcess } from '../support/cli-process.js';
import { cleanRedis, queueYaml, randomPrefix } from '../support/distributed.js';
import { Harness, person } from '../support/harness.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const people = Array.from({ length: 20 }, (_, i) => person(i + 1));

/** The value of one sample (0 when absent), by name and labels. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const found = parseSamples(text).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return found.reduce((n, s) => n + s.value, 0);
}

describe('run --metrics-file', () => {
  it('counts what the target saw: operations, requests by method and status, 429s, retries; carried over to the next run', async () => {
    const h = await Harness.start({ sandbox: { behaviour: { rateLimit: { requests: 8, perMs: 500 } } } });
    cleanups.push(() => h.close());
    h.writePeople(people);
    const file = join(h.dir, 'scim-sync.prom');
    const r = await h.run('--metrics-file', file);
    expect(r.code, r.err).toBe(0);
    const text = readFileSync(file, 'utf8');
    const seen = [...h.sandbox.requests];
    const limited = seen.filter((q) => q.status === 429);
    expect(limited.length).toBeGreaterThan(0);

    expect(sample(text, 'scimsync_operations_total', { target: 'app', kind: 'createUser', outcome: 'ok' })).toBe(20);
    expect(sample(text, 'scimsync_operations_total', { outcome: 'failed' })).toBe(0);
    for (const method of ['GET', 'POST']) {
      for (const status of new Set(seen.filter((q) => q.method === method).map((q) => q.status))) {
        expect(sample(text, 'scimsync_requests_total', { target: 'app', method, status: String(status) }), `${method} ${status}`).toBe(
          seen.filter((q) => q.method === method && q.status === status).length,
        );
      }
    }
    expect(sample(text, 'scimsync_request_duration_seconds_count', { target: 'app' })).toBe(seen.length);
    expect(sample(text, 'scimsync_rate_limited_total', { target: 'app' })).toBe(limited.length);
    // Writes answered 429 are retried by the executor (reads by the client, counted as requests).
    expect(sample(text, 'scimsync_retries_total', { target: 'app', reason: 'rate-limited' })).toBe(limited.filter((q) => q.method !== 'GET').length);
    expect(sample(text, 'scimsync_cycles_total', { result: 'applied' })).toBe(1);
    const success = sample(text, 'scimsync_last_successful_cycle_timestamp_seconds', { target: 'app' });
    expect(success * 1000).toBeGreaterThan(Date.now() - 60_000);
    expect(sample(text, 'scimsync_last_cycle_duration_seconds', { target: 'app' })).toBeGreaterThan(0);
    // Readable by the exporter, which runs as another user; no process metrics of a process that is gone.
    expect(statSync(file).mode & 0o044).toBe(0o044);
    expect(text).not.toContain('scimsync_process_');

    // A second run adds to the counters; a run that fails keeps the last success it did not replace.
    h.sandbox.clearRequests();
    expect((await h.run('--metrics-file', file)).code).toBe(0);
    const second = readFileSync(file, 'utf8');
    expect(sample(second, 'scimsync_operations_total', { kind: 'createUser', outcome: 'ok' })).toBe(20);
    expect(sample(second, 'scimsync_cycles_total', { result: 'applied' })).toBe(2);
    expect(sample(second, 'scimsync_request_duration_seconds_count', { target: 'app' })).toBe(h.sandbox.requests.length);
    expect(sample(second, 'scimsync_requests_total', { target: 'app' })).toBe(seen.length + h.sandbox.requests.length);
    const lastGood = sample(second, 'scimsync_last_successful_cycle_timestamp_seconds', { target: 'app' });
    await h.sandbox.close();
    expect((await h.run('--metrics-file', file)).code).not.toBe(0);
    const third = readFileSync(file, 'utf8');
    expect(sample(third, 'scimsync_last_successful_cycle_timestamp_seconds', { target: 'app' })).toBe(lastGood);
    expect(sample(third, 'scimsync_cycles_total', { result: 'applied' })).toBe(3);
    expect(sample(third, 'scimsync_requests_total', { target: 'app', status: '0' })).toBeGreaterThan(0);
  }, 60_000);
});

describe('worker --metrics-port', () => {
  it('serves the operations it ran and the queues they went through', async () => {
    const prefix = randomPrefix();
    const h = await Harness.start({ top: queueYaml(prefix) });
    cleanups.push(() => h.close(), () => cleanRedis(prefix));
    h.writePeople(people);
    const worker = new CliProcess(['worker', '--config', h.configFile, '--name', 'm1', '--metrics-port', '0']);
    cleanups.push(async () => {
      worker.kill('SIGTERM');
      await worker.exited;
    });
    const [, url] = await worker.waitFor(/metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/);
    await worker.waitFor(/worker m1 ready/);
    const r = await h.run('--wait');
    expect(r.code, r.err).toBe(0);
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(sample(text, 'scimsync_operations_total', { target: 'app', kind: 'createUser', outcome: 'ok' })).toBe(20);
    // The worker sent the writes; the reads were the planner's, in the `run` process.
    expect(sample(text, 'scimsync_request_duration_seconds_count', { target: 'app', method: 'POST' })).toBe(h.writes().length);
    expect(sample(text, 'scimsync_last_successful_cycle_timestamp_seconds', { target: 'app' })).toBeGreaterThan(0);
    expect(text).toMatch(/^scimsync_queue_jobs\{queue="target-app",state="waiting"\} 0$/m);
    expect(text).toMatch(/^scimsync_queue_jobs\{queue="control",state="failed"\} 0$/m);
    expect(text).toMatch(/^scimsync_process_cpu_seconds_total /m);
    // Loopback unless told.
    expect(new URL(url!).hostname).toBe('127.0.0.1');
  }, 60_000);
});

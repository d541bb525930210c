/**
 * A target's request budget over a whole run, measured where it matters: at the server. Retries
 * (after random 503s, a 429, a reset) go through the same budget.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { Harness, person } from '../support/harness.js';
import { hostileProxy, type HostileProxy } from '../support/hostile-proxy.js';
import { maxInWindow } from '../support/traffic.js';

let h: Harness | undefined;
let proxy: HostileProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  await h?.close();
  h = proxy = undefined;
});

it('a target limited to 10 requests/s never gets more in any second, and ends with zero failures after retries', async () => {
  h = await Harness.start({
    sandbox: { behaviour: { errorRate: 0.1 }, seed: 7 },
    target: '    retries: 8\n    rateLimit: { requests: 10, perMs: 1000 }',
  });
  const people = Array.from({ length: 40 }, (_, i) => person(i + 1));
  h.writePeople(people);
  h.sandbox.addFault({ method: 'POST', path: '/Users', times: 1, action: { type: 'status', status: 429, retryAfter: '1' } });
  h.sandbox.addFault({ method: 'POST', path: '/Users', times: 1, action: { type: 'reset' } });
  const r = await h.run('--json');
  expect(r.code, r.err + r.out).toBe(0);
  const report = JSON.parse(r.out) as { report: { targets: { failures: unknown[]; counts: Record<string, { ok: number; failed: number }> }[] } };
  expect(report.report.targets[0]!.failures).toEqual([]);
  expect(report.report.targets[0]!.counts['createUser']).toMatchObject({ ok: 40, failed: 0 });
  expect(h.sandbox.store.users()).toHaveLength(40);

  const requests = h.sandbox.requests;
  // The faults did happen, and were retried.
  expect(requests.filter((q) => q.status === 503).length).toBeGreaterThan(0);
  expect(requests.filter((q) => q.status === 429)).toHaveLength(1);
  expect(requests.length).toBeGreaterThan(42);
  expect(maxInWindow(requests.map((q) => q.at), 1000)).toBeLessThanOrEqual(10);
});

it('a target that answers every write 429: after stopAfterFailures in a row (default 20 at concurrency 4) nothing more is sent, the rest is skipped, and the target is quarantined', async () => {
  const people = Array.from({ length: 10 }, (_, i) => person(i + 1));
  h = await Harness.synced(people);
  proxy = await hostileProxy(h.sandbox.url);
  writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace(h.sandbox.url, proxy.url));
  proxy.hook = (req) =>
    req.method === 'PATCH' ? { status: 429, headers: { 'retry-after': '0' }, body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '429' } } : undefined;
  h.writePeople(people.map((x) => ({ ...x, title: 'Staff Engineer' })));
  const started = Date.now();
  const r = await h.run('--json');
  expect(r.code, r.err + r.out).toBe(1);
  // The twentieth 429 in a row stops the target (10 operations of 5 attempts would make 50); only
  // requests already in flight then (concurrency 4) are answered after it.
  const patches = proxy.seen.filter((s) => s.method === 'PATCH').length;
  expect(patches).toBeGreaterThanOrEqual(20);
  expect(patches).toBeLessThanOrEqual(20 + 3);
  expect(Date.now() - started).toBeLessThan(20_000);
  const reason = /^stopped: target stopped after 20 consecutive failures \(429, 5xx or no answer; the last: HTTP 429 to a PATCH\), so nothing more was sent to it \(targets\.app\.stopAfterFailures\)$/;
  const report = (JSON.parse(r.out) as { report: { targets: { stopped?: string; stopKind?: string; counts: Record<string, Record<string, number>> }[] } }).report.targets[0]!;
  expect(report.stopped).toMatch(reason);
  expect(report.stopKind).toBe('unavailable');
  expect(report.counts['updateUser']).toMatchObject({ ok: 0 });
  expect(report.counts['updateUser']!['failed']! + report.counts['updateUser']!['skipped']!).toBe(10);
  const audit = h.audit();
  expect(audit.filter((a) => a['action'] === 'target.failed').map((a) => a['note'])).toEqual([expect.stringMatching(reason)]);
  expect(audit.filter((a) => a['action'] === 'quarantine.enter').map((a) => a['note'])).toEqual([expect.stringMatching(/^quarantined: target stopped after 20 consecutive failures/)]);
  // Quarantined: the next run leaves the target alone, not a request.
  proxy.seen.length = 0;
  const next = await h.run();
  expect(next.code).toBe(1);
  expect(next.out).toMatch(/quarantined since .*: target stopped after 20 consecutive failures/);
  expect(proxy.seen).toEqual([]);
}, 60_000);


/**
 * A target's request budget over a whole run, measured where it matters: at the server. Retries
 * (after random 503s, a 429, a reset) go through the same budget.
 */
import { afterEach, expect, it } from 'vitest';
import { Harness, person } from '../support/harness.js';
import { maxInWindow } from '../support/traffic.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
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

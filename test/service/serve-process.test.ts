/**
 * `scim-sync serve` as a process, as systemd or Kubernetes runs it: it prints where it listens,
 * syncs at start, answers its probes, holds the run lock while it runs (a cron `run` beside it is
 * refused), and on SIGTERM finishes and exits 0, releasing the lock.
 */
import { afterEach, expect, it } from 'vitest';
import { CliProcess } from '../support/cli-process.js';
import { Harness, person } from '../support/harness.js';

let h: Harness;
afterEach(async () => {
  await h.close();
});

it('serves, syncs at start, refuses a run beside it, and stops cleanly on SIGTERM', async () => {
  h = await Harness.start();
  h.writePeople([person(1), person(2)]);
  const serve = new CliProcess(['serve', '--config', h.configFile, '--listen', '127.0.0.1:0']);
  try {
    const [, url] = await serve.waitFor(/serving on (http:\/\/127\.0\.0\.1:\d+)/);
    await serve.waitFor(/cycle: plan-\S+ applied: 2 ok, 0 failed/);
    const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(10_000) });
    expect(ready.status).toBe(200);
    expect(h.sandbox.store.findUserByUserName('user2@example.com')?.['active']).toBe(true);
    const beside = await h.run();
    expect(beside.code).not.toBe(0);
    expect(beside.err).toMatch(/lock/i);
  } finally {
    serve.kill('SIGTERM');
  }
  const exit = await serve.exited;
  expect(exit.code, exit.err).toBe(0);
  expect(exit.err).toMatch(/"msg":"stopped"\}\n?$/);
  expect((await h.run()).code).toBe(0);
});

/**
 * The console of a service in distributed mode (real Redis, an in-process worker standing for
 * another machine): the queues page shows each target's depth and its failed operations with the
 * server's reason; a viewer cannot retry them, an operator can, and the retry runs on the workers.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Harness, person } from '../support/harness.js';
import { REDIS_URL, cleanRedis, inProcessWorkers, queueYaml, randomPrefix } from '../support/distributed.js';
import { startTestService, type RunningService } from '../support/service.js';
import { ConsoleClient, OPERATOR_TOKEN, VIEWER_TOKEN, consoleYaml } from '../support/console.js';

let h: Harness;
let prefix: string;
let worker: Awaited<ReturnType<typeof inProcessWorkers>> | null = null;
let s: RunningService | undefined;

beforeEach(async () => {
  prefix = randomPrefix();
  h = await Harness.start({ top: `${queueYaml(prefix)}\n${consoleYaml()}` });
  const other = join(h.dir, 'other.yaml');
  writeFileSync(other, readFileSync(h.configFile, 'utf8').replace('\n  dir: state\n', '\n  dir: state-other\n'));
  worker = await inProcessWorkers(other);
});
afterEach(async () => {
  await s?.stop();
  s = undefined;
  await worker?.close();
  worker = null;
  await h.close();
  await cleanRedis(prefix);
});

it('shows the failed operations of a target with their reason; an operator retries them, a viewer cannot', async () => {
  h.writePeople([person(1), person(2)]);
  h.sandbox.addFault({ method: 'POST', path: '/Users', times: 1, action: { type: 'status', status: 400, detail: 'title is not <allowed> here' } });
  s = await startTestService(h);
  expect((await s.firstCycle)?.result?.kind).toBe('enqueued');
  const viewer = new ConsoleClient(s.url);
  await viewer.signIn(VIEWER_TOKEN);
  await expect.poll(async () => (await viewer.get('/ui/queues')).body, { timeout: 20_000 }).toContain('title is not &lt;allowed&gt; here');
  const page = await viewer.get('/ui/queues');
  expect(page.body).toMatch(/<td class="num bad">1<\/td>/);
  expect(page.body).not.toContain('action="/ui/queues/retry"');
  const overview = await viewer.get('/ui');
  expect(overview.status).toBe(200);
  expect(overview.body).toContain('Queues');
  const asViewer = await viewer.post('/ui/queues/retry', { target: 'app', csrf: await viewer.csrf() });
  expect(asViewer.status).toBe(403);

  const operator = new ConsoleClient(s.url);
  await operator.signIn(OPERATOR_TOKEN);
  expect((await operator.get('/ui/queues')).body).toContain('action="/ui/queues/retry"');
  const retried = await operator.post('/ui/queues/retry', { target: 'app', csrf: await operator.csrf() });
  expect(retried.status, retried.body).toBe(200);
  expect(retried.body).toMatch(/1 failed operation of app re-queued as cycle <code>plan-retry-/);
  await expect.poll(() => h.sandbox.store.users().length, { timeout: 20_000 }).toBe(2);
  await expect.poll(async () => (await operator.get('/ui/queues')).body, { timeout: 10_000 }).not.toContain('title is not');
});

it('a retry of a target in quarantine says nothing was re-queued and why, and sends nothing', async () => {
  h.writePeople([person(1), person(2)]);
  h.sandbox.addFault({ method: 'POST', path: '/Users', times: 1, action: { type: 'status', status: 400, detail: 'refused for now' } });
  s = await startTestService(h);
  const operator = new ConsoleClient(s.url);
  await operator.signIn(OPERATOR_TOKEN);
  await expect.poll(async () => (await operator.get('/ui/queues')).body, { timeout: 20_000 }).toContain('refused for now');
  const redis = new Redis(REDIS_URL);
  try {
    const entry = { target: 'app', since: new Date().toISOString(), reason: 'test reason', attempts: 1, nextTry: new Date(Date.now() + 3_600_000).toISOString() };
    await redis.hset(`${prefix}:state:quarantine`, 'app', JSON.stringify(entry));
  } finally {
    redis.disconnect();
  }
  h.sandbox.clearRequests();
  const retried = await operator.post('/ui/queues/retry', { target: 'app', csrf: await operator.csrf() });
  expect(retried.status, retried.body).toBe(200);
  expect(retried.body).toContain('<div class="notice bad" role="status">Nothing re-queued: app is in quarantine.</div>');
  expect(retried.body).toContain('app: nothing sent, quarantined since');
  expect(retried.body).not.toContain('re-queued as cycle');
  expect(h.sandbox.requests).toEqual([]);
  expect((await operator.get('/ui/queues')).body).toContain('refused for now');
});

/**
 * The failure breaker (execution/failure-breaker.ts) in distributed mode, against a real Redis and the
 * sandbox: a target that answers every write with a 5xx or refuses the token gets no more than the
 * breaker lets through from the workers, as from an embedded run; `run --wait` and `status` say the
 * cycle was stopped and why, the operations that failed are dead letters that `retry` takes, those
 * never sent are skipped (the next cycle plans them again), and the target is quarantined.
 */
import { Redis } from 'ioredis';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Harness, person } from '../support/harness.js';
import { REDIS_URL, WorkerProcess, cleanRedis, inProcessWorkers, queueYaml, randomPrefix } from '../support/distributed.js';

let h: Harness;
let prefix: string;
let redis: Redis;
let worker: Awaited<ReturnType<typeof inProcessWorkers>> | null;
const processes: WorkerProcess[] = [];
/** Many more creates than the breaker's 20 failures in a row (the default at the harness's concurrency 4). */
const PEOPLE = 40;

beforeEach(async () => {
  prefix = randomPrefix();
  h = await Harness.start({ top: queueYaml(prefix) });
  h.writePeople(Array.from({ length: PEOPLE }, (_, i) => person(i + 1)));
  redis = new Redis(REDIS_URL);
  worker = null;
});
afterEach(async () => {
  await worker?.close();
  await Promise.all(processes.splice(0).map((p) => p.stop()));
  redis.disconnect();
  await h.close();
  await cleanRedis(prefix);
});

interface Report {
  stopped?: string;
  stopKind?: string;
  counts: Record<string, Record<string, number>>;
}
interface Status {
  targets: { failed: { externalId: string; reason: string }[]; lastCycle: { report: Report } | null }[];
}

const posts = () => h.writes().filter((w) => w.method === 'POST' && w.path.startsWith('/Users')).length;
const quarantine = async () => JSON.parse((await redis.hget(`${prefix}:state:quarantine`, 'app')) ?? 'null') as { reason: string } | null;

it('a target that answers every write 503: the workers send nothing more after stopAfterFailures in a row; the cycle is reported stopped, its failures are dead letters, the rest skipped, the target quarantined', async () => {
  worker = await inProcessWorkers(h.configFile);
  h.sandbox.addFault({ method: 'POST', path: '/Users', times: Infinity, action: { type: 'status', status: 503 } });
  const r = await h.run('--wait', '--json');
  expect(r.code, r.err + r.out).toBe(1);

  // 40 creates of 5 attempts each would make 200 requests; the twentieth 503 in a row stops the
  // target, and only the requests already in flight then (concurrency 4) are answered after it.
  expect(posts()).toBeGreaterThanOrEqual(20);
  expect(posts()).toBeLessThanOrEqual(20 + 3);
  expect(h.sandbox.store.users()).toEqual([]);

  const reason = /^stopped: target stopped after 20 consecutive failures \(429, 5xx or no answer; the last: HTTP 503 to a POST\), so nothing more was sent to it \(targets\.app\.stopAfterFailures\)$/;
  const report = (JSON.parse(r.out) as { report: { targets: Report[] } }).report.targets[0]!;
  expect(report.stopped).toMatch(reason);
  expect(report.stopKind).toBe('unavailable');
  const creates = report.counts['createUser']!;
  expect(creates['ok']).toBe(0);
  expect(creates['failed']).toBeGreaterThanOrEqual(1);
  expect(creates['failed']! + creates['skipped']!).toBe(PEOPLE);

  // status: the last cycle stopped by the breaker; the operations that failed are the failed list, for retry.
  const status = JSON.parse((await h.cli('status', '--config', h.configFile, '--json')).out) as Status;
  const app = status.targets[0]!;
  expect(app.lastCycle?.report.stopped).toMatch(reason);
  expect(app.lastCycle?.report.stopKind).toBe('unavailable');
  expect(app.failed).toHaveLength(creates['failed']!);
  for (const f of app.failed) expect(f.reason).toMatch(/503/);
  expect(h.audit().filter((a) => a['action'] === 'target.failed').map((a) => a['note'])).toEqual([expect.stringMatching(reason)]);
  expect((await quarantine())?.reason).toMatch(/^target stopped after 20 consecutive failures/);

  // The target is back, but retry leaves it out while it is quarantined, as run does: nothing sent, the failed creates kept.
  h.sandbox.clearFaults();
  h.sandbox.clearRequests();
  const held = await h.cli('retry', '--config', h.configFile);
  expect(held.code, held.err).toBe(1);
  expect(held.out).toContain(`app: nothing sent, quarantined since`);
  expect(h.sandbox.requests).toEqual([]);
  // Released: retry sends the failed creates again, and nothing else.
  expect((await h.cli('unquarantine', '--config', h.configFile, '--target', 'app')).code).toBe(0);
  const retried = await h.cli('retry', '--config', h.configFile);
  expect(retried.code, retried.err).toBe(0);
  expect(retried.out).toContain(`app: ${creates['failed']} failed operation`);
  await expect.poll(() => h.sandbox.store.users().length, { timeout: 20_000 }).toBe(creates['failed']);
  expect(h.sandbox.store.users().map((u) => u['userName']).sort()).toEqual(app.failed.map((f) => `user${Number(f.externalId.slice(1)) - 1000}@example.com`).sort());
}, 60_000);

it('two worker processes: neither sends more than its own breaker lets through, and the cycle is reported stopped by the breaker', async () => {
  h.writePeople(Array.from({ length: 2 * PEOPLE }, (_, i) => person(i + 1)));
  for (const name of ['wa', 'wb']) processes.push(new WorkerProcess(h.configFile, name));
  await Promise.all(processes.map((p) => p.ready()));
  h.sandbox.addFault({ method: 'POST', path: '/Users', times: Infinity, action: { type: 'status', status: 503 } });
  const r = await h.run('--wait', '--json');
  expect(r.code, r.err + r.out).toBe(1);
  // 80 creates of 5 attempts would make 400 requests; each process stops at its own twentieth
  // failure in a row at the latest (and those then in flight), or as soon as it sees the other's stop.
  expect(posts()).toBeGreaterThanOrEqual(20);
  expect(posts()).toBeLessThanOrEqual(2 * (20 + 3));
  const report = (JSON.parse(r.out) as { report: { targets: Report[] } }).report.targets[0]!;
  expect(report.stopKind).toBe('unavailable');
  expect(report.stopped).toMatch(/^stopped: target stopped after 20 consecutive failures/);
  const creates = report.counts['createUser']!;
  expect(creates['failed']! + creates['skipped']!).toBe(2 * PEOPLE);
}, 60_000);

it('a target that refuses the token on every write: the workers stop at the first refusal; the cycle is reported stopped, the rest skipped, the target quarantined', async () => {
  worker = await inProcessWorkers(h.configFile);
  h.sandbox.addFault({ method: 'POST', path: '/Users', times: Infinity, action: { type: 'status', status: 401 } });
  const r = await h.run('--wait', '--json');
  expect(r.code, r.err + r.out).toBe(1);

  // The first refusal and those in flight with it (concurrency 4); none sent again.
  expect(posts()).toBeGreaterThanOrEqual(1);
  expect(posts()).toBeLessThanOrEqual(4);

  const report = (JSON.parse(r.out) as { report: { targets: Report[] } }).report.targets[0]!;
  expect(report.stopped).toMatch(/^stopped: credential rejected \(HTTP 401\)/);
  expect(report.stopKind).toBe('auth');
  const creates = report.counts['createUser']!;
  expect(creates['ok']).toBe(0);
  expect((creates['failed'] ?? 0) + creates['skipped']!).toBe(PEOPLE);
  const status = JSON.parse((await h.cli('status', '--config', h.configFile, '--json')).out) as Status;
  expect(status.targets[0]!.lastCycle?.report.stopKind).toBe('auth');
  expect((await quarantine())?.reason).toMatch(/^credential refused: /);
}, 60_000);

/**
 * Quarantine in distributed mode, against a real Redis: kept in the prefix's quarantine hash, shown
 * by `status`, heeded by `run --wait` and by scheduled cycles (a quarantined target gets no request),
 * lifted by `unquarantine`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/commands.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { Harness, person, TOKEN } from '../support/harness.js';
import { REDIS_URL, WorkerProcess, cleanRedis, inProcessWorkers, queueYaml, randomPrefix, waitUntil } from '../support/distributed.js';

let h: Harness;
let crm: Sandbox;
let prefix: string;
let redis: Redis;
const processes: WorkerProcess[] = [];

beforeEach(async () => {
  prefix = randomPrefix();
  h = await Harness.start({ top: queueYaml(prefix) });
  h.writePeople(Array.from({ length: 5 }, (_, i) => person(i + 1)));
  crm = await startSandbox({ token: TOKEN });
  writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('targets:\n', `targets:\n  crm:\n    url: ${crm.url}\n    auth: { type: bearer, token: "\${env:CRM_TOKEN}" }\n`));
  process.env['CRM_TOKEN'] = 'not-the-crm-token-3e8b21';
  redis = new Redis(REDIS_URL);
});
afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop()));
  redis.disconnect();
  await crm.close();
  await h.close();
  await cleanRedis(prefix);
});

const key = () => `${prefix}:state:quarantine`;

describe('quarantine in distributed mode', () => {
  it('run --wait quarantines a refused target in Redis; status shows it; the next run skips it; unquarantine lifts it', async () => {
    let worker = await inProcessWorkers(h.configFile);
    try {
      const first = await h.run('--wait');
      expect(first.code, first.err).toBe(1);
      expect(first.out).toMatch(/⛔ quarantined: credential refused: \[AUTH\] credential rejected \(HTTP 401\)/);
      const entry = JSON.parse((await redis.hget(key(), 'crm'))!) as { since: string; reason: string; nextTry: string; attempts: number };
      expect(entry.attempts).toBe(1);

      const status = await h.cli('status', '--config', h.configFile);
      expect(status.code, status.err).toBe(0);
      expect(status.out).toContain(`⛔ quarantined since ${entry.since}: ${entry.reason}; next try at ${entry.nextTry}`);
      const json = JSON.parse((await h.cli('status', '--config', h.configFile, '--json')).out) as { quarantined: unknown[] };
      expect(json.quarantined).toEqual([entry]);

      crm.clearRequests();
      const second = await h.run('--wait');
      expect(second.code).toBe(1);
      expect(crm.requests).toEqual([]);
      expect(second.out).toContain('target crm: SKIPPED — quarantined since');

      const lifted = await h.cli('unquarantine', '--config', h.configFile, '--target', 'crm');
      expect(lifted.code, lifted.err).toBe(0);
      expect(await redis.hget(key(), 'crm')).toBeNull();
      process.env['CRM_TOKEN'] = TOKEN;
      // The worker read the credential when it started.
      await worker.close();
      worker = await inProcessWorkers(h.configFile);
      const third = await h.run('--wait');
      expect(third.code, third.out).toBe(0);
      expect(crm.store.users()).toHaveLength(5);
    } finally {
      await worker.close();
    }
  });

  it('run without --wait quarantines a target whose credential its planning read was refused', async () => {
    const r = await h.run();
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/Enqueued plan-/);
    expect(r.err).toMatch(/target crm quarantined: credential refused: \[AUTH\] credential rejected \(HTTP 401\)[^\n]*; next try at \d{4}-/);
    expect(JSON.parse((await redis.hget(key(), 'crm'))!)).toMatchObject({ target: 'crm', attempts: 1 });
    expect(await redis.hget(key(), 'app')).toBeNull();
  });

  it('run --wait-timeout that ends before the workers does not quarantine the target', async () => {
    // No worker: the wait times out for app (crm's planning read is refused: that one is quarantined).
    const timedOut = await h.run('--wait-timeout', '1s');
    expect(timedOut.code, timedOut.err).toBe(1);
    expect(timedOut.out).toContain('still running after 1 s of waiting');
    expect(await redis.hget(key(), 'app')).toBeNull();
    expect(JSON.parse((await redis.hget(key(), 'crm'))!)).toMatchObject({ attempts: 1, reason: expect.stringMatching(/^credential refused: \[AUTH\]/) });
  });

  it('run --wait-timeout that ends before the workers neither lifts a quarantine tried again nor keeps it longer', async () => {
    const due = { target: 'app', since: '2026-01-01T00:00:00.000Z', reason: 'credential refused: earlier', attempts: 1, nextTry: new Date(Date.now() - 1000).toISOString() };
    await redis.hset(key(), 'app', JSON.stringify(due));
    const r = await h.run('--wait-timeout', '1s', '--target', 'app');
    expect(r.code, r.err).toBe(1);
    expect(r.out).toContain('still running after 1 s of waiting');
    expect(JSON.parse((await redis.hget(key(), 'app'))!)).toEqual(due);
  });

  it("run --wait whose cycle's data Redis lost does not quarantine the target", async () => {
    writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('  stalledIntervalMs: 500', '  stalledIntervalMs: 500\n  idleWarningMs: 100'));
    const lines: string[] = [];
    const running = runCommand({ config: h.configFile, wait: true, target: ['app'] }, { out: (t) => lines.push(t), err: (t) => lines.push(t) });
    await waitUntil(() => lines.some((l) => l.includes('no worker has been connected to its queue')), 'the wait to begin');
    await cleanRedis(prefix);
    expect(await running, lines.join('\n')).toBe(1);
    expect(lines.join('\n')).toContain("the cycle's data is gone from Redis");
    expect(await redis.hget(key(), 'app')).toBeNull();
  });

  it('a scheduled cycle skips a quarantined target without a request, and quarantines one whose credential is refused', async () => {
    writeFileSync(h.configFile, `${readFileSync(h.configFile, 'utf8')}schedule:\n  cron: "* * * * * *"\n`);
    const since = new Date().toISOString();
    const nextTry = new Date(Date.now() + 3_600_000).toISOString();
    await redis.hset(key(), 'app', JSON.stringify({ target: 'app', since, reason: 'test reason', attempts: 1, nextTry }));
    for (const [command, name] of [['worker', 'sw'], ['schedule', 'sched']] as const) {
      const p = new WorkerProcess(h.configFile, name, command);
      processes.push(p);
      await p.ready();
    }
    const scheduler = processes[1]!;
    await scheduler.waitForLine(/target app skipped: quarantined since \S+: test reason; next try at /);
    await waitUntil(async () => (await redis.hget(key(), 'crm')) !== null, 'the scheduled cycle to quarantine crm');
    expect(JSON.parse((await redis.hget(key(), 'crm'))!)).toMatchObject({ attempts: 1, reason: expect.stringMatching(/^credential refused: \[AUTH\]/) });
    crm.clearRequests();
    await scheduler.waitForLine(/target crm skipped: quarantined since/);
    expect(h.sandbox.requests).toEqual([]);
    expect(crm.requests).toEqual([]);
  });
});

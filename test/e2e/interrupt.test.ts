/**
 * Ctrl-C and SIGTERM during a run, on a real `scim-sync run` process against a slow sandbox: the
 * first signal lets the operations in flight finish, skips the rest, prints the report, audits the
 * interruption, releases the lock and exits 130 / 143; a second one stops at once.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliProcess } from '../support/cli-process.js';
import { waitUntil } from '../support/distributed.js';
import { Harness, person } from '../support/harness.js';
import { hostileProxy, type HostileProxy } from '../support/hostile-proxy.js';

let h: Harness;
let proxy: HostileProxy | undefined;
const people = Array.from({ length: 30 }, (_, i) => person(i + 1));

afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await h.close();
});

/** A harness whose target holds `synced`, reached through a proxy that can answer in its place. */
async function behindProxy(synced: ReturnType<typeof person>[]): Promise<HostileProxy> {
  h = await Harness.synced(synced);
  proxy = await hostileProxy(h.sandbox.url);
  writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace(h.sandbox.url, proxy.url));
  return proxy;
}

const TOO_MANY = { status: 429, body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '429' } };

function audit(): Record<string, unknown>[] {
  return readFileSync(join(h.dir, 'state', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

const posts = () => h.sandbox.requests.filter((r) => r.method === 'POST' && r.path === '/Users');

describe('graceful stop', () => {
  beforeEach(async () => {
    h = await Harness.start({ sandbox: { behaviour: { latencyMs: 250 } } });
    h.writePeople(people);
  });

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal}: in-flight writes finish, the rest are skipped, report and audit written, lock released, exit ${code}`, async () => {
      const cli = new CliProcess(['run', '--config', h.configFile]);
      await waitUntil(() => posts().length > 0, 'the first create at the sandbox');
      cli.kill(signal);
      const r = await cli.exited;
      expect(r.code, r.err + r.out).toBe(code);
      expect(r.err).toContain(`${signal}: stopping; the operations in flight finish, then the report`);
      // Every create that reached the sandbox was answered, counted and audited; the rest never went out.
      const sent = posts();
      expect(sent.length).toBeGreaterThan(0);
      expect(sent.length).toBeLessThan(30);
      expect(sent.every((q) => q.status === 201)).toBe(true);
      expect(h.writes()).toHaveLength(sent.length);
      expect(r.out).toContain(`created ${sent.length} (${30 - sent.length} skipped)`);
      expect(r.out).toContain(`✗ stopped: interrupted by ${signal}: operations not started were skipped`);
      const records = audit();
      const done = records.filter((a) => a['action'] === 'createUser' && a['outcome'] === 'ok').map((a) => a['label']);
      expect(done.sort()).toEqual(sent.map((q) => (q.body as { userName: string }).userName).sort());
      expect(records.filter((a) => a['action'] === 'createUser' && a['outcome'] === 'skipped')).toHaveLength(30 - sent.length);
      expect(records.at(-1)).toMatchObject({ action: 'apply.interrupted', note: `interrupted by ${signal}: operations not started were skipped` });
      expect(existsSync(join(h.dir, 'state', 'run.lock'))).toBe(false);
      // Nothing lost: the next run creates exactly the rest. The state recorded the first sync as
      // begun and not completed, so the create check judges the rest of it as a first sync.
      h.sandbox.clearRequests();
      const next = await h.run();
      expect(next.code, next.err + next.out).toBe(0);
      expect(posts()).toHaveLength(30 - sent.length);
    });
  }

  it('a second SIGINT stops at once, still releasing the lock', async () => {
    // Creates hang long enough that only a stop at once can end the run quickly.
    h.sandbox.addFault({ method: 'POST', path: '/Users', times: Infinity, action: { type: 'delay', ms: 60_000 } });
    const cli = new CliProcess(['run', '--config', h.configFile]);
    await waitUntil(() => posts().length > 0, 'the first create at the sandbox');
    cli.kill('SIGINT');
    await waitUntil(() => cli.err.includes('SIGINT: stopping'), 'the first signal to be heard');
    cli.kill('SIGINT');
    const r = await cli.exited;
    expect(r.code).toBe(130);
    expect(r.signal).toBe(null);
    expect(r.err).toContain('SIGINT again: stopping at once');
    expect(r.out).not.toContain('Applied');
    expect(existsSync(join(h.dir, 'state', 'run.lock'))).toBe(false);
  });
});

describe('check --write-probe', () => {
  const probes = () => h.sandbox.store.users().filter((u) => String(u['userName']).startsWith('scim-sync-probe'));
  const patches = () => h.sandbox.requests.filter((r) => r.method === 'PATCH');

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal} during the probe: its PATCH in flight finishes, nothing else is tried, the probe is deleted, exit ${code}`, async () => {
      h = await Harness.start();
      h.sandbox.addFault({ method: 'PATCH', path: '/Users/', times: 1, action: { type: 'delay', ms: 1_500 } });
      const cli = new CliProcess(['check', '--config', h.configFile, '--write-probe']);
      // The name is on stderr before the probe exists: the way to find it if check is killed at once.
      const [, userName] = await cli.waitFor(/write probe: creating (scim-sync-probe\+[0-9a-f]{8}@invalid\.example)/);
      await waitUntil(() => patches().length > 0, 'the first PATCH of the probe');
      cli.kill(signal);
      const r = await cli.exited;
      expect(r.code, r.err + r.out).toBe(code);
      expect(patches()).toHaveLength(1);
      expect(r.out).toContain(`✗ stopped by ${signal}: the rest of the probe was not tried`);
      expect(r.out).toContain(`✓ deleted the probe ${userName}`);
      expect(probes()).toEqual([]);
    });
  }
});

describe('stop while the server makes us wait', () => {
  it('SIGINT while requests wait out a Retry-After: they give up, nothing is sent after the stop, the run ends at once', async () => {
    const ten = Array.from({ length: 10 }, (_, i) => person(i + 1));
    const p = await behindProxy(ten);
    h.writePeople(ten.map((x) => ({ ...x, title: 'Staff Engineer' })));
    let limited = false;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    p.hook = async (req) => {
      if (req.method !== 'PATCH') return undefined;
      if (!limited) {
        limited = true;
        return { ...TOO_MANY, headers: { 'retry-after': '30' } };
      }
      // The other PATCHes in flight end once the 429 holds the target: those started after them wait.
      await gate;
      return undefined;
    };
    const cli = new CliProcess(['-v', 'run', '--config', h.configFile]);
    await cli.waitFor(/rate limited: retrying in 3\d s/);
    open();
    // Three PATCHes answered: three more operations have begun, and wait for the hold to end.
    await waitUntil(() => h.audit().filter((a) => a['action'] === 'updateUser' && a['outcome'] === 'ok').length === 3, 'three updates to end');
    const sigintAt = Date.now();
    cli.kill('SIGINT');
    const r = await cli.exited;
    expect(r.code, r.err + r.out).toBe(130);
    expect(Date.now() - sigintAt).toBeLessThan(10_000);
    const patches = p.seen.filter((s) => s.method === 'PATCH');
    expect(patches).toHaveLength(4);
    expect(patches.every((s) => s.at < sigintAt)).toBe(true);
    const outcomes = h.audit().filter((a) => a['action'] === 'updateUser').map((a) => a['outcome']);
    expect(outcomes.sort()).toEqual([...Array(3).fill('ok'), ...Array(7).fill('skipped')]);
    expect(r.out).toContain('updated 3 (7 skipped)');
    expect(h.audit().at(-1)).toMatchObject({ action: 'apply.interrupted' });
  }, 60_000);

  it('a second SIGINT while writes are in flight: they reached the target, and the audit log names them in an apply.interrupted record', async () => {
    const ten = Array.from({ length: 10 }, (_, i) => person(i + 1));
    const p = await behindProxy(ten);
    h.writePeople(ten.map((x, i) => (i < 4 ? { ...x, title: 'Staff Engineer' } : x)));
    let applied = 0;
    p.hook = async (req, forward) => {
      if (req.method !== 'PATCH') return undefined;
      await forward(); // carried out at once...
      applied++;
      return new Promise(() => undefined); // ...and never answered
    };
    const cli = new CliProcess(['run', '--config', h.configFile]);
    await waitUntil(() => applied === 4, 'four PATCHes carried out');
    cli.kill('SIGINT');
    await cli.waitFor(/SIGINT: stopping/);
    cli.kill('SIGINT');
    const r = await cli.exited;
    expect(r.code).toBe(130);
    expect(r.err).toContain(
      'SIGINT again: stopping at once; what the operations in flight sent may have reached the target without a record of its own (for run and apply, an apply.interrupted record in the audit log names them)',
    );
    expect(ten.slice(0, 4).map((x) => h.sandbox.store.findUserByUserName(x.email!)!['title'])).toEqual(Array(4).fill('Staff Engineer'));
    const records = h.audit();
    expect(records.filter((a) => a['action'] === 'updateUser')).toEqual([]);
    const last = records.at(-1)!;
    expect(last).toMatchObject({ action: 'apply.interrupted', target: 'app', outcome: 'info' });
    expect(last['note']).toMatch(/^the process ended at once \(a second SIGINT or SIGTERM\) with 4 operations begun and not recorded: what they sent may have reached the target: /);
    for (const x of ten.slice(0, 4)) expect(last['note']).toContain(`updateUser ${x.email} (${x.id})`);
  });
});


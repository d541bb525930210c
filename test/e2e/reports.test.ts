/**
 * Reports that tell the truth, over real HTTP: an unknown or disabled `--target` is refused before
 * any request; a target that cannot be read is a failed target (report, totals, audit, `--json`);
 * `--json` prints exactly one JSON document whatever the exit code; an operation that needs an
 * account whose creation failed is skipped because of it, never done and never a second failure.
 */
import { createServer } from 'node:net';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness, person, type Person } from '../support/harness.js';
import { pidSpace } from '../support/pid-space.js';

let h: Harness;
const people = Array.from({ length: 10 }, (_, i) => person(i + 1));

beforeEach(async () => {
  h = await Harness.start();
  h.writePeople(people);
});
afterEach(async () => {
  await h.close();
});

/** Adds targets (YAML lines indented by 2) to the harness config, before `app`. */
function addTargets(yaml: string): void {
  writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('targets:\n', `targets:\n${yaml}`));
}

/** A loopback port nothing listens on (taken from the OS, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** stdout must be exactly one JSON document. */
function oneDocument(out: string): Record<string, unknown> {
  return JSON.parse(out) as Record<string, unknown>;
}

describe('--target names a target of the config', () => {
  beforeEach(() => {
    addTargets(`  off:\n    url: ${h.sandbox.url}\n    auth: { type: none }\n    enabled: false\n`);
  });

  it('an unknown name: exit 2 on plan, run and check, naming the file and the targets; no request', async () => {
    for (const command of ['plan', 'run', 'check']) {
      const r = await h.cli(command, '--config', h.configFile, '--target', 'nosuch');
      expect(r.code, `${command}: ${r.err}`).toBe(2);
      expect(r.err).toContain(`no target named nosuch in ${h.configFile} (targets: off, app)`);
    }
    expect(h.sandbox.requests).toEqual([]);
    expect(existsSync(join(h.dir, 'state', 'audit.jsonl'))).toBe(false);
  });

  it('a disabled target is named as such; a known one next to an unknown one still refuses the run', async () => {
    const off = await h.run('--target', 'off');
    expect(off.code).toBe(2);
    expect(off.err).toContain(`target off is disabled in ${h.configFile} (enabled: false)`);
    const mixed = await h.run('--target', 'app', '--target', 'nosuch');
    expect(mixed.code).toBe(2);
    expect(h.sandbox.requests).toEqual([]);
    const ok = await h.run('--target', 'app');
    expect(ok.code, ok.err).toBe(0);
    expect(h.sandbox.store.users()).toHaveLength(10);
  });

  it('run --json with an unknown target prints one JSON error document', async () => {
    const r = await h.run('--json', '--target', 'nosuch');
    expect(r.code).toBe(2);
    const doc = oneDocument(r.out);
    expect(doc).toEqual({ error: { code: 'CONFIG', message: `no target named nosuch in ${h.configFile} (targets: off, app)`, problems: [] } });
    expect(h.sandbox.requests).toEqual([]);
  });
});

describe('a target that cannot be read is a failed target', () => {
  it('a refused credential: FAILED with the reason in the report, the totals, the audit and --json; the other target goes on', async () => {
    addTargets(`  crm:\n    url: ${h.sandbox.url}\n    auth: { type: bearer, token: "\${env:CRM_TOKEN}" }\n`);
    process.env['CRM_TOKEN'] = 'not-the-sandbox-token-7c1e';
    const r = await h.run();
    expect(r.code, r.err).toBe(1);
    expect(r.out).toMatch(/target crm: FAILED — could not be read: \[AUTH\] credential rejected \(HTTP 401\)[^\n]* \(nothing was written to it\)/);
    expect(r.out).toContain('app: created 10');
    expect(r.out).toContain('Total: 10 ok, 0 failed, 0 skipped; 1 target failed: crm');
    expect(r.out).not.toContain('not-the-sandbox-token-7c1e');
    expect(h.sandbox.store.users()).toHaveLength(10);
    const failed = h.audit().filter((a) => a['action'] === 'target.failed');
    expect(failed).toEqual([expect.objectContaining({ target: 'crm', outcome: 'failed', note: expect.stringMatching(/^could not be read: \[AUTH\] credential rejected \(HTTP 401\)/) })]);

    // The refused credential quarantined crm: the next run leaves it out, and says why.
    const json = await h.run('--json');
    expect(json.code).toBe(1);
    const doc = oneDocument(json.out) as { report: { targets: { target: string; unreadable?: string; quarantined?: string }[] } };
    expect(doc.report.targets.find((t) => t.target === 'crm')?.quarantined).toMatch(/^quarantined since \S+: credential refused: \[AUTH\] credential rejected \(HTTP 401\)/);
    expect(doc.report.targets.find((t) => t.target === 'app')?.unreadable).toBeUndefined();
  });

  it('a credential refused mid-run: the target is stopped, with its reason, in the report, the totals and the audit', async () => {
    writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('concurrency: 4', 'concurrency: 1'));
    h.sandbox.addFault({ method: 'POST', path: '/Users', times: 1, action: { type: 'status', status: 401 } });
    const r = await h.run();
    expect(r.code).toBe(1);
    expect(h.writes().map((w) => w.status)).toEqual([401]);
    expect(r.out).toContain('app: created 0 (1 failed) (9 skipped)');
    expect(r.out).toMatch(/✗ stopped: credential rejected \(HTTP 401\)/);
    expect(r.out).toContain('Total: 0 ok, 1 failed, 9 skipped; 1 target stopped: app');
    expect(h.audit().filter((a) => a['action'] === 'target.failed')).toEqual([
      expect.objectContaining({ target: 'app', outcome: 'failed', note: expect.stringMatching(/^stopped: credential rejected \(HTTP 401\)/) }),
    ]);
  });

  it('an unreachable target: FAILED with the reason, exit 1, nothing written, --json parses', async () => {
    const port = await closedPort();
    // One attempt per read: a refused connection is otherwise retried with backoff.
    writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace(h.sandbox.url, `http://127.0.0.1:${port}/scim/v2`).replace('concurrency: 4', 'concurrency: 4\n    retries: 1'));
    const r = await h.run();
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/target app: FAILED — could not be read: [^\n]*ECONNREFUSED[^\n]* \(nothing was written to it\)/);
    expect(r.out).not.toContain('nothing to do');
    expect(r.out).toContain('Total: 0 ok, 0 failed, 0 skipped; 1 target failed: app');
    expect(h.audit().filter((a) => a['action'] === 'target.failed')).toEqual([expect.objectContaining({ target: 'app', outcome: 'failed' })]);
    const json = await h.run('--json');
    expect(json.code).toBe(1);
    const doc = oneDocument(json.out) as { report: { targets: { unreadable?: string }[] } };
    expect(doc.report.targets[0]!.unreadable).toMatch(/ECONNREFUSED/);
    expect(h.sandbox.requests).toEqual([]);
  });
});

describe('--json prints one JSON document whatever the exit code', () => {
  it('a safety stop (exit 3): the plan summary and the reasons, nothing written', async () => {
    expect((await h.run()).code).toBe(0);
    h.writePeople(people.slice(0, 5));
    h.sandbox.clearRequests();
    const r = await h.run('--json');
    expect(r.code).toBe(3);
    const doc = oneDocument(r.out) as { plan: { id: string; targets: { target: string; operations: Record<string, number> }[] }; safety: { stopped: boolean; reasons: string[] } };
    expect(doc.safety.stopped).toBe(true);
    expect(doc.safety.reasons).toEqual([expect.stringContaining('5 of 10 managed users would be deprovisioned')]);
    expect(doc.plan.targets[0]).toMatchObject({ target: 'app', operations: { deprovisionUser: 5 } });
    expect(r.err).toContain('safety check stopped the run');
    expect(h.writes()).toEqual([]);
  });

  it('a config error (exit 2): the problems as data', async () => {
    writeFileSync(h.configFile, 'source: { type: csv, path: p.csv, key: id }\ntargets:\n  app:\n    url: ftp://x\n    auth: { type: magic }\n');
    const r = await h.run('--json');
    expect(r.code).toBe(2);
    const doc = oneDocument(r.out) as { error: { code: string; message: string; problems: string[] } };
    expect(doc.error.code).toBe('CONFIG');
    expect(doc.error.problems).toEqual(expect.arrayContaining([expect.stringContaining('targets.app.url (line 4)'), expect.stringContaining('targets.app.auth.type (line 5)')]));
    expect(doc.error.message).not.toContain('\n');
    const usage = await h.cli('run', '--json');
    expect(usage.code).toBe(2);
    expect(oneDocument(usage.out)).toMatchObject({ error: { code: 'USAGE', message: expect.stringContaining('--config') } });
  });

  it('a run that cannot start (exit 4): one JSON error document', async () => {
    mkdirSync(join(h.dir, 'state'), { recursive: true });
    // Held by a live process on this host (the test runner's parent).
    writeFileSync(join(h.dir, 'state', 'run.lock'), JSON.stringify({ pid: process.ppid, host: hostname(), ...pidSpace, since: 'now' }));
    const r = await h.run('--json');
    expect(r.code).toBe(4);
    expect(oneDocument(r.out)).toMatchObject({ error: { code: 'LOCKED', message: expect.stringContaining('another run holds') } });
    expect(h.sandbox.requests).toEqual([]);
  });
});

describe('operations that depend on a failed one', () => {
  // E1001 manages everyone; jdoe is new, in three groups (g3 only has jdoe), and manages kim.
  const base: Person[] = people.slice(0, 4).map((p, i) => ({ ...p, groups: i < 2 ? ['g1'] : ['g2'], ...(i > 0 ? { manager: 'E1001' } : {}) }));
  const jdoe = person(100, { email: 'jdoe@example.com', groups: ['g1', 'g2', 'g3'], manager: 'E1001' });
  const kim = person(101, { email: 'kim@example.com', groups: ['g1'], manager: 'E1100' });
  const because = 'depends on failed createUser for jdoe@example.com';

  beforeEach(() => {
    // One operation at a time: the first POST /Users of a run is jdoe's.
    writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('concurrency: 4', 'concurrency: 1'));
    h.writePeople(base);
  });

  const groupId = (name: string) => String(h.sandbox.store.groups().find((g) => g['displayName'] === name)?.['id']);
  const refuseJdoe = () => h.sandbox.addFault({ method: 'POST', path: '/Users', times: 1, action: { type: 'status', status: 400, detail: 'jdoe is refused by policy' } });
  const writes = () => h.writes().map((w) => `${w.method} ${w.path} ${w.status}`);

  it('a refused create is one failure; the manager references and membership additions that need it are skipped because of it, on every run', async () => {
    expect((await h.run()).code).toBe(0);
    h.writePeople([...base, jdoe, kim]);
    h.sandbox.clearRequests();
    refuseJdoe();
    const first = await h.run();
    expect(first.code).toBe(1);
    const kimId = String(h.sandbox.store.findUserByUserName('kim@example.com')?.['id']);
    // jdoe refused, kim created, g3 created empty, g1 gets kim only; nothing for g2, g3 or the managers.
    expect(writes()).toEqual(['POST /Users 400', 'POST /Users 201', 'POST /Groups 201', `PATCH /Groups/${groupId('g1')} 200`]);
    expect(h.writes()[3]!.body).toMatchObject({ Operations: [{ op: 'add', path: 'members', value: [{ value: kimId }] }] });
    expect(first.out).toMatch(/✗ createUser jdoe@example\.com \(E1100\): .*jdoe is refused by policy/);
    expect(first.out).toContain(`- setManager jdoe@example.com (E1100): skipped: ${because}`);
    expect(first.out).toContain(`- setManager kim@example.com (E1101): skipped: ${because}`);
    expect(first.out).toContain(`- patchGroupMembers g2 (g2): skipped: ${because}`);
    expect(first.out).toContain(`- patchGroupMembers g3 (g3): skipped: ${because}`);
    expect(first.out).toContain(`~ patchGroupMembers g1 (g1): partial: 1 member skipped because their account was not created (${because})`);
    expect(first.out).toContain('Total: 2 ok, 1 failed, 4 skipped, 1 partial');

    const records = h.audit().filter((a) => a['planId'] !== undefined && a['externalId'] !== undefined);
    const lastPlan = records.at(-1)!['planId'];
    const mine = records.filter((a) => a['planId'] === lastPlan);
    expect(mine.filter((a) => a['outcome'] === 'failed')).toEqual([expect.objectContaining({ action: 'createUser', externalId: 'E1100' })]);
    expect(mine.filter((a) => a['outcome'] === 'skipped').map((a) => `${String(a['action'])} ${String(a['externalId'])} ${String(a['note'])}`).sort()).toEqual(
      [`patchGroupMembers g2 ${because}`, `patchGroupMembers g3 ${because}`, `setManager E1100 ${because}`, `setManager E1101 ${because}`].sort(),
    );
    expect(mine.filter((a) => a['outcome'] === 'partial')).toEqual([expect.objectContaining({ action: 'patchGroupMembers', externalId: 'g1' })]);

    // The next run: the same create is refused again; still exactly one failure and no write for what needs jdoe.
    h.sandbox.clearRequests();
    refuseJdoe();
    const second = await h.run('--json');
    expect(second.code).toBe(1);
    expect(writes()).toEqual(['POST /Users 400']);
    const doc = oneDocument(second.out) as {
      report: { targets: { failures: { kind: string; externalId: string }[]; skips: { kind: string; externalId: string; outcome: string; reason: string }[]; counts: Record<string, Record<string, number>> }[] };
    };
    const t = doc.report.targets[0]!;
    expect(t.failures.map((f) => `${f.kind} ${f.externalId}`)).toEqual(['createUser E1100']);
    expect(t.skips.map((s) => `${s.outcome} ${s.kind} ${s.externalId}: ${s.reason}`).sort()).toEqual(
      [
        `skipped patchGroupMembers g1: ${because}`,
        `skipped patchGroupMembers g2: ${because}`,
        `skipped patchGroupMembers g3: ${because}`,
        `skipped setManager E1100: ${because}`,
        `skipped setManager E1101: ${because}`,
      ].sort(),
    );
    expect(t.counts['setManager']).toEqual({ ok: 0, partial: 0, failed: 0, skipped: 2, unchanged: 0 });
    expect(t.counts['patchGroupMembers']).toEqual({ ok: 0, partial: 0, failed: 0, skipped: 3, unchanged: 0 });
  });
});

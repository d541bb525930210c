/**
 * What happens when things go wrong, over real HTTP: retries honour Retry-After, one bad request
 * fails alone, a wrong credential stops the target, a vanished account is re-created, and the
 * run lock, the bad-row threshold and config errors map to their exit codes.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness, person, TOKEN, withoutPreconditions } from '../support/harness.js';
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

function audit(): Record<string, unknown>[] {
  return readFileSync(join(h.dir, 'state', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('retries', () => {
  it('waits out a 429 with Retry-After and a 503, then converges with no failure', async () => {
    h.sandbox.addFault({ method: 'POST', path: '/Users', times: 2, action: { type: 'status', status: 429, retryAfter: '1' } });
    h.sandbox.addFault({ method: 'POST', path: '/Users', times: 1, action: { type: 'status', status: 503 } });
    const started = Date.now();
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(h.sandbox.store.users()).toHaveLength(10);
    const statuses = h.sandbox.requests.filter((q) => q.method === 'POST').map((q) => q.status);
    expect(statuses.filter((s) => s === 429)).toHaveLength(2);
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(audit().filter((a) => a['action'] === 'createUser' && (a['attempts'] as number) > 1).length).toBeGreaterThanOrEqual(1);
  });

  it('fails only the operation the server refuses, with its detail, and goes on', async () => {
    h.sandbox.addFault({ method: 'POST', path: '/Users', times: 1, action: { type: 'status', status: 400, detail: 'title is too long for this app' } });
    const r = await h.run();
    expect(r.code).toBe(1);
    expect(h.sandbox.store.users()).toHaveLength(9);
    expect(r.out).toMatch(/✗ createUser user\d+@example\.com \(E10\d\d\): .*title is too long for this app/);
    expect(r.out).toContain('Total: 9 ok, 1 failed, 0 skipped');
    const failed = audit().filter((a) => a['outcome'] === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ status: 400, error: { code: 'BAD_REQUEST', detail: 'title is too long for this app' } });
    // The next run picks the missing one up.
    expect((await h.run()).code).toBe(0);
    expect(h.sandbox.store.users()).toHaveLength(10);
  });
});

describe('a refusal answered as success', () => {
  it('a deactivation answered 200 with a SCIM Error body fails as the status in the body says, and is not audited as done', async () => {
    expect((await h.run()).code).toBe(0);
    h.writePeople(people.slice(1));
    h.sandbox.addFault({ method: 'PATCH', path: '/Users', times: 1, action: { type: 'status', status: 403, detail: 'Cannot deactivate an owner', answeredAs: 200 } });
    const r = await h.run();
    expect(r.code, r.out + r.err).toBe(1);
    expect(r.out).toContain('credential lacks permission (HTTP 403): Cannot deactivate an owner, answered as HTTP 200');
    expect(h.sandbox.requests.filter((q) => q.method === 'PATCH').map((q) => q.status)).toEqual([200]);
    expect(h.sandbox.store.users().find((u) => u['externalId'] === 'E1001')?.['active']).toBe(true);
    const deprovision = audit().filter((a) => a['action'] === 'deprovisionUser');
    expect(deprovision.map((a) => a['outcome'])).toEqual(['failed']);
    expect(deprovision[0]).toMatchObject({ status: 403, error: { code: 'AUTH', detail: 'Cannot deactivate an owner' } });
  });
});

describe('targets that cannot be used', () => {
  it('a wrong token: exit 1, the target named, no write, the token nowhere', async () => {
    process.env['TEST_SCIM_TOKEN'] = 'wrong-token-123456';
    const out: string[] = [];
    const { main } = await import('../../src/cli/main.js');
    const code = await main(['node', 'scim-sync', 'run', '--config', h.configFile], { out: (t) => out.push(t), err: (t) => out.push(t) });
    expect(code).toBe(1);
    const text = out.join('\n');
    expect(text).toContain('Target app');
    expect(text).toMatch(/credential rejected \(HTTP 401\)/);
    expect(text).not.toContain('wrong-token-123456');
    expect(h.writes()).toEqual([]);
  });

  it('a server that answers garbage: the request and target are named', async () => {
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>Login required</html>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace(h.sandbox.url, `http://127.0.0.1:${port}/scim/v2`));
    try {
      const r = await h.run();
      expect(r.code).toBe(1);
      expect(r.out).toContain('[PROTOCOL] answer is not a SCIM JSON object: "<html>Login required</html>"');
      expect(r.out).toContain('target app');
      expect(r.out).toContain('GET /ServiceProviderConfig');
    } finally {
      server.close();
    }
  });
});

describe('accounts that change under us', () => {
  it("re-creates an account deleted in the target between apply's check and its write", async () => {
    await h.run();
    h.writePeople(people.map((p) => (p.id === 'E1004' ? { ...p, title: 'Lead' } : p)));
    const planFile = join(h.dir, 'plan.json');
    expect((await h.cli('plan', '--config', h.configFile, '--out', planFile)).code).toBe(0);
    withoutPreconditions(planFile);
    const victim = h.sandbox.store.findUserByUserName('user4@example.com')!;
    const del = await fetch(`${h.sandbox.url}/Users/${String(victim['id'])}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(del.status).toBe(204);
    h.sandbox.clearRequests();
    const r = await h.cli('apply', planFile, '--config', h.configFile);
    expect(r.code, r.out + r.err).toBe(0);
    expect(h.writes().map((w) => `${w.method} ${w.status}`)).toEqual(['PATCH 404', 'POST 201']);
    const again = h.sandbox.store.findUserByUserName('user4@example.com')!;
    expect(again['title']).toBe('Lead');
    expect(again['externalId']).toBe('E1004');
    h.sandbox.clearRequests();
    expect((await h.run()).code).toBe(0);
    expect(h.writes()).toEqual([]);
  });

  it('uses PUT, keeping attributes it does not map, when the server has no PATCH', async () => {
    h.sandbox.behaviour.supportsPatch = false;
    await h.run();
    const u = h.sandbox.store.findUserByUserName('user2@example.com')!;
    h.sandbox.store.updateUser(String(u['id']), { nickName: 'Set in the app' });
    h.writePeople(people.map((p) => (p.id === 'E1002' ? { ...p, department: 'Research' } : p)));
    h.sandbox.clearRequests();
    expect((await h.run()).code).toBe(0);
    const writes = h.writes();
    expect(writes.map((w) => w.method)).toEqual(['PUT']);
    const after = h.sandbox.store.findUserByUserName('user2@example.com')!;
    expect(after['nickName']).toBe('Set in the app');
    expect(after['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User']).toMatchObject({ department: 'Research' });
  });

  it('respects the per-target switches', async () => {
    h.writeConfig('    operations: { create: false, update: true, deactivate: true }');
    expect((await h.run()).code).toBe(0);
    expect(h.writes()).toEqual([]);
  });
});

describe('runs that must not start', () => {
  it('exit 4 while another run holds the lock, nothing written', async () => {
    mkdirSync(join(h.dir, 'state'), { recursive: true });
    // A live process on this host (the test runner's parent) holds it; our own pid would be a previous life of this process.
    writeFileSync(join(h.dir, 'state', 'run.lock'), JSON.stringify({ pid: process.ppid, host: (await import('node:os')).hostname(), ...pidSpace, since: 'now' }));
    const r = await h.run();
    expect(r.code).toBe(4);
    expect(r.err).toContain('another run holds');
    expect(h.sandbox.requests).toEqual([]);
  });

  it('takes over a lock left by a process that no longer exists', async () => {
    mkdirSync(join(h.dir, 'state'), { recursive: true });
    writeFileSync(join(h.dir, 'state', 'run.lock'), JSON.stringify({ pid: 2 ** 22 + 17, host: (await import('node:os')).hostname(), ...pidSpace, since: 'then' }));
    expect((await h.run()).code).toBe(0);
  });

  it('exit 3 when too many source rows are invalid', async () => {
    const bad =
      'employee_id,first_name,last_name,email,title,department,status,groups,manager_id\n' +
      people.map((p, i) => `${i < 3 ? '' : p.id},${p.first},${p.last},${p.email},x,y,active,,`).join('\n');
    writeFileSync(h.csv, bad);
    const r = await h.run();
    expect(r.code).toBe(3);
    expect(r.err).toContain('3 of 10 source records are invalid (30.0%, limit 5%)');
    expect(h.writes()).toEqual([]);
  });

  it('exit 2 on a config error, naming every problem', async () => {
    writeFileSync(h.configFile, 'source: { type: csv, path: p.csv, key: id }\ntargets:\n  app:\n    url: ftp://x\n    auth: { type: magic }\n');
    const r = await h.cli('validate', '--config', h.configFile);
    expect(r.code).toBe(2);
    expect(r.err).toContain('targets.app.url (line 4)');
    expect(r.err).toContain('targets.app.auth.type (line 5)');
  });

  it('validate accepts the example config and schema prints a JSON Schema', async () => {
    const v = await h.cli('validate', '--config', h.configFile);
    expect(v.code, v.err).toBe(0);
    expect(v.out).toContain('valid (source csv, 1 target: app)');
    const s = await h.cli('schema');
    const schema = JSON.parse(s.out) as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['source', 'targets', 'safety', 'state']));
  });
});

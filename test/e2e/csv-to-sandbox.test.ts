/**
 * The foundation's promises, over real HTTP against the sandbox: create, converge, update, deactivate,
 * overwrite manual edits, leave unmanaged accounts alone, safety stops, filter escaping, and no
 * duplicate after a create whose answer was lost.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness, person, TOKEN, withoutPreconditions, type Person } from '../support/harness.js';
import { SCHEMA_PATCH_OP } from '../../src/model/scim.js';

let h: Harness;
const people: Person[] = Array.from({ length: 20 }, (_, i) => person(i + 1));

beforeEach(async () => {
  h = await Harness.start();
  h.writePeople(people);
});
afterEach(async () => {
  await h.close();
});

function userByName(userName: string) {
  return h.sandbox.store.findUserByUserName(userName);
}

describe('first run and convergence', () => {
  it('creates every user, then a second run sends no write', async () => {
    const first = await h.run();
    expect(first.code, first.err).toBe(0);
    const posts = h.writes();
    expect(posts).toHaveLength(20);
    expect(posts.every((r) => r.method === 'POST' && r.path.endsWith('/Users'))).toBe(true);
    const users = h.sandbox.store.users();
    expect(users).toHaveLength(20);
    const u1 = userByName('user1@example.com')!;
    expect(u1['externalId']).toBe('E1001');
    expect(u1['name']).toMatchObject({ givenName: 'First1', familyName: 'Last1' });
    expect(u1['displayName']).toBe('First1 Last1');
    expect(u1['emails']).toEqual([{ type: 'work', primary: true, value: 'user1@example.com' }]);
    expect(u1['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User']).toMatchObject({ department: 'Eng' });
    expect(u1['active']).toBe(true);

    h.sandbox.clearRequests();
    const second = await h.run();
    expect(second.code, second.err).toBe(0);
    expect(h.writes()).toEqual([]);
    expect(second.out).toContain('no changes');
  });

  it('a changed attribute gives one minimal PATCH', async () => {
    await h.run();
    h.writePeople(people.map((p) => (p.id === 'E1003' ? { ...p, title: 'Staff Engineer' } : p)));
    h.sandbox.clearRequests();
    const r = await h.run();
    expect(r.code, r.err).toBe(0);
    const writes = h.writes();
    expect(writes).toHaveLength(1);
    expect(writes[0]!.method).toBe('PATCH');
    expect(writes[0]!.body).toEqual({
      schemas: [SCHEMA_PATCH_OP],
      Operations: [{ op: 'replace', path: 'title', value: 'Staff Engineer' }],
    });
    expect(userByName('user3@example.com')!['title']).toBe('Staff Engineer');
    expect(r.out).toContain('title: "Engineer" -> "Staff Engineer"');
  });

  it('a removed row gives one deactivation, and a terminated status another', async () => {
    await h.run();
    h.writePeople(people.filter((p) => p.id !== 'E1005').map((p) => (p.id === 'E1006' ? { ...p, status: 'terminated' } : p)));
    h.sandbox.clearRequests();
    const r = await h.run();
    expect(r.code, r.err).toBe(0);
    const writes = h.writes();
    expect(writes).toHaveLength(2);
    for (const w of writes) {
      expect(w.method).toBe('PATCH');
      expect(w.body).toEqual({ schemas: [SCHEMA_PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] });
    }
    expect(userByName('user5@example.com')!['active']).toBe(false);
    expect(userByName('user6@example.com')!['active']).toBe(false);
    expect(h.sandbox.store.users()).toHaveLength(20);
    // Deactivated accounts stay deactivated without further writes.
    h.sandbox.clearRequests();
    expect((await h.run()).code).toBe(0);
    expect(h.writes()).toEqual([]);
  });

  it('a manual edit in the target is overwritten on the next run', async () => {
    await h.run();
    const u = userByName('user7@example.com')!;
    const id = u['id'] as string;
    const res = await fetch(`${h.sandbox.url}/Users/${id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify({ schemas: [SCHEMA_PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Self-appointed CTO' }, { op: 'replace', path: 'name.givenName', value: 'Sneaky' }] }),
    });
    expect(res.status).toBe(200);
    h.sandbox.clearRequests();
    const r = await h.run();
    expect(r.code, r.err).toBe(0);
    expect(h.writes()).toHaveLength(1);
    const after = userByName('user7@example.com')!;
    expect(after['title']).toBe('Engineer');
    expect((after['name'] as Record<string, unknown>)['givenName']).toBe('First7');
  });

  it('leaves an account the engine did not create untouched, even when its person leaves', async () => {
    h.sandbox.store.createUser({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'contractor@example.com', active: true, title: 'Contractor' });
    // Same userName as a source person, but made by hand: not ours unless adopt is set.
    h.sandbox.store.createUser({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'user2@example.com', active: true, title: 'Handmade' });
    const r = await h.run();
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('user2@example.com');
    expect(r.out).toContain('does not manage');
    expect(h.writes().filter((w) => w.method === 'POST')).toHaveLength(19);
    expect(userByName('user2@example.com')!['title']).toBe('Handmade');
    h.writePeople(people.filter((p) => p.id !== 'E1002'));
    h.sandbox.clearRequests();
    expect((await h.run()).code).toBe(0);
    expect(h.writes()).toEqual([]);
    expect(userByName('contractor@example.com')!['active']).toBe(true);
    expect(userByName('user2@example.com')!['active']).toBe(true);
  });

  it('adopts a hand-made account by userName when told to', async () => {
    h.sandbox.store.createUser({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'user2@example.com', active: true, title: 'Handmade' });
    h.writeConfig('    adopt: userName');
    const r = await h.run();
    expect(r.code, r.err).toBe(0);
    expect(h.sandbox.store.users()).toHaveLength(20);
    const u2 = userByName('user2@example.com')!;
    expect(u2['externalId']).toBe('E1002');
    expect(u2['title']).toBe('Engineer');
    h.sandbox.clearRequests();
    expect((await h.run()).code).toBe(0);
    expect(h.writes()).toEqual([]);
  });

  it('writes every change to the audit log, without the token', async () => {
    await h.run();
    const audit = readFileSync(join(h.dir, 'state', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const creates = audit.filter((a) => a['action'] === 'createUser');
    expect(creates).toHaveLength(20);
    expect(creates[0]).toMatchObject({ target: 'app', outcome: 'ok', attempts: 1 });
    expect(typeof creates[0]!['scimId']).toBe('string');
    expect(readFileSync(join(h.dir, 'state', 'audit.jsonl'), 'utf8')).not.toContain(TOKEN);
  });
});

describe('safety', () => {
  it('stops on an empty CSV: exit 3, nothing written', async () => {
    await h.run();
    h.writePeople([]);
    h.sandbox.clearRequests();
    const r = await h.run();
    expect(r.code).toBe(3);
    expect(r.err).toContain('source returned 0 users');
    // The plan names the real cause, not a mapping error: the target is read and planned.
    expect(r.out).not.toContain('cannot plan');
    expect(r.out).toMatch(/Target app: \d+ accounts, \d+ managed by scim-sync/);
    expect(h.writes()).toEqual([]);
    expect(h.sandbox.store.users().every((u) => u['active'] === true)).toBe(true);
  });

  it('stops on a mass removal, and the override applies it with an audit record', async () => {
    await h.run();
    h.writePeople(people.slice(0, 10));
    h.sandbox.clearRequests();
    const r = await h.run();
    expect(r.code).toBe(3);
    expect(r.err).toContain('10 of 20 managed users would be deprovisioned');
    expect(h.writes()).toEqual([]);

    const forced = await h.run('--override-safety');
    expect(forced.code, forced.err).toBe(0);
    expect(h.sandbox.store.users().filter((u) => u['active'] === false)).toHaveLength(10);
    const audit = readFileSync(join(h.dir, 'state', 'audit.jsonl'), 'utf8');
    expect(audit).toContain('"action":"safety.override"');
  });
});

describe('identities that are hard to find', () => {
  it('finds a userName with " and \\ by filter instead of duplicating it', async () => {
    const tricky = 'o"brien\\ops@example.com';
    h.writePeople([...people, person(99, { email: tricky })]);
    const planFile = join(h.dir, 'plan.json');
    const planned = await h.cli('plan', '--config', h.configFile, '--out', planFile);
    expect(planned.code, planned.err).toBe(0);
    withoutPreconditions(planFile);
    // Between apply's check and its write, another process created the account: the POST gets 409
    // and only a correctly escaped userName filter finds it.
    h.sandbox.store.createUser({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: tricky, externalId: 'E1099', active: true });
    const r = await h.cli('apply', planFile, '--config', h.configFile);
    expect(r.code, r.err + r.out).toBe(0);
    expect(h.sandbox.store.users().filter((u) => u['userName'] === tricky)).toHaveLength(1);
    const lookups = h.sandbox.requests.filter((q) => q.method === 'GET' && q.query.includes('filter'));
    expect(lookups.map((q) => new URLSearchParams(q.query).get('filter'))).toContain('userName eq "o\\"brien\\\\ops@example.com"');
    h.sandbox.clearRequests();
    expect((await h.run()).code).toBe(0);
    expect(h.writes()).toEqual([]);
  });

  it('a create committed by the server whose answer times out is not duplicated on retry', async () => {
    h.writeConfig('    timeoutMs: 400');
    h.writePeople([person(1)]);
    h.sandbox.addFault({ method: 'POST', path: '/Users', times: 1, when: 'after', action: { type: 'hang' } });
    const r = await h.run();
    expect(r.code, r.err).toBe(0);
    expect(h.sandbox.store.users()).toHaveLength(1);
    // The retry looked before posting again.
    const posts = h.sandbox.requests.filter((q) => q.method === 'POST');
    expect(posts).toHaveLength(1);
    h.sandbox.clearRequests();
    expect((await h.run()).code).toBe(0);
    expect(h.writes()).toEqual([]);
  });
});

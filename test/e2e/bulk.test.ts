/**
 * /Bulk (quirk bulk: auto) against the sandbox with Bulk enabled: batches within the server's
 * limits, per-operation results handled one by one, failures finished by single requests.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, memberNames, person, withoutPreconditions } from '../support/harness.js';
import { hostileProxy, type HostileProxy } from '../support/hostile-proxy.js';
import { SCHEMA_USER } from '../../src/model/scim.js';

let h: Harness | undefined;
let proxy: HostileProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  await h?.close();
  h = proxy = undefined;
});

const people = Array.from({ length: 25 }, (_, i) => person(i + 1));
const bulkRequests = (h: Harness) => h.sandbox.requests.filter((r) => r.path === '/Bulk');
const sizes = (h: Harness) => bulkRequests(h).map((r) => (r.body as { Operations: unknown[] }).Operations.length);

async function start(limits: { maxOperations: number; maxPayloadSize: number }, quirk = '    quirks: { bulk: auto }'): Promise<Harness> {
  h = await Harness.start({ sandbox: { behaviour: { bulk: limits } }, target: quirk });
  h.writePeople(people);
  return h;
}

describe('/Bulk', () => {
  it('creates in batches of maxOperations, then updates and deactivates in one, then sends nothing', async () => {
    const h = await start({ maxOperations: 10, maxPayloadSize: 1_048_576 });
    const first = await h.run();
    expect(first.code, first.err + first.out).toBe(0);
    expect(sizes(h).sort((a, b) => a - b)).toEqual([5, 10, 10]);
    expect(h.sandbox.requests.filter((r) => r.method === 'POST' && r.path === '/Users')).toEqual([]);
    expect(h.sandbox.store.users()).toHaveLength(25);
    expect(bulkRequests(h).every((r) => r.status === 200)).toBe(true);

    h.sandbox.clearRequests();
    h.writePeople(people.map((p, i) => (i === 0 ? { ...p, title: 'CTO' } : i === 1 ? { ...p, status: 'terminated' } : p)));
    expect((await h.run()).code).toBe(0);
    expect(sizes(h)).toEqual([1, 1]);
    expect(h.sandbox.store.findUserByUserName('user1@example.com')!['title']).toBe('CTO');
    expect(h.sandbox.store.findUserByUserName('user2@example.com')!['active']).toBe(false);

    h.sandbox.clearRequests();
    expect((await h.run()).code).toBe(0);
    expect(h.sandbox.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('keeps every request under maxPayloadSize', async () => {
    const h = await start({ maxOperations: 100, maxPayloadSize: 4000 });
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(0);
    expect(h.sandbox.store.users()).toHaveLength(25);
    expect(bulkRequests(h).length).toBeGreaterThan(2);
    expect(bulkRequests(h).every((q) => q.status === 200 && JSON.stringify(q.body).length <= 4000)).toBe(true);
  });

  it('an operation the server refuses inside the batch is finished by its single request (here: adopting its own earlier create)', async () => {
    const h = await start({ maxOperations: 10, maxPayloadSize: 1_048_576 });
    const file = join(h.dir, 'plan.json');
    expect((await h.cli('plan', '--config', h.configFile, '--out', file)).code).toBe(0);
    withoutPreconditions(file);
    // As if an earlier apply created it and lost the answer: same userName, our externalId.
    h.sandbox.store.createUser({ schemas: [SCHEMA_USER], userName: 'user3@example.com', externalId: 'E1003', active: true });
    const r = await h.cli('apply', file, '--config', h.configFile);
    expect(r.code, r.err + r.out).toBe(0);
    expect(h.sandbox.store.users()).toHaveLength(25);
    const inner = bulkRequests(h).flatMap((q) => ((q.body as { Operations: { data?: { userName?: string } }[] }).Operations ?? []).map((o) => o.data?.userName));
    expect(inner.filter((u) => u === 'user3@example.com')).toHaveLength(1);
    const singles = h.sandbox.requests.filter((q) => q.path.startsWith('/Users') && q.method !== 'GET').map((q) => `${q.method} ${q.status}`);
    expect(singles).toEqual(['POST 409', 'PUT 200']);
    expect((await h.run()).code).toBe(0);
  });

  it('off unless the target asks for it', async () => {
    const h = await start({ maxOperations: 10, maxPayloadSize: 1_048_576 }, '');
    expect((await h.run()).code).toBe(0);
    expect(bulkRequests(h)).toEqual([]);
    expect(h.sandbox.requests.filter((r) => r.method === 'POST' && r.path === '/Users')).toHaveLength(25);
  });

  it('a server that leaves bulkId out and answers in reverse: no create is linked to another\'s account, each is found by its key', async () => {
    const h = await start({ maxOperations: 10, maxPayloadSize: 1_048_576 });
    expect((await h.run()).code).toBe(0);
    proxy = await hostileProxy(h.sandbox.url);
    writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace(h.sandbox.url, proxy.url));
    proxy.hook = async (req, forward) => {
      if (req.method !== 'POST' || req.path !== '/Bulk') return undefined;
      const answer = await forward();
      const body = answer.body as { Operations: Record<string, unknown>[] };
      body.Operations = body.Operations.map(({ bulkId: _dropped, ...rest }) => rest).reverse();
      return answer;
    };
    h.writePeople([...people, person(60, { groups: ['admins'] }), person(61, { groups: ['staff'] })]);
    h.sandbox.clearRequests();
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(0);
    expect(memberNames(h.sandbox, 'admins')).toEqual(['user60@example.com']);
    expect(memberNames(h.sandbox, 'staff')).toEqual(['user61@example.com']);
    // Made once each, by the /Bulk request; then looked up, not posted again.
    expect(h.sandbox.store.users()).toHaveLength(27);
    expect(h.sandbox.requests.filter((q) => q.method === 'POST' && q.path === '/Users')).toEqual([]);
    const lookups = h.sandbox.requests.filter((q) => q.method === 'GET' && q.path === '/Users' && /user6[01]@example\.com/.test(decodeURIComponent(q.query)));
    expect(lookups).toHaveLength(2);
    const created = h.audit().filter((a) => a['action'] === 'createUser' && /^user6[01]@/.test(String(a['label'])));
    expect(created.map((a) => [a['label'], a['outcome'], a['scimId']]).sort()).toEqual(
      ['user60@example.com', 'user61@example.com'].map((u) => [u, 'ok', h.sandbox.store.findUserByUserName(u)!['id']]).sort(),
    );
    // Linked right: the next run has nothing to do.
    h.sandbox.clearRequests();
    expect((await h.run()).code).toBe(0);
    expect(h.writes()).toEqual([]);
  });
});


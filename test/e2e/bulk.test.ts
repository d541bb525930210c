/**
 * /Bulk (quirk bulk: auto) against the sandbox with Bulk enabled: batches within the server's
 * limits, per-operation results handled one by one, failures finished by single requests.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, person, withoutPreconditions } from '../support/harness.js';
import { SCHEMA_USER } from '../../src/model/scim.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
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
});

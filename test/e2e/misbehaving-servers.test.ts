/**
 * Servers that answer a write in ways a client must not take at face value (issue: converge on
 * servers that store things wrong): a create answered without its id, and a 5xx that says, with a
 * scimType, that the request itself is wrong.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Harness, person } from '../support/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await Harness.start({ target: '    retries: 3' });
});
afterEach(async () => {
  await h.close();
});

const audit = () => readFileSync(join(h.dir, 'state', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

it('a create answered 201 without an id is looked up, not failed, and not posted twice', async () => {
  h.writePeople([person(1, { email: 'ann+hr@example.com' }), person(2)]);
  h.sandbox.addFault({ method: 'POST', path: '/Users', times: 1, when: 'after', action: { type: 'no-id' } });
  const r = await h.run();
  expect(r.code, r.err + r.out).toBe(0);
  expect(h.sandbox.requests.filter((q) => q.method === 'POST' && q.path === '/Users')).toHaveLength(2);
  expect(h.sandbox.store.users()).toHaveLength(2);
  expect(audit().filter((a) => a['action'] === 'createUser').map((a) => a['outcome'])).toEqual(['ok', 'ok']);
  expect(audit().some((a) => a['note'] === 'created (confirmed after a lost answer)')).toBe(true);
  // Linked: the next run writes nothing.
  h.sandbox.clearRequests();
  expect((await h.run()).code).toBe(0);
  expect(h.writes()).toEqual([]);
});

it('a group create answered without an id is confirmed by its name, not created twice', async () => {
  h.writePeople([person(1, { groups: ['ops/eu'] })]);
  h.sandbox.addFault({ method: 'POST', path: '/Groups', times: 1, when: 'after', action: { type: 'no-id' } });
  const r = await h.run();
  expect(r.code, r.err + r.out).toBe(0);
  expect(h.sandbox.store.groups()).toHaveLength(1);
  expect(h.sandbox.requests.filter((q) => q.method === 'POST' && q.path === '/Groups')).toHaveLength(1);
  h.sandbox.clearRequests();
  expect((await h.run()).code).toBe(0);
  expect(h.writes()).toEqual([]);
});

it('a 500 with a scimType is final: one attempt, the server reason in the report', async () => {
  h.writePeople([person(1), person(2)]);
  h.sandbox.addFault({ method: 'POST', path: '/Users', times: 1, action: { type: 'status', status: 500, scimType: 'invalidSyntax', detail: 'name is not a valid key' } });
  const r = await h.run();
  expect(r.code).toBe(1);
  expect(h.sandbox.requests.filter((q) => q.method === 'POST').map((q) => q.status).sort()).toEqual([201, 500]);
  expect(r.out).toMatch(/server error \(HTTP 500\) that the server marks final \(scimType invalidSyntax\): name is not a valid key/);
  expect(audit().find((a) => a['outcome'] === 'failed')).toMatchObject({ attempts: 1, status: 500 });
});

it('a 500 without a scimType is still retried', async () => {
  h.writePeople([person(1)]);
  h.sandbox.addFault({ method: 'POST', path: '/Users', times: 1, action: { type: 'status', status: 500 } });
  const r = await h.run();
  expect(r.code, r.err + r.out).toBe(0);
  expect(h.sandbox.requests.filter((q) => q.method === 'POST').map((q) => q.status)).toEqual([500, 201]);
});

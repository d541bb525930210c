/**
 * If-Match with the version an operation was planned on, against the sandbox (which enforces ETags):
 * an account changed between plan and apply answers 412; the engine reads it again and re-applies
 * the planned change, keeping what the other writer changed.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SCHEMA_PATCH_OP } from '../../src/model/scim.js';
import { Harness, person, TOKEN, withoutPreconditions } from '../support/harness.js';

let h: Harness;
const people = Array.from({ length: 5 }, (_, i) => person(i + 1));

beforeEach(async () => {
  h = await Harness.start();
  h.writePeople(people);
  expect((await h.run()).code).toBe(0);
});
afterEach(async () => {
  await h.close();
});

const idOf = (userName: string) => h.sandbox.store.findUserByUserName(userName)!['id'] as string;

/** Someone else edits the account: its version moves on. */
async function editElsewhere(userName: string, path: string, value: string): Promise<void> {
  const res = await fetch(`${h.sandbox.url}/Users/${idOf(userName)}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/scim+json' },
    body: JSON.stringify({ schemas: [SCHEMA_PATCH_OP], Operations: [{ op: 'replace', path, value }] }),
  });
  expect(res.status).toBe(200);
}

/**
 * Plan now, let `meanwhile` happen, then apply the saved plan without its preconditions (as if the
 * change landed between apply's check and its write); returns the requests of the apply.
 */
async function planThenApply(meanwhile: () => Promise<void>) {
  const file = join(h.dir, 'plan.json');
  expect((await h.cli('plan', '--config', h.configFile, '--out', file)).code).toBe(0);
  withoutPreconditions(file);
  await meanwhile();
  h.sandbox.clearRequests();
  const r = await h.cli('apply', file, '--config', h.configFile);
  return { r, requests: h.sandbox.requests.map((q) => `${q.method} ${q.path} ${q.status}`) };
}

describe('ETags', () => {
  it('PATCH: 412, read again, re-applied with the new version; the other change is kept', async () => {
    h.writePeople(people.map((p, i) => (i === 0 ? { ...p, title: 'Head of Platform' } : p)));
    const id = idOf('user1@example.com');
    const { r, requests } = await planThenApply(() => editElsewhere('user1@example.com', 'profileUrl', 'https://intranet.example.com/u1'));
    expect(r.code, r.err + r.out).toBe(0);
    expect(requests).toEqual([`PATCH /Users/${id} 412`, `GET /Users/${id} 200`, `PATCH /Users/${id} 200`]);
    const [stale, , fresh] = h.sandbox.requests;
    expect(stale!.headers['if-match']).not.toBe(fresh!.headers['if-match']);
    const user = h.sandbox.store.findUserByUserName('user1@example.com')!;
    expect(user['title']).toBe('Head of Platform');
    expect(user['profileUrl']).toBe('https://intranet.example.com/u1');
  });

  it('PUT: the body is rebuilt on the fresh read, so the other change survives a full replace', async () => {
    h.writeConfig('    updateMethod: put');
    h.writePeople(people.map((p, i) => (i === 0 ? { ...p, title: 'Head of Platform' } : p)));
    const id = idOf('user1@example.com');
    const { r, requests } = await planThenApply(() => editElsewhere('user1@example.com', 'profileUrl', 'https://intranet.example.com/u1'));
    expect(r.code, r.err + r.out).toBe(0);
    expect(requests).toEqual([`PUT /Users/${id} 412`, `GET /Users/${id} 200`, `PUT /Users/${id} 200`]);
    const user = h.sandbox.store.findUserByUserName('user1@example.com')!;
    expect(user['title']).toBe('Head of Platform');
    expect(user['profileUrl']).toBe('https://intranet.example.com/u1');
  });

  it('a deactivation planned on an old version is re-applied', async () => {
    h.writePeople(people.map((p, i) => (i === 1 ? { ...p, status: 'terminated' } : p)));
    const id = idOf('user2@example.com');
    const { r, requests } = await planThenApply(() => editElsewhere('user2@example.com', 'nickName', 'Two'));
    expect(r.code, r.err + r.out).toBe(0);
    expect(requests).toEqual([`PATCH /Users/${id} 412`, `GET /Users/${id} 200`, `PATCH /Users/${id} 200`]);
    expect(h.sandbox.store.findUserByUserName('user2@example.com')!['active']).toBe(false);
  });

  it('a change already made by the other writer is not sent again', async () => {
    h.writePeople(people.map((p, i) => (i === 0 ? { ...p, title: 'Head of Platform' } : p)));
    const id = idOf('user1@example.com');
    const { r, requests } = await planThenApply(() => editElsewhere('user1@example.com', 'title', 'Head of Platform'));
    expect(r.code, r.err + r.out).toBe(0);
    expect(requests).toEqual([`PATCH /Users/${id} 412`, `GET /Users/${id} 200`]);
  });

  it('a second 412 fails that operation alone, with a clear message', async () => {
    h.writePeople(people.map((p, i) => (i < 2 ? { ...p, title: 'Staff' } : p)));
    const id = idOf('user1@example.com');
    h.sandbox.addFault({ method: 'PATCH', path: `/Users/${id}`, times: 2, action: { type: 'status', status: 412, detail: 'version mismatch' } });
    const { r } = await planThenApply(async () => undefined);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/✗ updateUser user1@example.com \(E1001\): \[PRECONDITION_FAILED\] the account changed again while scim-sync re-applied its change; the next run plans it afresh/);
    expect(h.sandbox.store.findUserByUserName('user2@example.com')!['title']).toBe('Staff');
  });
});

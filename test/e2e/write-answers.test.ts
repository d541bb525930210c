/**
 * What the executor believes of the answers to its writes, against a server that answers wrongly:
 * the sandbox behind a loopback proxy that answers chosen requests itself, or rewrites them. A 404
 * to a write is "gone" only when a read by id says so too (and a re-create that follows stays within
 * the safety limits on re-creates); a deactivation is done only when the account reads inactive; a
 * create's answer is the new account only when it carries what was sent; and `adopt: email` takes
 * no account by its userName alone.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, memberNames, person, withoutPreconditions, type Person } from '../support/harness.js';
import { HTML_404, proxyFor, usersGone, type HostileProxy } from '../support/hostile-proxy.js';
import { readLinkTables } from '../support/links-file.js';

let h: Harness | undefined;
let p: HostileProxy | undefined;
afterEach(async () => {
  await p?.close();
  await h?.close();
  h = p = undefined;
});

const twenty = Array.from({ length: 20 }, (_, i) => person(i + 1));
const NOT_FOUND = { status: 404, body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '404', detail: 'Not Found' } };

/** `people` synced, then the config written with `target` lines and pointed at a proxy in front of the sandbox. */
async function behindProxy(people: readonly Person[], target = '    retries: 2', sandbox = {}): Promise<{ h: Harness; p: HostileProxy }> {
  h = await Harness.synced(people, { sandbox });
  h.writeConfig(target);
  p = await proxyFor(h);
  return { h, p };
}

const account = (n: number) => h!.sandbox.store.findUserByUserName(`user${n}@example.com`)!;
const links = (kind: 'user' | 'group') =>
  readLinkTables(join(h!.dir, 'state', 'links.json'))[`app/${kind}`] ?? {};
const records = (action: string) => h!.audit().filter((a) => a['action'] === action);
const sent = (method: string, path: RegExp) => p!.seen.filter((s) => s.method === method && path.test(s.path));

describe('a 404 to a write is "gone" only when a read by id answers 404 too', () => {
  it('a deactivation answered 404 for a live account fails, keeps the link, and deactivates the leaver once the server answers right', async () => {
    const { h, p } = await behindProxy(twenty);
    const leaver = account(1);
    h.writePeople(twenty.slice(1));
    p.hook = (req) => (req.method === 'PATCH' && req.path.startsWith('/Users/') ? NOT_FOUND : undefined);
    const r = await h.run();
    expect(r.code, r.out + r.err).toBe(1);
    // Each attempt: the PATCH, then a read by id, which finds the account.
    expect(p.seen.filter((s) => s.path === `/Users/${String(leaver['id'])}`).map((s) => s.method)).toEqual(['PATCH', 'GET', 'PATCH', 'GET']);
    const [rec] = records('deprovisionUser');
    expect(rec).toMatchObject({ outcome: 'failed', attempts: 2, error: { code: 'TRANSIENT' } });
    expect(String((rec!['error'] as { message: string }).message)).toContain(`PATCH /Users/${String(leaver['id'])} answered not found (HTTP 404): Not Found, but reading Users/${String(leaver['id'])} finds it: not taken as gone; its link is kept`);
    expect(links('user')['E1001']?.id).toBe(leaver['id']);
    expect(account(1)['active']).toBe(true);

    p.hook = () => undefined;
    const again = await h.run();
    expect(again.code, again.out + again.err).toBe(0);
    expect(account(1)['active']).toBe(false);
  });

  it('a group delete answered 404 for a live group fails and keeps its link', async () => {
    const people = twenty.map((x) => ({ ...x, groups: ['staff', 'old'] }));
    const { h, p } = await behindProxy(people, '    retries: 2\n    deprovision: delete');
    const old = h.sandbox.store.findGroupByDisplayName('old')!;
    h.writePeople(people.map((x) => ({ ...x, groups: ['staff'] })));
    p.hook = (req) => (req.method === 'DELETE' && req.path.startsWith('/Groups/') ? NOT_FOUND : undefined);
    const r = await h.run();
    expect(r.code, r.out + r.err).toBe(1);
    expect(p.seen.filter((s) => s.path === `/Groups/${String(old['id'])}` && s.method !== 'PATCH').map((s) => s.method)).toEqual(['DELETE', 'GET', 'DELETE', 'GET']);
    expect(records('deleteGroup')).toEqual([expect.objectContaining({ outcome: 'failed', error: expect.objectContaining({ code: 'TRANSIENT' }) })]);
    expect(Object.values(links('group')).map((l) => l.id)).toContain(old['id']);
    expect(h.sandbox.store.findGroupByDisplayName('old')).toBeDefined();
  });

  it('updates answered 404 (an HTML page) for live accounts make no account: they fail and are tried again next run', async () => {
    const { h, p } = await behindProxy(twenty);
    p.hook = (req) => (req.method === 'PATCH' && req.path.startsWith('/Users/') ? HTML_404 : undefined);
    h.writePeople(twenty.map((x, i) => (i < 10 ? { ...x, title: 'Staff Engineer' } : x)));
    const r = await h.run();
    expect(r.code, r.out + r.err).toBe(1);
    expect(sent('POST', /^\/Users$/)).toEqual([]);
    expect(h.sandbox.store.userCount).toBe(20);
    expect(records('updateUser').map((a) => a['outcome'])).toEqual(Array(10).fill('failed'));
    for (const n of [1, 10]) expect(links('user')[`E${1000 + n}`]?.id).toBe(account(n)['id']);

    // A server that refuses every write is quarantined, as any other would be.
    expect(r.out).toContain('quarantined: 10 of 10 operations failed');
    expect((await h.cli('unquarantine', '--target', 'app', '--config', h.configFile)).code).toBe(0);
    p.hook = () => undefined;
    const again = await h.run();
    expect(again.code, again.out + again.err).toBe(0);
    expect(h.sandbox.store.users().filter((u) => u['title'] === 'Staff Engineer')).toHaveLength(10);
    expect(h.sandbox.store.userCount).toBe(20);
  });

  it('accounts a write and a read both find gone are made again only within the re-create limits, and reported as re-created', async () => {
    const { h, p } = await behindProxy(twenty);
    p.hook = usersGone();
    // 10 of 20 change: within alwaysAllowAttributeChanges, so the plan passes; it holds no re-create.
    h.writePeople(twenty.map((x, i) => (i < 10 ? { ...x, title: 'Staff Engineer' } : x)));
    const r = await h.run();
    expect(r.code, r.out + r.err).toBe(1);
    // alwaysAllowRecreates (3) is above 10% of 20.
    expect(sent('POST', /^\/Users$/)).toHaveLength(3);
    const updates = records('updateUser');
    expect(updates.filter((a) => a['outcome'] === 'ok').map((a) => a['note'])).toEqual(Array(3).fill('recreated (the account was gone)'));
    const refused = updates.filter((a) => a['outcome'] === 'failed');
    expect(refused).toHaveLength(7);
    expect(String((refused[0]!['error'] as { message: string }).message)).toMatch(
      /gone from the target \(its write and a read by id both answer 404\), but is not created again: this apply may re-create at most 3 accounts \(safety\.alwaysAllowRecreates, safety\.maxRecreatePercent/,
    );
    expect(r.out).toContain('app: updated 0, re-created 3 whose accounts were gone (7 failed)');
    // Those refused keep their link: the next plan counts them as re-creates.
    const kept = refused.map((a) => String(a['externalId']));
    for (const key of kept) expect(links('user')[key]?.id).toBe(h.sandbox.store.users().find((u) => u['externalId'] === key)!['id']);
  });
});

describe('a deactivation is done only when the account reads inactive', () => {
  it('answered 200 with the account still active: failed, every run, and the account named', async () => {
    const { h, p } = await behindProxy(twenty);
    const before = structuredClone(account(1));
    h.writePeople(twenty.slice(1));
    p.hook = (req) => (req.method === 'PATCH' && req.path.startsWith('/Users/') ? { status: 200, body: before } : undefined);
    for (let run = 1; run <= 2; run++) {
      const r = await h.run();
      expect(r.code, r.out + r.err).toBe(1);
      expect(records('deprovisionUser').at(-1)).toMatchObject({
        outcome: 'failed',
        error: { code: 'NOT_STORED', message: `the target answered the deactivation with success, but the account (id ${String(before['id'])}) is still active when read back: not deprovisioned; every run tries again` },
      });
    }
    expect(account(1)['active']).toBe(true);
  });

  it('answered 204 without a body: read back, and done when it reads inactive', async () => {
    const { h, p } = await behindProxy(twenty);
    h.writePeople(twenty.slice(1));
    p.hook = async (req, forward) => (req.method === 'PATCH' && req.path.startsWith('/Users/') ? (await forward(), { status: 204 }) : undefined);
    const r = await h.run();
    expect(r.code, r.out + r.err).toBe(0);
    expect(p.seen.filter((s) => s.path === `/Users/${String(account(1)['id'])}`).map((s) => s.method)).toEqual(['PATCH', 'GET']);
    expect(records('deprovisionUser').map((a) => a['outcome'])).toEqual(['ok']);
  });

  it('on a server that does not keep active, through /Bulk too: failed, not reported done', async () => {
    h = await Harness.start({ sandbox: { behaviour: { ignoredAttributes: ['active'], bulk: { maxOperations: 10, maxPayloadSize: 1_048_576 } } }, target: '    quirks: { bulk: auto }' });
    h.writePeople(twenty);
    expect((await h.run()).code).toBe(0);
    h.sandbox.clearRequests();
    h.writePeople(twenty.slice(2));
    const r = await h.run();
    expect(r.code, r.out + r.err).toBe(1);
    expect(h.sandbox.requests.filter((q) => q.path === '/Bulk')).toHaveLength(1);
    expect(records('deprovisionUser').map((a) => `${String(a['outcome'])} ${String((a['error'] as { code?: string } | undefined)?.code)}`)).toEqual(['failed NOT_STORED', 'failed NOT_STORED']);
    expect(r.out).toContain('deprovisioned 0 (2 failed)');
  });
});

describe("a create's answer is the new account only when it carries what was sent", () => {
  it("answered with a colleague's id, userName and externalId: the new hire is linked to their own account, and the colleague gets nothing of theirs", async () => {
    const people = [...Array.from({ length: 10 }, (_, i) => person(i + 1, { groups: ['staff'] })), person(50, { groups: ['admins'] })];
    const { h, p } = await behindProxy(people);
    const colleague = account(3);
    p.hook = async (req, forward) => {
      if (req.method !== 'POST' || req.path !== '/Users') return undefined;
      const a = await forward();
      return { ...a, body: { ...(a.body as object), id: colleague['id'], userName: 'user3@example.com', externalId: 'E1003' } };
    };
    h.writePeople([...people, person(60, { groups: ['admins'] })]);
    const r = await h.run();
    expect(r.code, r.out + r.err).toBe(0);
    expect(memberNames(h.sandbox, 'admins')).toEqual(['user50@example.com', 'user60@example.com']);
    expect(links('user')['E1060']?.id).toBe(account(60)['id']);
    expect(links('user')['E1003']?.id).toBe(colleague['id']);
    expect(sent('POST', /^\/Users$/)).toHaveLength(1);
    expect(records('createUser').filter((a) => a['externalId'] === 'E1060')).toEqual([
      expect.objectContaining({ outcome: 'ok', attempts: 2, scimId: account(60)['id'], note: 'created (confirmed after a lost answer)' }),
    ]);
  });

  it('through /Bulk: a result whose answer names another account is looked up, not linked', async () => {
    h = await Harness.start({ sandbox: { behaviour: { bulk: { maxOperations: 10, maxPayloadSize: 1_048_576 } } }, target: '    quirks: { bulk: auto }' });
    h.writePeople(twenty);
    expect((await h.run()).code).toBe(0);
    p = await proxyFor(h);
    const colleague = account(3);
    p.hook = async (req, forward) => {
      if (req.method !== 'POST' || req.path !== '/Bulk') return undefined;
      const a = await forward();
      const body = a.body as { Operations: { location?: string; response?: unknown }[] };
      const base = body.Operations[0]!.location!.replace(/[^/]+$/, '');
      body.Operations = body.Operations.map((o) => ({ ...o, location: `${base}${String(colleague['id'])}`, response: { id: colleague['id'], userName: 'user3@example.com', externalId: 'E1003' } }));
      return a;
    };
    h.writePeople([...twenty, person(21)]);
    const r = await h.run();
    expect(r.code, r.out + r.err).toBe(0);
    expect(links('user')['E1021']?.id).toBe(account(21)['id']);
    expect(links('user')['E1003']?.id).toBe(colleague['id']);
    expect(h.sandbox.store.users().filter((u) => u['externalId'] === 'E1021')).toHaveLength(1);
  });
});

it("adopt: email takes, after a 409, no account by its userName alone: a contractor's account with another work email is left alone", async () => {
  const people = Array.from({ length: 5 }, (_, i) => person(i + 1));
  h = await Harness.synced(people);
  h.writeConfig('    adopt: email');
  h.writePeople([...people, person(100, { email: 'newhire@example.com' })]);
  const plan = join(h.dir, 'plan.json');
  expect((await h.cli('plan', '--config', h.configFile, '--out', plan)).code).toBe(0);
  withoutPreconditions(plan);
  // Made by hand after the plan: a contractor who got that userName, with their own mailbox.
  const { id } = h.sandbox.store.createUser({ userName: 'newhire@example.com', name: { givenName: 'Con', familyName: 'Tractor' }, emails: [{ value: 'contractor@vendor.example', type: 'work', primary: true }], title: 'Contractor' });
  h.sandbox.clearRequests();
  const r = await h.cli('apply', plan, '--config', h.configFile);
  expect(r.code, r.out + r.err).toBe(1);
  expect(h.writes().map((w) => `${w.method} ${w.status}`)).toEqual(['POST 409']);
  const other = String(id);
  expect(h.sandbox.store.getUser(other)).toMatchObject({ title: 'Contractor', emails: [{ value: 'contractor@vendor.example', type: 'work', primary: true }] });
  expect(h.sandbox.store.getUser(other)!['externalId']).toBeUndefined();
  const rec = records('createUser').find((a) => a['externalId'] === 'E1100');
  expect(rec).toMatchObject({
    outcome: 'failed',
    error: { code: 'CONFLICT', message: `userName "newhire@example.com" belongs to an account (id ${other}) that does not have newhire@example.com's work email; adopt: email takes over only that one: left alone` },
  });
});

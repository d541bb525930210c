/**
 * Which accounts scim-sync manages, against the sandbox: a second account carrying a linked
 * person's externalId is reported while they stay and deprovisioned with them when they leave
 * (`report` says the same); linked accounts a listing does not show are read by id before anyone is
 * created again, and creating many again is a safety stop.
 */
import { createServer, type Server } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, person, TOKEN } from '../support/harness.js';

let h: Harness;
let proxy: Server | undefined;
afterEach(async () => {
  if (proxy) await new Promise<void>((resolve) => proxy!.close(() => resolve()));
  proxy = undefined;
  await h.close();
});

const idOf = (userName: string) => String(h.sandbox.store.findUserByUserName(userName)!['id']);
const activeOf = (userName: string) => h.sandbox.store.findUserByUserName(userName)!['active'];
const readsById = () => h.sandbox.requests.filter((q) => q.method === 'GET' && /^\/Users\/./.test(q.path)).map((q) => `${q.path} ${q.status}`);

interface OrphanRow {
  userName: string;
  sourceKey: string;
  reason: string;
}
async function orphans(): Promise<OrphanRow[]> {
  const r = await h.cli('report', '--config', h.configFile, '--json');
  const report = JSON.parse(r.out) as { targets: { orphaned: OrphanRow[] }[] };
  return report.targets[0]!.orphaned.map(({ userName, sourceKey, reason }) => ({ userName, sourceKey, reason })).sort((a, b) => a.userName.localeCompare(b.userName));
}

describe('a second account carrying a linked person\'s externalId', () => {
  const four = [person(1), person(2), person(3), person(4)];

  it('is reported on every plan while the person stays, and deprovisioned with them when they leave; report and run agree', async () => {
    h = await Harness.synced(four);
    // An app admin makes a second account for E1003 by hand, copying the key.
    const made = await fetch(`${h.sandbox.url}/Users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'user3.admin@example.com', externalId: 'E1003', active: true }),
    });
    expect(made.status).toBe(201);
    const adminId = idOf('user3.admin@example.com');
    const linkedId = idOf('user3@example.com');
    h.sandbox.clearRequests();

    const planned = await h.cli('plan', '--config', h.configFile);
    expect(planned.code, planned.err + planned.out).toBe(0);
    const warning =
      `externalId "E1003" is carried by 1 other account besides its linked one (id ${linkedId}): user3.admin@example.com (id ${adminId}); ` +
      "scim-sync's by that key: not updated, and deprovisioned when E1003 leaves the source or this target's scope";
    expect(planned.out).toContain(warning);
    const stays = await h.run();
    expect(stays.code, stays.err + stays.out).toBe(0);
    expect(stays.out).toContain(warning);
    expect(h.writes()).toEqual([]);
    expect(await orphans()).toEqual([]);

    // E1003 leaves: both accounts are orphaned, and the run deactivates both.
    h.writePeople(four.map((p) => (p.id === 'E1003' ? { ...p, status: 'terminated' } : p)));
    expect(await orphans()).toEqual([
      { userName: 'user3.admin@example.com', sourceKey: 'E1003', reason: 'inactive' },
      { userName: 'user3@example.com', sourceKey: 'E1003', reason: 'inactive' },
    ]);
    h.sandbox.clearRequests();
    const leaves = await h.run();
    expect(leaves.code, leaves.err + leaves.out).toBe(0);
    expect(h.writes().map((w) => [w.method, w.path, w.body])).toEqual(
      expect.arrayContaining([
        ['PATCH', `/Users/${linkedId}`, expect.objectContaining({ Operations: [{ op: 'replace', path: 'active', value: false }] })],
        ['PATCH', `/Users/${adminId}`, expect.objectContaining({ Operations: [{ op: 'replace', path: 'active', value: false }] })],
      ]),
    );
    expect(h.writes()).toHaveLength(2);
    expect(activeOf('user3@example.com')).toBe(false);
    expect(activeOf('user3.admin@example.com')).toBe(false);
    expect(await orphans()).toEqual([]);

    h.sandbox.clearRequests();
    expect((await h.run()).code).toBe(0);
    expect(h.writes()).toEqual([]);
  });

  it('of a linked person removed from the source is deprovisioned too, and counted by the safety check', async () => {
    h = await Harness.synced(four, { safety: '  alwaysAllowDeactivations: 1' });
    h.sandbox.store.createUser({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'user4.admin@example.com', externalId: 'E1004', active: true });
    h.writePeople(four.slice(0, 3));
    expect(await orphans()).toEqual([
      { userName: 'user4.admin@example.com', sourceKey: 'E1004', reason: 'removed' },
      { userName: 'user4@example.com', sourceKey: 'E1004', reason: 'removed' },
    ]);
    h.sandbox.clearRequests();
    // Two deprovisions of five managed accounts: over 10% and over the floor of 1.
    const stopped = await h.run();
    expect(stopped.code, stopped.err + stopped.out).toBe(3);
    expect(stopped.err).toContain('target app: 2 of 5 managed users would be deprovisioned (40.0%, limit 10%)');
    expect(h.writes()).toEqual([]);
    const applied = await h.run('--override-safety');
    expect(applied.code, applied.err + applied.out).toBe(0);
    expect(h.writes().map((w) => `${w.method} ${w.path}`).sort()).toEqual([`PATCH /Users/${idOf('user4.admin@example.com')}`, `PATCH /Users/${idOf('user4@example.com')}`].sort());
    expect(activeOf('user4@example.com')).toBe(false);
    expect(activeOf('user4.admin@example.com')).toBe(false);
  });
});

/**
 * A proxy in front of the sandbox whose user listing says there is nobody (totalResults 0, no
 * Resources) while everything else, GET /Users/{id} included, reaches the sandbox. `activeOnly`:
 * the listing shows the active accounts only, as apps that hide deactivated ones do.
 */
async function lyingListing(target: string, activeOnly = false): Promise<string> {
  const upstream = new URL(target);
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', upstream);
      if (activeOnly && req.method === 'GET' && url.pathname.endsWith('/Users') && !url.searchParams.has('filter')) {
        void fetch(url, { headers: { authorization: req.headers.authorization ?? '' } }).then(async (answer) => {
          const list = (await answer.json()) as { Resources: { active?: boolean }[]; totalResults: number; itemsPerPage: number };
          const shown = list.Resources.filter((r) => r.active !== false);
          res.writeHead(200, { 'content-type': 'application/scim+json' });
          res.end(JSON.stringify({ ...list, Resources: shown, totalResults: list.totalResults - (list.Resources.length - shown.length), itemsPerPage: shown.length }));
        });
        return;
      }
      if (req.method === 'GET' && url.pathname.endsWith('/Users') && !url.searchParams.has('filter')) {
        res.writeHead(200, { 'content-type': 'application/scim+json' });
        res.end(JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] }));
        return;
      }
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length')) as Record<string, string>;
      void fetch(url, { method: req.method, headers, ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}) }).then(async (answer) => {
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/scim+json' });
        res.end(Buffer.from(await answer.arrayBuffer()));
      });
    });
  });
  await new Promise<void>((resolve) => proxy!.listen(0, '127.0.0.1', resolve));
  const port = (proxy.address() as { port: number }).port;
  return `http://127.0.0.1:${port}${upstream.pathname}`;
}

describe('linked accounts the listing does not show', () => {
  it('an app that lists active accounts only: a re-hire whose deactivated account it hides is not taken for a lying listing; their account is found and re-activated', async () => {
    const five = Array.from({ length: 5 }, (_, i) => person(i + 1));
    h = await Harness.synced(five);
    h.writePeople(five.map((p) => (p.id === 'E1002' ? { ...p, status: 'terminated' } : p)));
    expect((await h.run()).code).toBe(0);
    expect(activeOf('user2@example.com')).toBe(false);
    const url = await lyingListing(h.sandbox.url, true);
    writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace(`url: ${h.sandbox.url}`, `url: ${url}`));
    // Re-hired: the app's listing does not show their account.
    h.writePeople(five);
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(0);
    expect(activeOf('user2@example.com')).toBe(true);
    expect(h.sandbox.store.users().filter((u) => u['userName'] === 'user2@example.com')).toHaveLength(1);
  });

  const nineteen = Array.from({ length: 19 }, (_, i) => person(i + 1));

  it('a listing that shows nobody while the accounts are there is refused: read by id, nothing created', async () => {
    h = await Harness.synced(nineteen);
    const url = await lyingListing(h.sandbox.url);
    writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace(`url: ${h.sandbox.url}`, `url: ${url}`));
    const r = await h.run();
    expect(r.code, r.err + r.out).not.toBe(0);
    expect(r.code).not.toBe(3);
    const first = idOf('user1@example.com');
    expect(`${r.out}\n${r.err}`).toContain(
      `the listing (GET /Users) leaves out account ${first}, linked to E1001, which GET /Users/${first} returns: a listing that leaves accounts out cannot be planned on (19 linked accounts it does not show would be created again)`,
    );
    expect(readsById()).toEqual([`/Users/${first} 200`]);
    expect(h.writes()).toEqual([]);
    expect(h.sandbox.store.users()).toHaveLength(19);
  });

  it('many accounts really gone is a safety stop naming the counts; the override creates them again', async () => {
    h = await Harness.synced(nineteen);
    const ids = nineteen.map((p) => idOf(p.email!));
    for (const id of ids) h.sandbox.store.deleteUser(id);
    h.sandbox.clearRequests();
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(3);
    expect(r.err).toContain(
      `target app: 19 of 19 linked accounts are missing from its listing and would be created again (100.0%, limit 10%), e.g. user1@example.com (linked id ${ids[0]}): deleted in the app, a listing that leaves accounts out, or the target moved to another tenant (its links are of the old one: check, then --override-safety once)?`,
    );
    expect(readsById()).toEqual(ids.slice(0, 3).map((id) => `/Users/${id} 404`));
    expect(h.writes()).toEqual([]);

    h.sandbox.clearRequests();
    const o = await h.run('--override-safety');
    expect(o.code, o.err + o.out).toBe(0);
    expect(h.writes().filter((w) => w.method === 'POST' && w.path === '/Users')).toHaveLength(19);
    expect(h.sandbox.store.users()).toHaveLength(19);
  });

  it('one account deleted by hand is read by id and created again', async () => {
    h = await Harness.synced(nineteen);
    const gone = idOf('user5@example.com');
    h.sandbox.store.deleteUser(gone);
    h.sandbox.clearRequests();
    const planned = await h.cli('plan', '--config', h.configFile);
    expect(planned.out).toContain(`+ create      user5@example.com (E1005) (again: its linked account ${gone} is not in the listing)`);
    h.sandbox.clearRequests();
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(0);
    expect(readsById()).toEqual([`/Users/${gone} 404`]);
    expect(h.writes().map((w) => `${w.method} ${w.path}`)).toEqual(['POST /Users']);
    expect(h.sandbox.store.findUserByUserName('user5@example.com')).toMatchObject({ externalId: 'E1005', active: true });
    h.sandbox.clearRequests();
    expect((await h.run()).code).toBe(0);
    expect(h.writes()).toEqual([]);
    expect(readsById()).toEqual([]);
  });
});

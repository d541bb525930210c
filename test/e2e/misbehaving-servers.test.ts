/**
 * Servers that answer a write in ways a client must not take at face value (issue: converge on
 * servers that store things wrong): a create answered without its id, a 5xx that says, with a
 * scimType, that the request itself is wrong, a PATCH path stored under the wrong key (the shape
 * that works is learned), a change never kept or refused run after run (parked), and the write
 * probe of `check` that finds these before a run does.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness, person } from '../support/harness.js';
import { SCHEMA_USER } from '../../src/model/scim.js';

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

const MANAGER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const managerOf = (userName: string) => {
  const user = h.sandbox.store.findUserByUserName(userName);
  return ((user?.[ENTERPRISE] as { manager?: { value?: string } } | undefined)?.manager?.value) ?? null;
};
const idOf = (userName: string) => h.sandbox.store.findUserByUserName(userName)!.id as string;
const patches = () => h.sandbox.requests.filter((q) => q.method === 'PATCH').map((q) => (q.body as { Operations: unknown[] }).Operations);

describe('a server that stores a PATCH with a full URN path under a key named after it (scimgateway 6.1.18)', () => {
  beforeEach(() => {
    h.sandbox.behaviour.urnPathAsKey = true;
  });

  it('the first run learns the shape that is kept and says so; the second sends nothing; later runs use the shape at once', async () => {
    const people = [person(1), person(2, { manager: 'E1001' }), person(3, { manager: 'E1001' }), person(4, { manager: 'E1001' }), person(5, { manager: 'E1002' })];
    h.writePeople(people);
    const first = await h.run();
    expect(first.code, first.err + first.out).toBe(0);
    for (const n of [2, 3, 4]) expect(managerOf(`user${n}@example.com`)).toBe(idOf('user1@example.com'));
    expect(managerOf('user5@example.com')).toBe(idOf('user2@example.com'));
    expect(first.out).toContain('target app stores manager only with patchShape sub-attribute');
    expect(first.out).toContain('consider setting it in the config (targets.app.quirks.patchShape: sub-attribute)');
    expect(audit().some((a) => a['action'] === 'setManager' && String(a['note']).includes('stores manager only with patchShape sub-attribute'))).toBe(true);
    const shapes = JSON.parse(readFileSync(join(h.dir, 'state', 'patch-shapes.json'), 'utf8')) as { targets: Record<string, Record<string, { shape: string }>> };
    expect(shapes.targets['app']?.[MANAGER.toLowerCase()]?.shape).toBe('sub-attribute');

    h.sandbox.clearRequests();
    const second = await h.run();
    expect(second.code, second.out).toBe(0);
    expect(h.writes()).toEqual([]);

    // A new manager: one PATCH, in the learned shape, and nothing read back (its answer shows it kept).
    h.writePeople(people.map((p) => (p.id === 'E1003' ? { ...p, manager: 'E1002' } : p)));
    h.sandbox.clearRequests();
    const third = await h.run();
    expect(third.code, third.out).toBe(0);
    expect(patches()).toEqual([[{ op: 'replace', path: `${MANAGER}.value`, value: idOf('user2@example.com') }]]);
    expect(h.sandbox.requests.filter((q) => q.method === 'GET' && q.path.startsWith('/Users/'))).toEqual([]);
    expect(managerOf('user3@example.com')).toBe(idOf('user2@example.com'));
    expect(third.out).not.toContain('patchShape');
  });

  it('a manager it cannot clear in any shape is parked: that run says so, the next sends nothing and exits 0', async () => {
    h.writePeople([person(1), person(2, { manager: 'E1001' })]);
    expect((await h.run()).code).toBe(0);
    h.writePeople([person(1), person(2)]);
    const clearing = await h.run();
    expect(clearing.code).toBe(1);
    expect(clearing.out).toContain('setManager user2@example.com (E1002): [NOT_STORED] parked enterprise:manager.value of user2@example.com');
    h.sandbox.clearRequests();
    const next = await h.run();
    expect(next.code, next.out).toBe(0);
    expect(h.writes()).toEqual([]);
    expect(next.out).toContain('enterprise:manager.value of user2@example.com (E1002): the target accepts manager but does not keep it');
    // The source wants the manager the account still has: nothing to send, and nothing parked any more.
    h.writePeople([person(1), person(2, { manager: 'E1001' })]);
    h.sandbox.clearRequests();
    const back = await h.run();
    expect(back.code).toBe(0);
    expect(h.writes()).toEqual([]);
    expect(back.out).not.toContain('parked');
    expect(JSON.parse(readFileSync(join(h.dir, 'state', 'parked-changes.json'), 'utf8'))).toEqual({ version: 1, targets: {} });
  });

  it('each attribute learns its own shape: a plain extension attribute is kept as a path-less value', async () => {
    h.writePeople([person(1)]);
    expect((await h.run()).code).toBe(0);
    h.writePeople([person(1, { department: 'Sales' })]);
    const r = await h.run();
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('target app stores department only with patchShape value-object');
    expect((h.sandbox.store.findUserByUserName('user1@example.com')?.[ENTERPRISE] as { department?: string }).department).toBe('Sales');
    h.sandbox.clearRequests();
    expect((await h.run()).code).toBe(0);
    expect(h.writes()).toEqual([]);
  });
});

describe('a change the server accepts but never keeps', () => {
  beforeEach(() => {
    h.sandbox.behaviour.ignoredAttributes = ['title'];
  });

  it('is parked once no shape keeps it: reported that run, then the next run exits 0 and sends nothing for it', async () => {
    h.writePeople([person(1), person(2)]);
    expect((await h.run()).code).toBe(0);
    // The server dropped title on create: the next plan updates it, with a department change for one.
    h.writePeople([person(1, { department: 'Sales' }), person(2)]);
    h.sandbox.clearRequests();
    const parking = await h.run();
    expect(parking.code).toBe(1);
    expect(parking.out).toContain('parked title of user1@example.com: the target accepts title but does not keep it (read back after patchShape rfc, value-object)');
    expect(parking.out).toMatch(/updateUser user2@example.com \(E1002\): \[NOT_STORED\] parked title of user2@example\.com/);
    expect((h.sandbox.store.findUserByUserName('user1@example.com')?.[ENTERPRISE] as { department?: string }).department).toBe('Sales');
    const records = audit().filter((a) => a['planId'] === audit().at(-1)!['planId'] && a['action'] === 'updateUser');
    expect(records.map((a) => [a['externalId'], a['outcome']]).sort()).toEqual([['E1001', 'partial'], ['E1002', 'failed']]);

    h.sandbox.clearRequests();
    const parked = await h.run();
    expect(parked.code, parked.out).toBe(0);
    expect(h.writes()).toEqual([]);
    expect(parked.out).toContain('⏸ 2 parked changes');
    expect(parked.out).toContain('title of user2@example.com (E1002): the target accepts title but does not keep it');

    // A new source value is a new change: sent (and parked again, since this server keeps no title).
    h.writePeople([person(1, { department: 'Sales' }), person(2, { title: 'Lead' })]);
    h.sandbox.clearRequests();
    const changed = await h.run();
    expect(changed.code).toBe(1);
    expect(patches().map((ops) => JSON.stringify(ops))).toContain(JSON.stringify([{ op: 'replace', path: 'title', value: 'Lead' }]));
    expect(patches().flat()).not.toContainEqual({ op: 'replace', path: 'title', value: 'Engineer' });

    // --retry-parked sends what is parked once more.
    h.sandbox.clearRequests();
    const retried = await h.run('--retry-parked');
    expect(retried.code).toBe(1);
    expect(patches()).toContainEqual([{ op: 'replace', path: 'title', value: 'Engineer' }]);
    h.sandbox.clearRequests();
    expect((await h.run()).code).toBe(0);
    expect(h.writes()).toEqual([]);
  });
});

it('an update refused with a final error in parkAfterRuns runs in a row is parked, then not sent while it is the same', async () => {
  h.writeConfig('    retries: 3\n    writeChecks: { parkAfterRuns: 2 }');
  h.writePeople([person(1, { groups: ['ops/eu'] })]);
  const refusal = { type: 'status', status: 500, scimType: 'invalidSyntax', detail: 'ops/eu is not a valid key' } as const;
  h.sandbox.addFault({ method: 'PATCH', path: /^\/Groups\//, times: Infinity, action: refusal });
  const first = await h.run();
  expect(first.code).toBe(1);
  expect(first.out).not.toContain('parked');
  h.sandbox.clearRequests();
  const second = await h.run();
  expect(second.code).toBe(1);
  expect(h.writes().map((w) => `${w.method} ${w.status}`)).toEqual(['PATCH 500']);
  expect(second.out).toContain('parked patchGroupMembers of ops/eu after 2 runs in a row refused it');
  h.sandbox.clearRequests();
  const third = await h.run();
  expect(third.code, third.out).toBe(0);
  expect(h.writes()).toEqual([]);
  expect(third.out).toContain('patchGroupMembers of ops/eu (ops/eu): [BAD_REQUEST] server error (HTTP 500) that the server marks final (scimType invalidSyntax)');
  // Someone new in the group: a different change, sent again.
  h.writePeople([person(1, { groups: ['ops/eu'] }), person(2, { groups: ['ops/eu'] })]);
  h.sandbox.clearRequests();
  await h.run();
  expect(h.sandbox.requests.filter((q) => q.method === 'PATCH' && q.path.startsWith('/Groups/'))).toHaveLength(1);
});

describe('check --write-probe', () => {
  const probes = () => h.sandbox.store.users().filter((u) => String(u['userName']).startsWith('scim-sync-probe'));

  it('names the URN path and "+" filter quirks, and leaves no probe user behind', async () => {
    h.sandbox.behaviour.urnPathAsKey = true;
    h.sandbox.behaviour.filterPlusAsSpace = true;
    const r = await h.cli('check', '--config', h.configFile, '--write-probe');
    expect(r.code, r.err + r.out).toBe(0);
    expect(h.sandbox.requests.filter((q) => q.method === 'POST' && q.path === '/Users')).toHaveLength(1);
    expect(r.out).toMatch(/write probe \(user scim-sync-probe\+[0-9a-f]{8}@invalid\.example\)/);
    expect(r.out).toMatch(/! filter userName eq "scim-sync-probe\+[0-9a-f]{8}@invalid\.example" finds nothing: the server misreads "\+" in filters/);
    expect(r.out).toContain('✓ filter externalId eq finds it');
    expect(r.out).toContain(
      '! manager is not kept with patchShape rfc (it stores a PATCH with the full URN path under a top-level key named after the path); patchShape sub-attribute keeps it',
    );
    expect(r.out).toContain('! department is not kept with patchShape rfc');
    expect(r.out).toMatch(/✓ deleted the probe scim-sync-probe\+/);
    expect(probes()).toEqual([]);
  });

  it('against a server that keeps and finds everything: every line passes; without the flag, check writes nothing', async () => {
    const plain = await h.cli('check', '--config', h.configFile);
    expect(plain.code).toBe(0);
    expect(h.writes()).toEqual([]);
    const r = await h.cli('check', '--config', h.configFile, '--write-probe', '--json');
    expect(r.code).toBe(0);
    const [check] = JSON.parse(r.out) as [{ probe: { findings: { level: string; message: string }[] } }];
    expect(check.probe.findings.filter((f) => f.level !== 'ok')).toEqual([]);
    expect(check.probe.findings.map((f) => f.message)).toContain('manager: kept with patchShape rfc');
    expect(probes()).toEqual([]);
  });

  // A server that ignores filters answers the probe's lookup with its first user: a real person.
  describe('a create answered without an id, on a server that ignores filters', () => {
    const ada = () => h.sandbox.store.users().find((u) => u['userName'] === 'ada@example.com')!;
    beforeEach(() => {
      h.sandbox.store.createUser({ schemas: [SCHEMA_USER], userName: 'ada@example.com', externalId: 'E1', active: true });
      h.sandbox.behaviour.ignoreFilters = true;
    });
    const touchedAda = () => h.writes().filter((q) => q.path === `/Users/${String(ada()['id'])}`);

    it('the probe is found by its own externalId and userName, and no one else is written to', async () => {
      h.sandbox.addFault({ method: 'POST', path: '/Users', times: 1, when: 'after', action: { type: 'no-id' } });
      const r = await h.cli('check', '--config', h.configFile, '--write-probe');
      expect(touchedAda()).toEqual([]);
      expect(r.out).toContain('! the create was answered without the resource id (or not at all), but the account exists');
      expect(r.out).toMatch(/✓ created scim-sync-probe\+[0-9a-f]{8}@invalid\.example/);
      expect(r.out).toMatch(/! filter userName eq "scim-sync-probe\+[0-9a-f]{8}@invalid\.example" answers 1 of 2 users that do not carry it: the server ignores filters/);
      expect(r.out).toMatch(/✓ deleted the probe/);
      expect(ada()['active']).toBe(true);
      expect(probes()).toEqual([]);
    });

    it('a create that failed: nothing is written after it', async () => {
      h.sandbox.addFault({ method: 'POST', path: '/Users', times: Infinity, action: { type: 'status', status: 500 } });
      const r = await h.cli('check', '--config', h.configFile, '--write-probe');
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/✗ the create of scim-sync-probe\+[0-9a-f]{8}@invalid\.example failed \(.*HTTP 500.*\) and no such account exists: nothing else was tried/);
      expect(h.writes().filter((q) => q.method !== 'POST')).toEqual([]);
      expect(ada()['active']).toBe(true);
    });
  });

  it("a create answered with someone else's id: nothing is written to that account, and the probe is named for removal by hand", async () => {
    const ada = h.sandbox.store.createUser({ schemas: [SCHEMA_USER], userName: 'ada@example.com', externalId: 'E1', active: true });
    // In front of the sandbox, a gateway that answers the create with the id of the first user.
    const gateway = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
        void fetch(`${new URL(h.sandbox.url).origin}${req.url ?? '/'}`, { method: req.method!, headers: req.headers as Record<string, string>, ...(body ? { body } : {}) }).then(async (answer) => {
          let text = await answer.text();
          if (req.method === 'POST' && req.url?.endsWith('/Users')) text = JSON.stringify({ ...(JSON.parse(text) as object), id: ada['id'] });
          res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/scim+json' });
          res.end(text);
        });
      });
    });
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    const url = h.sandbox.url.replace(/:\d+\//, `:${(gateway.address() as AddressInfo).port}/`);
    writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace(h.sandbox.url, url));
    try {
      const r = await h.cli('check', '--config', h.configFile, '--write-probe', '--json');
      expect(h.writes().map((q) => q.method)).toEqual(['POST']);
      expect(r.code).toBe(1);
      const [probe] = probes();
      const [check] = JSON.parse(r.out) as [{ probe: { failure?: { message: string }; leftBehind?: unknown } }];
      expect(check.probe.failure?.message).toBe(`the account with id ${String(ada['id'])} has externalId "E1" and userName "ada@example.com", not the probe's: nothing was written to it`);
      // No id: the only one the server gave is someone else's.
      expect(check.probe.leftBehind).toEqual({ id: null, userName: probe?.['userName'] });
      expect(r.err).toContain(`error: the write probe is still in target app: remove ${String(probe?.['userName'])} by hand`);
      // The audit log does not take the answered id for the probe's either.
      const records = h.audit().filter((a) => String(a['action']).startsWith('probe.'));
      expect(records.map((a) => `${String(a['action'])} ${String(a['outcome'])}`)).toEqual(['probe.start info', 'probe.create ok', 'probe.left failed']);
      expect(records.filter((a) => 'scimId' in a)).toEqual([]);
      expect(records.at(-1)).toMatchObject({ label: probe?.['userName'], error: { code: 'PROTOCOL' } });
    } finally {
      gateway.close();
    }
  });

  it('a server without DELETE: the probe is deactivated and named for removal by hand', async () => {
    h.writeConfig('    retries: 3\n    quirks: { supportsDelete: false }');
    const r = await h.cli('check', '--config', h.configFile, '--write-probe');
    // A probe left in the target is not a passing check: exit 1, and the account named on stderr too.
    expect(r.code).toBe(1);
    const [probe] = probes();
    expect(probe?.['active']).toBe(false);
    expect(r.out).toContain(`deactivated it instead; remove ${String(probe?.['userName'])} (id ${String(probe?.['id'])}) by hand`);
    expect(r.err).toContain(`error: the write probe is still in target app: remove ${String(probe?.['userName'])} (id ${String(probe?.['id'])}) by hand`);
    expect(h.sandbox.requests.some((q) => q.method === 'DELETE')).toBe(false);
    const json = await h.cli('check', '--config', h.configFile, '--write-probe', '--json');
    expect(json.code).toBe(1);
    const second = probes().find((u) => u['id'] !== probe?.['id']);
    const [check] = JSON.parse(json.out) as [{ probe: { leftBehind?: unknown } }];
    expect(check.probe.leftBehind).toEqual({ id: second?.['id'], userName: second?.['userName'] });
  });

  it('a credential that reads but may not write: exit 2, as a refused credential, and nothing else is tried', async () => {
    h.sandbox.addFault({ method: 'POST', path: '/Users', times: Infinity, action: { type: 'status', status: 403, detail: 'token is read-only' } });
    const r = await h.cli('check', '--config', h.configFile, '--write-probe');
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/✗ credential refused a write: could not create the probe user scim-sync-probe\+[0-9a-f]{8}@invalid\.example: \[AUTH\]/);
    expect(r.out).toContain('check targets.app.auth: it may read but not write');
    expect(r.err).toContain('error: credential refused by target app (a write of the probe)');
    expect(h.writes().map((q) => `${q.method} ${q.path}`)).toEqual(['POST /Users']);
  });

  it('a probe whose PATCH fails on and on: it stops, is removed, and the check exits 1', async () => {
    h.writeConfig('    retries: 1');
    h.sandbox.addFault({ method: 'PATCH', path: '/Users/', times: Infinity, action: { type: 'status', status: 503 } });
    const r = await h.cli('check', '--config', h.configFile, '--write-probe');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/✗ the probe stopped: \[TRANSIENT\]/);
    expect(r.out).toMatch(/✓ deleted the probe/);
    expect(probes()).toEqual([]);
  });

  // A 404 may be a DELETE route the server lacks: only a read that answers 404 shows the probe gone.
  it('a DELETE answered 404 while the probe stays: deactivated and named for removal by hand, not reported deleted', async () => {
    h.sandbox.addFault({ method: 'DELETE', path: '/Users/', times: Infinity, action: { type: 'status', status: 404, detail: 'no route' } });
    const r = await h.cli('check', '--config', h.configFile, '--write-probe');
    const [probe] = probes();
    expect(probe?.['active']).toBe(false);
    expect(r.out).not.toContain('deleted the probe');
    expect(r.out).toContain(
      `! could not delete the probe (it is still there after a DELETE answered 404): deactivated it instead; remove ${String(probe?.['userName'])} (id ${String(probe?.['id'])}) by hand`,
    );
    expect(r.code).toBe(1);
  });

  it('--help says that the probe writes', async () => {
    const r = await h.cli('check', '--help');
    expect(r.out).toMatch(/--write-probe\s+WRITES to the target/);
  });
});

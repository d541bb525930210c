/**
 * The one-person commands and a second account carrying the person's externalId (an admin copying
 * the key), against the sandbox: `explain` warns about it while the person stays, and `deprovision`
 * (the emergency) or `provision` of a leaver deactivates it with the linked account, as a full cycle
 * does (managed-accounts.test.ts), asking the target once for the accounts carrying the key; a
 * target that takes no filter is read whole for an emergency, and said not to be otherwise.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, person, TOKEN } from '../support/harness.js';

let h: Harness;
afterEach(async () => {
  await h.close();
});

const four = [person(1), person(2), person(3), person(4)];
const idOf = (userName: string) => String(h.sandbox.store.findUserByUserName(userName)!['id']);
const activeOf = (userName: string) => h.sandbox.store.findUserByUserName(userName)!['active'];
/** User reads in order: "GET /Users/{id}", "GET /Users filter: <filter>", or "GET /Users listing". */
const userReads = () =>
  h.sandbox.requests
    .filter((q) => q.method === 'GET' && q.path.startsWith('/Users'))
    .map((q) => (q.path === '/Users' ? `GET /Users ${new URLSearchParams(q.query).has('filter') ? `filter: ${new URLSearchParams(q.query).get('filter')}` : 'listing'}` : `GET ${q.path}`));
const patches = () => h.writes().map((w) => [w.method, w.path, w.body]);
const deactivation = (id: string) => ['PATCH', `/Users/${id}`, expect.objectContaining({ Operations: [{ op: 'replace', path: 'active', value: false }] })];

/** An app admin makes a second account for E1003 by hand, copying the key. */
async function secondAccount(): Promise<string> {
  const made = await fetch(`${h.sandbox.url}/Users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/scim+json' },
    body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'user3.admin@example.com', externalId: 'E1003', active: true }),
  });
  expect(made.status).toBe(201);
  return idOf('user3.admin@example.com');
}

/** A synced target where E1003 has a second account and has since become inactive in the source; requests cleared. */
async function leaverWithSecondAccount(target = ''): Promise<{ adminId: string; linkedId: string }> {
  h = await Harness.synced(four, { target });
  const adminId = await secondAccount();
  h.writePeople(four.map((p) => (p.id === 'E1003' ? { ...p, status: 'terminated' } : p)));
  h.sandbox.clearRequests();
  return { adminId, linkedId: idOf('user3@example.com') };
}

describe("the one-person commands and a second account carrying the person's externalId", () => {
  it('explain warns about it while the person stays; an emergency deprovision deactivates both, with one request for the accounts carrying the key', async () => {
    h = await Harness.synced(four);
    const adminId = await secondAccount();
    const linkedId = idOf('user3@example.com');
    h.sandbox.clearRequests();

    const explained = await h.cli('explain', '--config', h.configFile, '--user', 'E1003');
    expect(explained.code, explained.err + explained.out).toBe(0);
    expect(explained.out).toContain(`warning: externalId "E1003" is carried by 1 other account besides its linked one (id ${linkedId}): user3.admin@example.com (id ${adminId})`);
    expect(explained.out).toContain('next cycle: nothing to do');

    h.sandbox.clearRequests();
    const r = await h.cli('deprovision', '--config', h.configFile, '--user', 'E1003', '--reason', 'laptop stolen, ticket 4712');
    expect(r.code, r.err + r.out).toBe(0);
    expect(r.out).toContain('app: action: - deactivate user3@example.com (E1003): held off by emergency deprovision');
    expect(r.out).toContain('app: action: - deactivate user3.admin@example.com (E1003): held off by emergency deprovision');
    expect(patches()).toEqual(expect.arrayContaining([deactivation(linkedId), deactivation(adminId)]));
    expect(h.writes()).toHaveLength(2);
    expect(activeOf('user3@example.com')).toBe(false);
    expect(activeOf('user3.admin@example.com')).toBe(false);
    // One filtered request found both: no read of the linked account by id on top.
    expect(userReads()).toEqual(['GET /Users filter: externalId eq "E1003"']);

    // Held off, both stay off: the next cycle has nothing to do.
    h.sandbox.clearRequests();
    expect((await h.run()).code).toBe(0);
    expect(h.writes()).toEqual([]);
  });

  it('provision of someone inactive in the source deactivates both, as a cycle would', async () => {
    const { adminId, linkedId } = await leaverWithSecondAccount();

    const r = await h.cli('provision', '--config', h.configFile, '--user', 'E1003');
    expect(r.code, r.err + r.out).toBe(0);
    expect(patches()).toEqual(expect.arrayContaining([deactivation(linkedId), deactivation(adminId)]));
    expect(h.writes()).toHaveLength(2);
    expect(activeOf('user3.admin@example.com')).toBe(false);
    h.sandbox.clearRequests();
    expect((await h.run()).code).toBe(0);
    expect(h.writes()).toEqual([]);
  });

  it('on a target that takes no filter, an emergency deprovision reads the listing and deactivates both; provision of a leaver deactivates the linked one and says what it did not look for', async () => {
    const { adminId, linkedId } = await leaverWithSecondAccount('    quirks: { filterOperators: [] }');

    const provisioned = await h.cli('provision', '--config', h.configFile, '--user', 'E1003');
    expect(provisioned.code, provisioned.err + provisioned.out).toBe(0);
    expect(provisioned.out).toContain('E1003: this target takes no filter, so other accounts carrying the key were not looked for: only the linked account is deprovisioned here');
    expect(patches()).toEqual([deactivation(linkedId)]);
    expect(userReads()).toEqual([`GET /Users/${linkedId}`]);
    expect(activeOf('user3.admin@example.com')).toBe(true);

    h.sandbox.clearRequests();
    const r = await h.cli('deprovision', '--config', h.configFile, '--user', 'E1003', '--reason', 'security incident 88');
    expect(r.code, r.err + r.out).toBe(0);
    expect(patches()).toEqual([deactivation(adminId)]);
    expect(activeOf('user3.admin@example.com')).toBe(false);
    expect(userReads().filter((q) => q.includes('filter'))).toEqual([]);
    expect(userReads().filter((q) => q === 'GET /Users listing')).toHaveLength(1);
  });

  it('on a target that takes no filter, provision of a new hire (no link) reads the listing once and creates them; before, the target failed', async () => {
    h = await Harness.synced(four, { target: '    quirks: { filterOperators: [] }' });
    h.writePeople([...four, person(5)]);
    h.sandbox.clearRequests();
    const r = await h.cli('provision', '--config', h.configFile, '--user', 'E1005');
    expect(r.code, r.err + r.out).toBe(0);
    expect(userReads()).toEqual(['GET /Users listing']);
    expect(h.writes().map((w) => [w.method, w.path])).toEqual([['POST', '/Users']]);
    expect(h.sandbox.store.findUserByUserName('user5@example.com')).toMatchObject({ externalId: 'E1005', active: true });
    // Once linked, the next provision reads the account by id, not the listing.
    h.sandbox.clearRequests();
    const again = await h.cli('provision', '--config', h.configFile, '--user', 'E1005');
    expect(again.code, again.err + again.out).toBe(0);
    expect(userReads()).toEqual([`GET /Users/${idOf('user5@example.com')}`]);
    expect(h.writes()).toEqual([]);
  });
});

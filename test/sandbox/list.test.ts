import { describe, expect, it } from 'vitest';
import { SCHEMA_ENTERPRISE_USER, SCHEMA_USER, useSandbox } from './helpers.js';
import type { Body } from './helpers.js';

const t = useSandbox();

async function seed(n: number): Promise<void> {
  for (let i = 1; i <= n; i++) t.sandbox.store.createUser({ userName: `user${String(i).padStart(3, '0')}`, title: i % 2 ? 'Odd' : 'Even' });
}

const userNames = (body: Body): string[] => body.Resources.map((r: Body) => r.userName);

describe('paging', () => {
  it('reports integer totalResults, itemsPerPage and startIndex; pages do not overlap', async () => {
    await seed(25);
    const first = await t.client.get('/Users?startIndex=1&count=10');
    expect(first.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 25, itemsPerPage: 10, startIndex: 1 });
    expect(userNames(first.body)).toEqual(Array.from({ length: 10 }, (_, i) => `user${String(i + 1).padStart(3, '0')}`));
    const last = await t.client.get('/Users?startIndex=21&count=10');
    expect(last.body).toMatchObject({ totalResults: 25, itemsPerPage: 5, startIndex: 21 });
    expect(userNames(last.body)[0]).toBe('user021');
  });

  it('a startIndex past the end returns an empty page, not the first one', async () => {
    await seed(3);
    const res = await t.client.get('/Users?startIndex=4&count=10');
    expect(res.body).toMatchObject({ totalResults: 3, itemsPerPage: 0, startIndex: 4, Resources: [] });
  });

  it('startIndex below 1 means 1; count 0 returns only totalResults; negative count means 0', async () => {
    await seed(3);
    expect((await t.client.get('/Users?startIndex=0')).body).toMatchObject({ startIndex: 1, itemsPerPage: 3 });
    expect((await t.client.get('/Users?startIndex=-5&count=1')).body).toMatchObject({ startIndex: 1, itemsPerPage: 1 });
    expect((await t.client.get('/Users?count=0')).body).toMatchObject({ totalResults: 3, itemsPerPage: 0, Resources: [] });
    expect((await t.client.get('/Users?count=-1')).body).toMatchObject({ totalResults: 3, itemsPerPage: 0 });
  });

  it('caps count at maxPageSize and defaults to defaultPageSize', async () => {
    t.sandbox.behaviour.maxPageSize = 5;
    t.sandbox.behaviour.defaultPageSize = 4;
    await seed(12);
    expect((await t.client.get('/Users?count=100')).body).toMatchObject({ totalResults: 12, itemsPerPage: 5 });
    expect((await t.client.get('/Users')).body).toMatchObject({ totalResults: 12, itemsPerPage: 4 });
  });

  it('rejects non-integer paging parameters', async () => {
    const res = await t.client.get('/Users?count=ten');
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('invalidValue');
  });

  it('an empty collection has totalResults 0', async () => {
    expect((await t.client.get('/Groups')).body).toMatchObject({ totalResults: 0, itemsPerPage: 0, startIndex: 1, Resources: [] });
  });
});

describe('sorting', () => {
  it('sorts by an attribute, case-insensitively, missing values last ascending and first descending', async () => {
    for (const [userName, familyName] of [['u1', 'b'], ['u2', 'A'], ['u3', undefined], ['u4', 'c']] as const) {
      t.sandbox.store.createUser({ userName, ...(familyName ? { name: { familyName } } : {}) });
    }
    expect(userNames((await t.client.get('/Users?sortBy=name.familyName')).body)).toEqual(['u2', 'u1', 'u4', 'u3']);
    expect(userNames((await t.client.get('/Users?sortBy=name.familyName&sortOrder=descending')).body)).toEqual(['u3', 'u4', 'u1', 'u2']);
  });

  it('sorts multi-valued attributes by the primary value; ignores sortBy when unsupported', async () => {
    t.sandbox.store.createUser({ userName: 'x', emails: [{ value: 'z@x' }, { value: 'a@x', primary: true }] });
    t.sandbox.store.createUser({ userName: 'y', emails: [{ value: 'm@x' }] });
    expect(userNames((await t.client.get('/Users?sortBy=emails')).body)).toEqual(['x', 'y']);
    expect(userNames((await t.client.get('/Users?sortBy=userName&sortOrder=descending')).body)).toEqual(['y', 'x']);
    t.sandbox.behaviour.supportsSort = false;
    expect(userNames((await t.client.get('/Users?sortBy=userName&sortOrder=descending')).body)).toEqual(['x', 'y']);
  });

  it('rejects an unknown sortBy or sortOrder', async () => {
    expect((await t.client.get('/Users?sortBy=shoeSize')).status).toBe(400);
    expect((await t.client.get('/Users?sortBy=userName&sortOrder=up')).status).toBe(400);
  });
});

describe('attributes and excludedAttributes', () => {
  it('attributes returns the named ones plus id, schemas and meta', async () => {
    t.sandbox.store.createUser({
      schemas: [SCHEMA_USER, SCHEMA_ENTERPRISE_USER],
      userName: 'a',
      title: 'T',
      name: { givenName: 'G', familyName: 'F' },
      emails: [{ value: 'a@x', type: 'work' }],
      [SCHEMA_ENTERPRISE_USER]: { department: 'Eng', costCenter: 'C1' },
    });
    const res = await t.client.get(`/Users?attributes=userName,name.givenName,emails.value,${SCHEMA_ENTERPRISE_USER}:department`);
    const r = res.body.Resources[0];
    expect(Object.keys(r).sort()).toEqual(['emails', 'id', 'meta', 'name', 'schemas', SCHEMA_ENTERPRISE_USER, 'userName'].sort());
    expect(r.name).toEqual({ givenName: 'G' });
    expect(r.emails).toEqual([{ value: 'a@x' }]);
    expect(r[SCHEMA_ENTERPRISE_USER]).toEqual({ department: 'Eng' });
  });

  it('excludedAttributes drops them but never id, schemas or meta', async () => {
    t.sandbox.store.createUser({ userName: 'a', title: 'T', name: { givenName: 'G', familyName: 'F' } });
    const r = (await t.client.get('/Users?excludedAttributes=title,name.familyName,id,meta')).body.Resources[0];
    expect(r).not.toHaveProperty('title');
    expect(r.name).toEqual({ givenName: 'G' });
    expect(r.id).toBeDefined();
    expect(r.meta).toBeDefined();
  });

  it('excludedAttributes=members on groups, as Entra ID asks', async () => {
    const u = t.sandbox.store.createUser({ userName: 'a' });
    t.sandbox.store.createGroup({ displayName: 'G', members: [{ value: u['id'] as string }] });
    const g = (await t.client.get('/Groups?excludedAttributes=members')).body.Resources[0];
    expect(g).not.toHaveProperty('members');
    expect(g.displayName).toBe('G');
    const single = await t.client.get(`/Groups/${g.id}?excludedAttributes=members`);
    expect(single.body).not.toHaveProperty('members');
  });

  it('an unknown attribute name is 400', async () => {
    expect((await t.client.get('/Users?attributes=shoeSize')).status).toBe(400);
  });
});

describe('groupMembersInList', () => {
  it('false omits members from lists but not from a single GET', async () => {
    t.sandbox.behaviour.groupMembersInList = false;
    const u = t.sandbox.store.createUser({ userName: 'a' });
    const g = t.sandbox.store.createGroup({ displayName: 'G', members: [{ value: u['id'] as string }] });
    expect((await t.client.get('/Groups')).body.Resources[0]).not.toHaveProperty('members');
    expect((await t.client.filter('Groups', `members eq "${u['id'] as string}"`)).body.totalResults).toBe(1);
    expect((await t.client.get(`/Groups/${g['id'] as string}`)).body.members).toEqual([{ value: u['id'], type: 'User' }]);
  });

  it('with groupMembersInGet false, a single GET omits them too; the id-and-members filter still tells', async () => {
    t.sandbox.behaviour.groupMembersInList = false;
    t.sandbox.behaviour.groupMembersInGet = false;
    const u = t.sandbox.store.createUser({ userName: 'a' });
    const other = t.sandbox.store.createUser({ userName: 'b' });
    const g = t.sandbox.store.createGroup({ displayName: 'G', members: [{ value: u['id'] as string }] });
    expect((await t.client.get(`/Groups/${g['id'] as string}`)).body).not.toHaveProperty('members');
    expect((await t.client.filter('Groups', `id eq "${g['id'] as string}" and members eq "${u['id'] as string}"`)).body.totalResults).toBe(1);
    expect((await t.client.filter('Groups', `id eq "${g['id'] as string}" and members eq "${other['id'] as string}"`)).body.totalResults).toBe(0);
  });
});

describe('POST .search', () => {
  it('takes the list parameters in a SearchRequest body', async () => {
    await seed(6);
    const res = await t.client.post('/Users/.search', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
      filter: 'title eq "Even"',
      attributes: ['userName'],
      sortBy: 'userName',
      sortOrder: 'descending',
      startIndex: 1,
      count: 2,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ totalResults: 3, itemsPerPage: 2 });
    expect(userNames(res.body)).toEqual(['user006', 'user004']);
    expect(res.body.Resources[0]).not.toHaveProperty('title');
  });

  it('requires the SearchRequest schema', async () => {
    const res = await t.client.post('/Users/.search', { filter: 'userName pr' });
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('invalidSyntax');
  });
});

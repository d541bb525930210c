import { beforeEach, describe, expect, it } from 'vitest';
import { SCHEMA_GROUP, group, useSandbox } from './helpers.js';
import type { Body } from './helpers.js';

const t = useSandbox();
let u1: Body, u2: Body, u3: Body;

beforeEach(async () => {
  u1 = await t.client.createUser('u1');
  u2 = await t.client.createUser('u2');
  u3 = await t.client.createUser('u3');
});

const memberIds = (g: Body): string[] => (g.members ?? []).map((m: Body) => m.value);

describe('members', () => {
  it('fills in the member type and drops duplicate values', async () => {
    const res = await t.client.post('/Groups', { schemas: [SCHEMA_GROUP], displayName: 'Eng', members: [{ value: u1.id }, { value: u1.id, display: 'dup' }, { value: u2.id, type: 'User' }] });
    expect(res.status).toBe(201);
    expect(res.body.members).toEqual([{ value: u1.id, type: 'User' }, { value: u2.id, type: 'User' }]);
  });

  it('refuses members that are not existing users or groups, wrong types and itself', async () => {
    const bad = await t.client.post('/Groups', group('Eng', ['no-such-id']));
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ scimType: 'invalidValue' });
    expect(bad.body.detail).toContain('no-such-id');
    const wrongType = await t.client.post('/Groups', { ...group('Eng'), members: [{ value: u1.id, type: 'Group' }] });
    expect(wrongType.body.detail).toMatch(/is a User, not a Group/);
    const g = await t.client.createGroup('Self');
    const self = await t.client.patch(`/Groups/${g.id}`, [{ op: 'add', path: 'members', value: [{ value: g.id }] }]);
    expect(self.status).toBe(400);
    expect(self.body.detail).toMatch(/itself/);
  });

  it('PATCH add appends new members once; remove members[value eq] removes one', async () => {
    const g = await t.client.createGroup('Eng', [u1.id]);
    const added = await t.client.patch(`/Groups/${g.id}`, [{ op: 'add', path: 'members', value: [{ value: u1.id }, { value: u2.id }, { value: u3.id }] }]);
    expect(added.status).toBe(200);
    expect(memberIds(added.body)).toEqual([u1.id, u2.id, u3.id]);
    const removed = await t.client.patch(`/Groups/${g.id}`, [{ op: 'remove', path: `members[value eq "${u2.id}"]` }]);
    expect(memberIds(removed.body)).toEqual([u1.id, u3.id]);
    const again = await t.client.patch(`/Groups/${g.id}`, [{ op: 'remove', path: `members[value eq "${u2.id}"]` }]);
    expect(again.status).toBe(200);
  });

  it('remove with a value list (Okta, Entra) and replace of all members', async () => {
    const g = await t.client.createGroup('Eng', [u1.id, u2.id, u3.id]);
    const removed = await t.client.patch(`/Groups/${g.id}`, [{ op: 'remove', path: 'members', value: [{ value: u1.id }, { value: u3.id }] }]);
    expect(memberIds(removed.body)).toEqual([u2.id]);
    const replaced = await t.client.patch(`/Groups/${g.id}`, [{ op: 'replace', path: 'members', value: [{ value: u3.id }] }]);
    expect(memberIds(replaced.body)).toEqual([u3.id]);
    const cleared = await t.client.patch(`/Groups/${g.id}`, [{ op: 'remove', path: 'members' }]);
    expect(cleared.body).not.toHaveProperty('members');
  });

  it('member sub-attributes are immutable', async () => {
    const g = await t.client.createGroup('Eng', [u1.id]);
    const res = await t.client.patch(`/Groups/${g.id}`, [{ op: 'replace', path: `members[value eq "${u1.id}"].value`, value: u2.id }]);
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('mutability');
  });

  it('PUT replaces the member list', async () => {
    const g = await t.client.createGroup('Eng', [u1.id, u2.id]);
    const res = await t.client.put(`/Groups/${g.id}`, group('Eng', [u3.id]));
    expect(memberIds(res.body)).toEqual([u3.id]);
    expect(t.sandbox.store.getUser(u1.id)).not.toHaveProperty('groups');
  });

  it('nested groups are members of type Group', async () => {
    const inner = await t.client.createGroup('Inner', [u1.id]);
    const outer = await t.client.createGroup('Outer', [inner.id]);
    expect(outer.members).toEqual([{ value: inner.id, type: 'Group' }]);
  });
});

describe('User.groups', () => {
  it('is derived from group membership and readOnly', async () => {
    const g = await t.client.createGroup('Eng', [u1.id]);
    const user = (await t.client.get(`/Users/${u1.id}`)).body;
    expect(user.groups).toEqual([{ value: g.id, $ref: `${t.sandbox.url}/Groups/${g.id}`, display: 'Eng', type: 'direct' }]);
    expect((await t.client.get(`/Users/${u2.id}`)).body).not.toHaveProperty('groups');
    const patched = await t.client.patch(`/Users/${u1.id}`, [{ op: 'add', path: 'groups', value: [{ value: g.id }] }]);
    expect(patched.body.scimType).toBe('mutability');
  });
});

describe('deletion cascade', () => {
  it('deleting a user removes it from every group and bumps those groups', async () => {
    const a = await t.client.createGroup('A', [u1.id, u2.id]);
    const b = await t.client.createGroup('B', [u1.id]);
    expect((await t.client.delete(`/Users/${u1.id}`)).status).toBe(204);
    const after = (await t.client.get(`/Groups/${a.id}`)).body;
    expect(memberIds(after)).toEqual([u2.id]);
    expect(after.meta.version).toBe('W/"2"');
    expect((await t.client.get(`/Groups/${b.id}`)).body).not.toHaveProperty('members');
    expect((await t.client.filter('Groups', `members eq "${u1.id}"`)).body.totalResults).toBe(0);
  });

  it('deleting a group removes it from parent groups and from users\' groups', async () => {
    const inner = await t.client.createGroup('Inner', [u1.id]);
    const outer = await t.client.createGroup('Outer', [inner.id, u2.id]);
    await t.client.delete(`/Groups/${inner.id}`);
    expect(memberIds((await t.client.get(`/Groups/${outer.id}`)).body)).toEqual([u2.id]);
    expect((await t.client.get(`/Users/${u1.id}`)).body).not.toHaveProperty('groups');
  });
});

describe('maxPatchOperations', () => {
  it('caps member values added plus removed in one PATCH', async () => {
    t.sandbox.behaviour.maxPatchOperations = 2;
    const g = await t.client.createGroup('Eng', [u1.id]);
    const over = await t.client.patch(`/Groups/${g.id}`, [
      { op: 'add', path: 'members', value: [{ value: u2.id }, { value: u3.id }] },
      { op: 'remove', path: `members[value eq "${u1.id}"]` },
    ]);
    expect(over.status).toBe(400);
    expect(over.body.detail).toMatch(/changes 3 member values; the limit is 2 per request/);
    expect(memberIds((await t.client.get(`/Groups/${g.id}`)).body)).toEqual([u1.id]);
    const within = await t.client.patch(`/Groups/${g.id}`, [{ op: 'add', path: 'members', value: [{ value: u2.id }, { value: u3.id }] }]);
    expect(within.status).toBe(200);
  });
});

describe('displayName uniqueness', () => {
  it('is enforced case-insensitively by default and can be turned off', async () => {
    await t.client.createGroup('Engineering');
    const dup = await t.client.post('/Groups', group('ENGINEERING'));
    expect(dup.status).toBe(409);
    expect(dup.body.scimType).toBe('uniqueness');
    t.sandbox.behaviour.uniqueGroupDisplayName = false;
    expect((await t.client.post('/Groups', group('ENGINEERING'))).status).toBe(201);
    expect((await t.client.filter('Groups', 'displayName eq "engineering"')).body.totalResults).toBe(2);
  });
});

/**
 * Knobs that make the sandbox store writes wrong, as some real servers do, so the client's
 * verification, shape learning and parking can be tested hermetically.
 */
import { describe, expect, it } from 'vitest';
import { SCHEMA_ENTERPRISE_USER, SCHEMA_USER, useSandbox } from './helpers.js';

const t = useSandbox();
const MANAGER = `${SCHEMA_ENTERPRISE_USER}:manager`;

describe('urnPathAsKey', () => {
  it('a full URN path to an extension attribute is stored as a top-level key; the attribute stays as it was', async () => {
    t.sandbox.behaviour.urnPathAsKey = true;
    const boss = await t.client.createUser('boss@example.com');
    const u = await t.client.createUser('pat@example.com', { schemas: [SCHEMA_USER, SCHEMA_ENTERPRISE_USER], [SCHEMA_ENTERPRISE_USER]: { department: 'Eng' } });
    const res = await t.client.patch(`/Users/${u.id}`, [
      { op: 'replace', path: MANAGER, value: { value: boss.id } },
      { op: 'replace', path: `${SCHEMA_ENTERPRISE_USER}:department`, value: 'Sales' },
    ]);
    expect(res.status).toBe(200);
    expect(res.body[MANAGER]).toEqual({ value: boss.id });
    expect(res.body[SCHEMA_ENTERPRISE_USER]).toEqual({ department: 'Eng' });
    expect((await t.client.get(`/Users/${u.id}`)).body[`${SCHEMA_ENTERPRISE_USER}:department`]).toBe('Sales');
  });

  it('a sub-attribute path and a path-less value are applied as they should be; without the knob so is the full path', async () => {
    t.sandbox.behaviour.urnPathAsKey = true;
    const boss = await t.client.createUser('boss@example.com');
    const u = await t.client.createUser('pat@example.com');
    const sub = await t.client.patch(`/Users/${u.id}`, [{ op: 'replace', path: `${MANAGER}.value`, value: boss.id }]);
    expect(sub.body[SCHEMA_ENTERPRISE_USER].manager.value).toBe(boss.id);
    const pathless = await t.client.patch(`/Users/${u.id}`, [{ op: 'replace', value: { [SCHEMA_ENTERPRISE_USER]: { department: 'Ops' } } }]);
    expect(pathless.body[SCHEMA_ENTERPRISE_USER].department).toBe('Ops');
    t.sandbox.behaviour.urnPathAsKey = false;
    const plain = await t.client.patch(`/Users/${u.id}`, [{ op: 'replace', path: `${SCHEMA_ENTERPRISE_USER}:department`, value: 'Sales' }]);
    expect(plain.body[SCHEMA_ENTERPRISE_USER].department).toBe('Sales');
  });
});

describe('filterPlusAsSpace', () => {
  it('userName eq "a+b@x" finds nothing, as a "+" read as a space; other filters work', async () => {
    t.sandbox.behaviour.filterPlusAsSpace = true;
    await t.client.createUser('ann+hr@example.com', { externalId: 'E1' });
    expect((await t.client.filter('Users', 'userName eq "ann+hr@example.com"')).body.totalResults).toBe(0);
    expect((await t.client.filter('Users', 'externalId eq "E1"')).body.totalResults).toBe(1);
    t.sandbox.behaviour.filterPlusAsSpace = false;
    expect((await t.client.filter('Users', 'userName eq "ann+hr@example.com"')).body.totalResults).toBe(1);
  });
});

describe('ignoreFilters', () => {
  it('a filtered list answers every user, as if it had no filter', async () => {
    await t.client.createUser('ann@example.com', { externalId: 'E1' });
    await t.client.createUser('bob@example.com', { externalId: 'E2' });
    t.sandbox.behaviour.ignoreFilters = true;
    expect((await t.client.filter('Users', 'externalId eq "E2"')).body.totalResults).toBe(2);
    t.sandbox.behaviour.ignoreFilters = false;
    expect((await t.client.filter('Users', 'externalId eq "E2"')).body.totalResults).toBe(1);
  });
});

describe('ignoredAttributes', () => {
  it('a create leaves them out, a PATCH or PUT leaves them as they were, with success', async () => {
    const u = await t.client.createUser('pat@example.com', { title: 'Engineer' });
    t.sandbox.behaviour.ignoredAttributes = ['title'];
    const patched = await t.client.patch(`/Users/${u.id}`, [{ op: 'replace', path: 'title', value: 'Lead' }]);
    expect(patched.status).toBe(200);
    expect(patched.body.title).toBe('Engineer');
    const put = await t.client.put(`/Users/${u.id}`, { schemas: u.schemas, userName: 'pat@example.com', title: 'Boss' });
    expect(put.status).toBe(200);
    expect(put.body.title).toBe('Engineer');
    const created = await t.client.createUser('kim@example.com', { title: 'Lead', displayName: 'Kim' });
    expect(created.title).toBeUndefined();
    expect(created.displayName).toBe('Kim');
  });
});

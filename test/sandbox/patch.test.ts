import { describe, expect, it } from 'vitest';
import { SCHEMA_ENTERPRISE_USER, SCHEMA_USER, useSandbox } from './helpers.js';
import type { Body, Reply } from './helpers.js';

const t = useSandbox();

async function newUser(extra: Record<string, unknown> = {}): Promise<Body> {
  return t.client.createUser('pat@example.com', {
    name: { givenName: 'Pat', familyName: 'Doe' },
    title: 'Engineer',
    active: true,
    emails: [{ value: 'pat@work.com', type: 'work', primary: true }],
    ...extra,
  });
}

async function failsWith(res: Reply, status: number, scimType: string | undefined, detail: RegExp): Promise<void> {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.scimType).toBe(scimType);
  expect(res.body.detail).toMatch(detail);
}

describe('simple paths', () => {
  it('replace answers 200 with the resource, a new version and ETag', async () => {
    const u = await newUser();
    const res = await t.client.patch(`/Users/${u.id}`, [{ op: 'replace', path: 'active', value: false }]);
    expect(res.status).toBe(200);
    expect(res.body.active).toBe(false);
    expect(res.body.meta.version).toBe('W/"2"');
    expect(res.headers.get('etag')).toBe('W/"2"');
  });

  it('accepts capitalised ops and attribute names in any case', async () => {
    const u = await newUser();
    const res = await t.client.patch(`/Users/${u.id}`, [{ op: 'Replace', path: 'TITLE', value: 'Lead' }, { op: 'Add', path: 'Name.MiddleName', value: 'Q' }]);
    expect(res.status).toBe(200);
    expect(res.body.title).toBe('Lead');
    expect(res.body.name).toEqual({ givenName: 'Pat', familyName: 'Doe', middleName: 'Q' });
  });

  it('rejects "False" as a boolean unless lenientBooleans', async () => {
    const u = await newUser();
    await failsWith(await t.client.patch(`/Users/${u.id}`, [{ op: 'Replace', path: 'active', value: 'False' }]), 400, 'invalidValue', /active" must be a boolean/);
    t.sandbox.behaviour.lenientBooleans = true;
    const res = await t.client.patch(`/Users/${u.id}`, [{ op: 'Replace', path: 'active', value: 'False' }]);
    expect(res.body.active).toBe(false);
  });

  it('remove of a single-valued attribute unassigns it', async () => {
    const u = await newUser();
    const res = await t.client.patch(`/Users/${u.id}`, [{ op: 'remove', path: 'title' }, { op: 'remove', path: 'name.givenName' }]);
    expect(res.body).not.toHaveProperty('title');
    expect(res.body.name).toEqual({ familyName: 'Doe' });
  });
});

describe('without a path', () => {
  it('add and replace merge the value object; complex attributes merge sub-attributes', async () => {
    const u = await newUser();
    const res = await t.client.patch(`/Users/${u.id}`, [{ op: 'replace', value: { title: 'Lead', name: { givenName: 'Patricia' } } }]);
    expect(res.body.title).toBe('Lead');
    expect(res.body.name).toEqual({ givenName: 'Patricia', familyName: 'Doe' });
  });

  it('accepts Entra-style keys that are paths', async () => {
    const u = await newUser();
    const res = await t.client.patch(`/Users/${u.id}`, [
      { op: 'Replace', value: { 'name.familyName': 'Roe', [`${SCHEMA_ENTERPRISE_USER}:department`]: 'Ops', active: false, 'emails[type eq "work"].value': 'roe@work.com' } },
    ]);
    expect(res.body.emails).toEqual([{ value: 'roe@work.com', type: 'work', primary: true }]);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.name.familyName).toBe('Roe');
    expect(res.body.active).toBe(false);
    expect(res.body[SCHEMA_ENTERPRISE_USER]).toEqual({ department: 'Ops' });
    expect(res.body.schemas).toEqual([SCHEMA_USER, SCHEMA_ENTERPRISE_USER]);
  });

  it('remove needs a path: 400 noTarget', async () => {
    const u = await newUser();
    await failsWith(await t.client.patch(`/Users/${u.id}`, [{ op: 'remove' }]), 400, 'noTarget', /needs a "path"/);
  });
});

describe('multi-valued and filtered paths', () => {
  it('replace emails[type eq "work"].value changes only that value', async () => {
    const u = await newUser({ emails: [{ value: 'pat@work.com', type: 'work' }, { value: 'pat@home.net', type: 'home' }] });
    const res = await t.client.patch(`/Users/${u.id}`, [{ op: 'replace', path: 'emails[type eq "work"].value', value: 'pat@new.com' }]);
    expect(res.body.emails).toEqual([{ value: 'pat@new.com', type: 'work' }, { value: 'pat@home.net', type: 'home' }]);
  });

  it('replace through a filter that matches nothing is 400 noTarget', async () => {
    const u = await newUser();
    await failsWith(await t.client.patch(`/Users/${u.id}`, [{ op: 'replace', path: 'emails[type eq "home"].value', value: 'x@y' }]), 400, 'noTarget', /matches/);
  });

  it('add through a filter that matches nothing creates the value it describes', async () => {
    const u = await newUser();
    const res = await t.client.patch(`/Users/${u.id}`, [{ op: 'add', path: 'emails[type eq "home"].value', value: 'pat@home.net' }]);
    expect(res.body.emails).toEqual([{ value: 'pat@work.com', type: 'work', primary: true }, { type: 'home', value: 'pat@home.net' }]);
  });

  it('remove emails[type eq "work"] removes the matching value', async () => {
    const u = await newUser({ emails: [{ value: 'pat@work.com', type: 'work' }, { value: 'pat@home.net', type: 'home' }] });
    const res = await t.client.patch(`/Users/${u.id}`, [{ op: 'remove', path: 'emails[type eq "work"]' }]);
    expect(res.body.emails).toEqual([{ value: 'pat@home.net', type: 'home' }]);
  });

  it('add appends without duplicates; a new primary clears the old one', async () => {
    const u = await newUser();
    const res = await t.client.patch(`/Users/${u.id}`, [
      { op: 'add', path: 'emails', value: [{ value: 'pat@work.com', type: 'work', primary: true }, { value: 'p@alt.com', type: 'other', primary: true }] },
    ]);
    expect(res.body.emails).toEqual([{ value: 'pat@work.com', type: 'work', primary: false }, { value: 'p@alt.com', type: 'other', primary: true }]);
  });

  it('add of 60,000 values skips exact duplicates, in any key order, in one pass (comparing each with every element took minutes)', async () => {
    const u = await newUser();
    const added = Array.from({ length: 60_000 }, (_, i) => ({ value: `p${i}@x.com`, type: 'other' }));
    const again = [{ type: 'work', primary: true, value: 'pat@work.com' }, { type: 'other', value: 'p7@x.com' }];
    const res = await t.client.patch(`/Users/${u.id}`, [{ op: 'add', path: 'emails', value: [...added, ...again] }]);
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200);
    expect(res.body.emails).toHaveLength(60_001);
    expect(res.body.emails[60_000]).toEqual({ value: 'p59999@x.com', type: 'other' });
  });

  it('remove of 40,000 values given whole removes those that hold each one\'s keys and values, in one pass (each element against every value took minutes)', async () => {
    const u = await newUser();
    const many = Array.from({ length: 40_000 }, (_, i) => ({ value: `p${i}@x.com`, type: i % 2 ? 'home' : 'other' }));
    expect((await t.client.patch(`/Users/${u.id}`, [{ op: 'add', path: 'emails', value: many }])).status).toBe(200);
    // Every other value, in another key order; one of them with a type it does not have (kept); a
    // value by its address alone (removes it whatever its type); the work address by value and type.
    const removed = many.filter((_, i) => i % 2 === 0 && i !== 10).map((e) => ({ type: e.type, value: e.value }));
    const res = await t.client.patch(`/Users/${u.id}`, [
      { op: 'remove', path: 'emails', value: [...removed, { value: 'p10@x.com', type: 'home' }, { value: 'p1@x.com' }, { value: 'pat@work.com', type: 'work' }] },
    ]);
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200);
    expect(res.body.emails).toHaveLength(20_000);
    expect(res.body.emails.slice(0, 5)).toEqual([...[3, 5, 7, 9].map((i) => ({ value: `p${i}@x.com`, type: 'home' })), { value: 'p10@x.com', type: 'other' }]);
  });

  it('replace of a multi-valued attribute replaces all values', async () => {
    const u = await newUser();
    const res = await t.client.patch(`/Users/${u.id}`, [{ op: 'replace', path: 'emails', value: [{ value: 'only@x.com' }] }]);
    expect(res.body.emails).toEqual([{ value: 'only@x.com' }]);
  });

  it('a filter on a single-valued attribute is an invalid path', async () => {
    const u = await newUser();
    await failsWith(await t.client.patch(`/Users/${u.id}`, [{ op: 'replace', path: 'title[value eq "x"]', value: 'y' }]), 400, 'invalidPath', /multi-valued complex/);
  });
});

describe('extension paths', () => {
  it('sets enterprise attributes and lists the extension in schemas', async () => {
    const boss = await t.client.createUser('boss@example.com');
    const u = await newUser();
    const res = await t.client.patch(`/Users/${u.id}`, [
      { op: 'add', path: `${SCHEMA_ENTERPRISE_USER}:department`, value: 'Eng' },
      { op: 'replace', path: `${SCHEMA_ENTERPRISE_USER}:manager.value`, value: boss.id },
    ]);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.schemas).toEqual([SCHEMA_USER, SCHEMA_ENTERPRISE_USER]);
    expect(res.body[SCHEMA_ENTERPRISE_USER]).toEqual({ department: 'Eng', manager: { value: boss.id } });
  });

  it('a manager that is not an existing user is refused', async () => {
    const u = await newUser();
    await failsWith(await t.client.patch(`/Users/${u.id}`, [{ op: 'add', path: `${SCHEMA_ENTERPRISE_USER}:manager.value`, value: 'E999' }]), 400, 'invalidValue', /E999/);
  });

  it('a path naming the extension takes an object; remove drops the extension', async () => {
    const u = await newUser();
    const set = await t.client.patch(`/Users/${u.id}`, [{ op: 'add', path: SCHEMA_ENTERPRISE_USER, value: { costCenter: 'C7' } }]);
    expect(set.body[SCHEMA_ENTERPRISE_USER]).toEqual({ costCenter: 'C7' });
    const removed = await t.client.patch(`/Users/${u.id}`, [{ op: 'remove', path: `${SCHEMA_ENTERPRISE_USER}:costCenter` }]);
    expect(removed.body).not.toHaveProperty(SCHEMA_ENTERPRISE_USER);
  });
});

describe('atomicity and rules', () => {
  it('applies all operations or none', async () => {
    const u = await newUser();
    const res = await t.client.patch(`/Users/${u.id}`, [
      { op: 'replace', path: 'title', value: 'Changed' },
      { op: 'replace', path: 'shoeSize', value: 44 },
    ]);
    await failsWith(res, 400, 'invalidPath', /Operations\[1\].*unknown attribute "shoeSize"/);
    const after = (await t.client.get(`/Users/${u.id}`)).body;
    expect(after.title).toBe('Engineer');
    expect(after.meta.version).toBe('W/"1"');
  });

  it('a userName taken by another user is 409 and changes nothing', async () => {
    await t.client.createUser('taken@example.com');
    const u = await newUser();
    const res = await t.client.patch(`/Users/${u.id}`, [{ op: 'replace', path: 'title', value: 'X' }, { op: 'replace', path: 'userName', value: 'TAKEN@example.com' }]);
    expect(res.status).toBe(409);
    expect((await t.client.get(`/Users/${u.id}`)).body.title).toBe('Engineer');
  });

  it('required and readOnly attributes cannot be removed or changed', async () => {
    const u = await newUser();
    await failsWith(await t.client.patch(`/Users/${u.id}`, [{ op: 'remove', path: 'userName' }]), 400, 'mutability', /userName is required/);
    await failsWith(await t.client.patch(`/Users/${u.id}`, [{ op: 'replace', path: 'userName', value: '' }]), 400, 'mutability', /userName/);
    await failsWith(await t.client.patch(`/Users/${u.id}`, [{ op: 'replace', path: 'id', value: 'x' }]), 400, 'mutability', /id is readOnly/);
    await failsWith(await t.client.patch(`/Users/${u.id}`, [{ op: 'replace', path: 'meta.version', value: 'x' }]), 400, 'mutability', /readOnly/);
  });

  it('validates the PatchOp envelope', async () => {
    const u = await newUser();
    await failsWith(await t.client.send('PATCH', `/Users/${u.id}`, { Operations: [{ op: 'replace', path: 'title', value: 'x' }] }), 400, 'invalidSyntax', /schemas/);
    await failsWith(await t.client.send('PATCH', `/Users/${u.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [] }), 400, 'invalidSyntax', /Operations/);
    await failsWith(await t.client.patch(`/Users/${u.id}`, [{ op: 'move', path: 'title' }]), 400, 'invalidSyntax', /op must be "add", "remove" or "replace"/);
    await failsWith(await t.client.patch(`/Users/${u.id}`, [{ op: 'replace', path: 'emails[type eq', value: 'x' }]), 400, 'invalidPath', /position/);
    await failsWith(await t.client.patch(`/Users/${u.id}`, [{ op: 'add', path: 'title' }]), 400, 'invalidSyntax', /needs a "value"/);
  });

  it('supportsPatch false answers 501', async () => {
    const u = await newUser();
    t.sandbox.behaviour.supportsPatch = false;
    const res = await t.client.patch(`/Users/${u.id}`, [{ op: 'replace', path: 'title', value: 'x' }]);
    expect(res.status).toBe(501);
  });

  it('store.updateUser and patchUser apply the same engine', () => {
    const u = t.sandbox.store.createUser({ userName: 'direct', active: true });
    const id = u['id'] as string;
    expect(t.sandbox.store.updateUser(id, { active: false, 'name.givenName': 'D' })).toMatchObject({ active: false, name: { givenName: 'D' } });
    expect(t.sandbox.store.patchUser(id, [{ op: 'add', path: 'title', value: 'Admin-made' }])['title']).toBe('Admin-made');
    expect(t.sandbox.store.getUser(id)?.['meta']).toMatchObject({ version: 'W/"3"' });
  });
});

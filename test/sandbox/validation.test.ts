import { describe, expect, it } from 'vitest';
import { SCHEMA_ENTERPRISE_USER, SCHEMA_GROUP, SCHEMA_USER, useSandbox, user } from './helpers.js';

const t = useSandbox();

async function rejected(body: unknown, scimType: string, detail: string | RegExp): Promise<void> {
  const res = await t.client.post('/Users', body);
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expect(res.body.scimType).toBe(scimType);
  expect(res.body.detail).toMatch(detail);
  expect(t.sandbox.store.users()).toHaveLength(0);
}

describe('strict schema validation', () => {
  it('requires schemas with the core schema', async () => {
    await rejected({ userName: 'a' }, 'invalidSyntax', /schemas/);
    await rejected({ schemas: [SCHEMA_GROUP], userName: 'a' }, 'invalidValue', /schemas/);
    await rejected({ schemas: [SCHEMA_ENTERPRISE_USER], userName: 'a' }, 'invalidValue', new RegExp(SCHEMA_USER));
    await rejected({ schemas: [SCHEMA_USER, 'urn:example:custom'], userName: 'a' }, 'invalidValue', /urn:example:custom/);
  });

  it('names unknown attributes, nested ones with their path', async () => {
    await rejected(user('a', { favouriteColour: 'blue', name: { nickname: 'x' } }), 'invalidSyntax', /"favouriteColour".*"name\.nickname"/);
  });

  it('points an enterprise attribute sent at the top level to its URN', async () => {
    await rejected(user('a', { department: 'Eng' }), 'invalidSyntax', new RegExp(`department.*${SCHEMA_ENTERPRISE_USER}`));
  });

  it('requires the extension URN in schemas when extension attributes are sent', async () => {
    await rejected(user('a', { [SCHEMA_ENTERPRISE_USER]: { department: 'Eng' } }), 'invalidSyntax', /schemas/);
  });

  it('rejects wrong types with invalidValue', async () => {
    await rejected(user('a', { active: 'True' }), 'invalidValue', /"active" must be a boolean/);
    await rejected(user('a', { emails: { value: 'a@x' } }), 'invalidValue', /"emails" is multi-valued/);
    await rejected(user('a', { name: 'Alice' }), 'invalidValue', /"name" must be an object/);
    await rejected(user('a', { title: 7 }), 'invalidValue', /"title" must be a string/);
    await rejected(user('a', { emails: [{ value: 'a@x', primary: 'yes' }] }), 'invalidValue', /"emails\[0\]\.primary"/);
  });

  it('allows "primary": true on at most one value', async () => {
    await rejected(user('a', { emails: [{ value: 'a@x', primary: true }, { value: 'b@x', primary: true }] }), 'invalidValue', /primary/);
  });

  it('requires userName, and displayName on groups', async () => {
    await rejected({ schemas: [SCHEMA_USER], displayName: 'No Name' }, 'invalidValue', /"userName" is required/);
    await rejected(user(''), 'invalidValue', /userName/);
    const res = await t.client.post('/Groups', { schemas: [SCHEMA_GROUP] });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/"displayName" is required/);
  });

  it('rejects the same attribute twice in different case', async () => {
    await rejected({ schemas: [SCHEMA_USER], userName: 'a', USERNAME: 'b' }, 'invalidSyntax', /more than once/);
  });

  it('drops readOnly attributes on input (groups, manager.displayName)', async () => {
    const boss = await t.client.createUser('boss');
    const res = await t.client.post(
      '/Users',
      user('a', { schemas: [SCHEMA_USER, SCHEMA_ENTERPRISE_USER], groups: [{ value: 'g1' }], [SCHEMA_ENTERPRISE_USER]: { manager: { value: boss.id, displayName: 'Boss' } } }),
    );
    expect(res.status).toBe(201);
    expect(res.body).not.toHaveProperty('groups');
    expect(res.body[SCHEMA_ENTERPRISE_USER].manager).toEqual({ value: boss.id });
  });

  it('requires the manager to be an existing user', async () => {
    await rejected(
      user('a', { schemas: [SCHEMA_USER, SCHEMA_ENTERPRISE_USER], [SCHEMA_ENTERPRISE_USER]: { manager: { value: 'E123' } } }),
      'invalidValue',
      /manager\.value "E123" is not the id of an existing User/,
    );
  });

  it('treats null and empty values as unassigned', async () => {
    const res = await t.client.post('/Users', user('a', { title: null, emails: [], name: {} }));
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['id', 'meta', 'schemas', 'userName']);
  });

  it('accepts string booleans only with lenientBooleans', async () => {
    t.sandbox.behaviour.lenientBooleans = true;
    const res = await t.client.post('/Users', user('a', { active: 'False' }));
    expect(res.status).toBe(201);
    expect(res.body.active).toBe(false);
  });

  it('validates dateTime and other typed sub-attributes', async () => {
    await rejected(user('a', { x509Certificates: [{ value: 'not base64!' }] }), 'invalidValue', /base64/);
  });

  it('rejects a body that is not an object', async () => {
    await rejected([user('a')], 'invalidSyntax', /JSON object/);
  });
});

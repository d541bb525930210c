import { describe, expect, it } from 'vitest';
import { SCHEMA_ENTERPRISE_USER, SCHEMA_GROUP, SCHEMA_USER, useSandbox } from './helpers.js';
import type { Body } from './helpers.js';

const t = useSandbox();

describe('ServiceProviderConfig', () => {
  it('describes the live behaviour', async () => {
    const res = await t.client.get('/ServiceProviderConfig');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/scim+json');
    expect(res.body).toMatchObject({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
      patch: { supported: true },
      bulk: { supported: false },
      filter: { supported: true, maxResults: 200 },
      changePassword: { supported: false },
      sort: { supported: true },
      etag: { supported: true },
      authenticationSchemes: [{ type: 'oauthbearertoken', primary: true }],
    });
    Object.assign(t.sandbox.behaviour, { supportsPatch: false, supportsSort: false, supportsEtag: false, maxPageSize: 50 });
    const changed = (await t.client.get('/ServiceProviderConfig')).body;
    expect(changed).toMatchObject({ patch: { supported: false }, sort: { supported: false }, etag: { supported: false }, filter: { maxResults: 50 } });
  });
});

describe('Schemas', () => {
  it('lists User, EnterpriseUser and Group with attribute characteristics', async () => {
    const res = await t.client.get('/Schemas');
    expect(res.body.totalResults).toBe(3);
    expect(res.body.Resources.map((s: Body) => s.id)).toEqual([SCHEMA_USER, SCHEMA_ENTERPRISE_USER, SCHEMA_GROUP]);
    const userSchema = (await t.client.get(`/Schemas/${SCHEMA_USER}`)).body;
    const userName = userSchema.attributes.find((a: Body) => a.name === 'userName');
    expect(userName).toEqual({
      name: 'userName',
      type: 'string',
      multiValued: false,
      description: expect.any(String),
      required: true,
      caseExact: false,
      mutability: 'readWrite',
      returned: 'default',
      uniqueness: 'server',
    });
    const emails = userSchema.attributes.find((a: Body) => a.name === 'emails');
    expect(emails).toMatchObject({ type: 'complex', multiValued: true });
    expect(emails.subAttributes.map((a: Body) => a.name)).toEqual(['value', 'display', 'type', 'primary']);
    expect(userSchema.attributes.find((a: Body) => a.name === 'password')).toMatchObject({ mutability: 'writeOnly', returned: 'never' });
    const manager = (await t.client.get(`/Schemas/${encodeURIComponent(SCHEMA_ENTERPRISE_USER)}`)).body.attributes.find((a: Body) => a.name === 'manager');
    expect(manager.subAttributes.map((a: Body) => a.name)).toEqual(['value', '$ref', 'displayName']);
    expect((await t.client.get('/Schemas/urn:nope')).status).toBe(404);
  });
});

describe('ResourceTypes', () => {
  it('lists User with the enterprise extension, and Group', async () => {
    const res = await t.client.get('/ResourceTypes');
    expect(res.body.totalResults).toBe(2);
    const userType = (await t.client.get('/ResourceTypes/User')).body;
    expect(userType).toMatchObject({ id: 'User', name: 'User', endpoint: '/Users', schema: SCHEMA_USER, schemaExtensions: [{ schema: SCHEMA_ENTERPRISE_USER, required: false }] });
    expect((await t.client.get('/ResourceTypes/Group')).body).toMatchObject({ endpoint: '/Groups', schema: SCHEMA_GROUP });
    expect((await t.client.get('/ResourceTypes/Device')).status).toBe(404);
  });
});

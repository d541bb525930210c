import { describe, expect, it } from 'vitest';
import { SCHEMA_ENTERPRISE_USER, SCHEMA_USER, useSandbox, user } from './helpers.js';

const t = useSandbox();

describe('create', () => {
  it('answers 201 with server-assigned id and meta, a Location and an ETag', async () => {
    const res = await t.client.post('/Users', user('alice@example.com', { externalId: 'E1', active: true, name: { givenName: 'Alice' } }));
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/scim+json');
    const body = res.body;
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body).toMatchObject({ schemas: [SCHEMA_USER], userName: 'alice@example.com', externalId: 'E1', active: true, name: { givenName: 'Alice' } });
    expect(body.meta).toMatchObject({ resourceType: 'User', version: 'W/"1"', location: `${t.sandbox.url}/Users/${body.id}` });
    expect(body.meta.created).toBe(body.meta.lastModified);
    expect(res.headers.get('location')).toBe(body.meta.location);
    expect(res.headers.get('etag')).toBe('W/"1"');
  });

  it('ignores id and meta sent by the client', async () => {
    const res = await t.client.post('/Users', user('bob', { id: 'mine', meta: { version: 'W/"9"', resourceType: 'Nope' } }));
    expect(res.status).toBe(201);
    expect(res.body.id).not.toBe('mine');
    expect(res.body.meta.version).toBe('W/"1"');
    expect(res.body.meta.resourceType).toBe('User');
  });

  it('accepts application/json and stores attribute names in canonical case', async () => {
    const res = await t.client.post('/Users', { SCHEMAS: [SCHEMA_USER], USERNAME: 'carol', Name: { GIVENNAME: 'Carol' } }, { 'content-type': 'application/json; charset=utf-8' });
    expect(res.status).toBe(201);
    expect(res.body.userName).toBe('carol');
    expect(res.body.name).toEqual({ givenName: 'Carol' });
    expect(t.sandbox.store.findUserByUserName('CAROL')?.['userName']).toBe('carol');
  });

  it('rejects a second userName that differs only in case with 409 uniqueness', async () => {
    await t.client.createUser('Dave@Example.com');
    const res = await t.client.post('/Users', user('dave@example.COM'));
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ status: '409', scimType: 'uniqueness' });
    expect(res.body.detail).toContain('dave@example.COM');
    expect(t.sandbox.store.users()).toHaveLength(1);
  });

  it('keeps the enterprise extension under its URN', async () => {
    const res = await t.client.post('/Users', user('erin', { schemas: [SCHEMA_USER, SCHEMA_ENTERPRISE_USER], [SCHEMA_ENTERPRISE_USER]: { department: 'Eng', employeeNumber: '42' } }));
    expect(res.status).toBe(201);
    expect(res.body.schemas).toEqual([SCHEMA_USER, SCHEMA_ENTERPRISE_USER]);
    expect(res.body[SCHEMA_ENTERPRISE_USER]).toEqual({ department: 'Eng', employeeNumber: '42' });
  });

  it('never returns the password', async () => {
    const created = await t.client.createUser('frank', { password: 's3cret!' });
    expect(created).not.toHaveProperty('password');
    expect((await t.client.get(`/Users/${created.id}`)).body).not.toHaveProperty('password');
  });
});

describe('read, replace, delete', () => {
  it('GET returns the resource with its ETag; unknown id is 404', async () => {
    const created = await t.client.createUser('gina');
    const res = await t.client.get(`/Users/${created.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(created);
    expect(res.headers.get('etag')).toBe('W/"1"');
    const missing = await t.client.get('/Users/does-not-exist');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '404' });
  });

  it('PUT replaces every writable attribute, keeps id and created, bumps the version', async () => {
    const created = await t.client.createUser('hank', { title: 'Engineer', displayName: 'Hank' });
    const res = await t.client.put(`/Users/${created.id}`, user('hank', { id: 'other-id', title: 'Manager' }));
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(created.id);
    expect(res.body.title).toBe('Manager');
    expect(res.body).not.toHaveProperty('displayName');
    expect(res.body.meta.created).toBe(created.meta.created);
    expect(res.body.meta.version).toBe('W/"2"');
    expect(res.headers.get('etag')).toBe('W/"2"');
  });

  it('PUT to a userName held by another user is 409; to its own in another case is fine', async () => {
    const a = await t.client.createUser('ivy');
    await t.client.createUser('jack');
    expect((await t.client.put(`/Users/${a.id}`, user('JACK'))).status).toBe(409);
    const own = await t.client.put(`/Users/${a.id}`, user('IVY'));
    expect(own.status).toBe(200);
    expect(own.body.userName).toBe('IVY');
  });

  it('DELETE answers 204, then the user is gone', async () => {
    const created = await t.client.createUser('kim');
    const res = await t.client.delete(`/Users/${created.id}`);
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
    expect((await t.client.get(`/Users/${created.id}`)).status).toBe(404);
    expect((await t.client.delete(`/Users/${created.id}`)).status).toBe(404);
  });

  it('PUT and PATCH on an unknown id are 404', async () => {
    expect((await t.client.put('/Users/nope', user('x'))).status).toBe(404);
    expect((await t.client.patch('/Users/nope', [{ op: 'replace', path: 'active', value: false }])).status).toBe(404);
  });
});

describe('protocol errors', () => {
  it('unparseable JSON is 400 invalidSyntax', async () => {
    const res = await t.client.send('POST', '/Users', '{"schemas": [', { 'content-type': 'application/scim+json' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: '400', scimType: 'invalidSyntax' });
  });

  it('a POST without a body is 400; a non-JSON content type is 415', async () => {
    expect((await t.client.send('POST', '/Users')).status).toBe(400);
    const res = await t.client.send('POST', '/Users', 'userName=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(415);
  });

  it('unknown routes are 404 and wrong methods 405 with Allow', async () => {
    expect((await t.client.get('/Nope')).status).toBe(404);
    expect((await t.client.get('/Users/a/b')).status).toBe(404);
    const outside = await fetch(t.sandbox.url.replace('/scim/v2', '/other'));
    expect(outside.status).toBe(404);
    const res = await t.client.send('DELETE', '/Users');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, POST');
    expect(res.body.status).toBe('405');
    expect((await t.client.send('POST', '/ServiceProviderConfig', {})).status).toBe(405);
  });

  it('answers 501 for /Bulk', async () => {
    expect((await t.client.post('/Bulk', {})).status).toBe(501);
  });

  it('answers 413 to a body over 10 MB and keeps serving', async () => {
    const huge = JSON.stringify(user('big', { title: 'x'.repeat(11 * 1024 * 1024) }));
    const res = await t.client.send('POST', '/Users', huge);
    expect(res.status).toBe(413);
    expect(t.sandbox.store.users()).toHaveLength(0);
    expect((await t.client.get('/Users')).status).toBe(200);
  });

  it('turns a handler exception into a 500 SCIM error and keeps serving', async () => {
    t.sandbox.behaviour.filterOperators = null as unknown as 'all';
    const res = await t.client.get(`/Users?filter=${encodeURIComponent('userName eq "x"')}`);
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '500' });
    expect((await t.client.get('/Users')).status).toBe(200);
  });

  it('records every request in order with parsed write bodies', async () => {
    const created = await t.client.createUser('lena');
    await t.client.get(`/Users?filter=${encodeURIComponent('userName eq "lena"')}`);
    await t.client.delete(`/Users/${created.id}`);
    const recorded = t.sandbox.requests.map(({ method, path, status }) => ({ method, path, status }));
    expect(recorded).toEqual([
      { method: 'POST', path: '/Users', status: 201 },
      { method: 'GET', path: '/Users', status: 200 },
      { method: 'DELETE', path: `/Users/${created.id}`, status: 204 },
    ]);
    expect(t.sandbox.requests[0]!.body).toMatchObject({ userName: 'lena' });
    expect(new URLSearchParams(t.sandbox.requests[1]!.query).get('filter')).toBe('userName eq "lena"');
    expect(t.sandbox.requests[2]!.body).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { Client, useSandbox } from './helpers.js';

const TOKEN = 'sandbox-test-token';
const t = useSandbox({ token: TOKEN });

describe('bearer token', () => {
  it('answers 401 with a SCIM error and WWW-Authenticate without a token, on every route', async () => {
    const anonymous = new Client(t.sandbox.url);
    for (const path of ['/Users', '/Groups', '/ServiceProviderConfig', '/Schemas', '/ResourceTypes', '/Nope']) {
      const res = await anonymous.get(path);
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(res.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '401' });
    }
    expect((await anonymous.post('/Users', { userName: 'x' })).status).toBe(401);
    expect(t.sandbox.store.users()).toHaveLength(0);
  });

  it('answers 401 to a wrong token and does not echo it', async () => {
    const res = await new Client(t.sandbox.url, 'wrong-token-value').get('/Users');
    expect(res.status).toBe(401);
    expect(JSON.stringify(res.body)).not.toContain('wrong-token-value');
  });

  it('serves the right token', async () => {
    expect((await t.client.get('/Users')).status).toBe(200);
    expect((await t.client.get('/ServiceProviderConfig')).status).toBe(200);
  });
});

describe('the request log', () => {
  const unrecorded = useSandbox({ token: TOKEN, recordRequests: false });

  it('is kept by default, refused requests included, and not at all when turned off (scim-sync sandbox, long-running)', async () => {
    await new Client(t.sandbox.url).post('/Users', { userName: 'x', padding: 'p'.repeat(100_000) });
    expect(t.sandbox.requests.at(-1)).toMatchObject({ method: 'POST', path: '/Users', status: 401 });
    const anonymous = new Client(unrecorded.sandbox.url);
    for (let i = 0; i < 5; i++) expect((await anonymous.post('/Users', { userName: 'x', padding: 'p'.repeat(100_000) })).status).toBe(401);
    expect((await unrecorded.client.get('/Users')).status).toBe(200);
    expect(unrecorded.sandbox.requests).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { useSandbox, user } from './helpers.js';

const t = useSandbox();

describe('ETags', () => {
  it('a stale If-Match on PUT, PATCH and DELETE is 412 and changes nothing', async () => {
    const u = await t.client.createUser('e');
    await t.client.patch(`/Users/${u.id}`, [{ op: 'replace', path: 'title', value: 'v2' }]);
    const stale = { 'if-match': 'W/"1"' };
    for (const res of [
      await t.client.put(`/Users/${u.id}`, user('e', { title: 'lost' }), stale),
      await t.client.patch(`/Users/${u.id}`, [{ op: 'replace', path: 'title', value: 'lost' }], stale),
      await t.client.delete(`/Users/${u.id}`, stale),
    ]) {
      expect(res.status).toBe(412);
      expect(res.body.status).toBe('412');
      expect(res.body.scimType).toBeUndefined();
      expect(res.body.detail).toMatch(/version mismatch/);
    }
    const current = await t.client.get(`/Users/${u.id}`);
    expect(current.body.title).toBe('v2');
    expect(current.headers.get('etag')).toBe('W/"2"');
  });

  it('a current If-Match (weak or strong form, or *) is honoured', async () => {
    const u = await t.client.createUser('e');
    expect((await t.client.patch(`/Users/${u.id}`, [{ op: 'replace', path: 'title', value: 'a' }], { 'if-match': 'W/"1"' })).status).toBe(200);
    expect((await t.client.patch(`/Users/${u.id}`, [{ op: 'replace', path: 'title', value: 'b' }], { 'if-match': '"2"' })).status).toBe(200);
    expect((await t.client.put(`/Users/${u.id}`, user('e'), { 'if-match': '*' })).status).toBe(200);
    expect((await t.client.delete(`/Users/${u.id}`, { 'if-match': 'W/"9", W/"4"' })).status).toBe(204);
  });

  it('If-None-Match with the current version answers 304', async () => {
    const u = await t.client.createUser('e');
    const res = await t.client.get(`/Users/${u.id}`, { 'if-none-match': 'W/"1"' });
    expect(res.status).toBe(304);
    expect((await t.client.get(`/Users/${u.id}`, { 'if-none-match': 'W/"0"' })).status).toBe(200);
  });

  it('supportsEtag false: no ETag header, no meta.version, If-Match ignored', async () => {
    t.sandbox.behaviour.supportsEtag = false;
    const created = await t.client.post('/Users', user('e'));
    expect(created.headers.get('etag')).toBeNull();
    expect(created.body.meta).not.toHaveProperty('version');
    const res = await t.client.patch(`/Users/${created.body.id}`, [{ op: 'replace', path: 'title', value: 'x' }], { 'if-match': 'W/"7"' });
    expect(res.status).toBe(200);
    expect((await t.client.get('/Users')).body.Resources[0].meta).not.toHaveProperty('version');
  });
});

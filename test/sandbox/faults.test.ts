import { describe, expect, it, vi } from 'vitest';
import { startSandbox } from '../../src/sandbox/index.js';
import { useSandbox, user } from './helpers.js';

const t = useSandbox();

function postUser(userName: string, timeoutMs = 2_000): Promise<Response> {
  return fetch(`${t.sandbox.url}/Users`, {
    method: 'POST',
    headers: { 'content-type': 'application/scim+json' },
    body: JSON.stringify(user(userName)),
    signal: AbortSignal.timeout(timeoutMs),
  });
}

describe('status faults', () => {
  it('before: fails instead of handling, with Retry-After, once by default', async () => {
    t.sandbox.addFault({ method: 'POST', path: '/Users', action: { type: 'status', status: 429, retryAfter: '2' } });
    const limited = await postUser('a');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(await limited.json()).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '429' });
    expect(t.sandbox.store.users()).toHaveLength(0);
    expect((await postUser('a')).status).toBe(201);
    expect(t.sandbox.requests.map((r) => r.status)).toEqual([429, 201]);
    expect(t.sandbox.requests[0]!.body).toMatchObject({ userName: 'a' });
  });

  it('after: commits the change, then fails the answer', async () => {
    t.sandbox.addFault({ method: 'POST', path: '/Users', when: 'after', action: { type: 'status', status: 503, detail: 'upstream timeout' } });
    const res = await postUser('b');
    expect(res.status).toBe(503);
    expect(((await res.json()) as { detail: string }).detail).toBe('upstream timeout');
    expect(t.sandbox.store.findUserByUserName('b')).toBeDefined();
    expect(t.sandbox.requests[0]).toMatchObject({ method: 'POST', path: '/Users', status: 503 });
  });

  it('matches method, path prefix or RegExp, in insertion order, `times` times', async () => {
    t.sandbox.addFault({ method: 'GET', path: /^\/Groups/, times: 2, action: { type: 'status', status: 500 } });
    t.sandbox.addFault({ path: '/Groups', action: { type: 'status', status: 502 } });
    expect((await t.client.get('/Users')).status).toBe(200);
    expect((await t.client.post('/Users', user('x'))).status).toBe(201);
    expect((await t.client.get('/Groups')).status).toBe(500);
    expect((await t.client.get('/Groups?count=1')).status).toBe(500);
    expect((await t.client.get('/Groups')).status).toBe(502);
    expect((await t.client.get('/Groups')).status).toBe(200);
  });

  it('times: Infinity keeps failing until clearFaults', async () => {
    t.sandbox.addFault({ action: { type: 'status', status: 503 }, times: Infinity });
    for (let i = 0; i < 3; i++) expect((await t.client.get('/Users')).status).toBe(503);
    t.sandbox.clearFaults();
    expect((await t.client.get('/Users')).status).toBe(200);
  });
});

describe('network faults', () => {
  it('hang before: no answer, nothing committed, recorded with status 0', async () => {
    t.sandbox.addFault({ method: 'POST', action: { type: 'hang' } });
    await expect(postUser('c', 300)).rejects.toThrow(/timeout|aborted/i);
    expect(t.sandbox.store.users()).toHaveLength(0);
    expect(t.sandbox.requests[0]).toMatchObject({ method: 'POST', status: 0 });
    expect((await postUser('c')).status).toBe(201);
  });

  it('hang after: the user exists although the client never got an answer', async () => {
    t.sandbox.addFault({ method: 'POST', path: '/Users', when: 'after', action: { type: 'hang' } });
    await expect(postUser('d', 300)).rejects.toThrow(/timeout|aborted/i);
    expect(t.sandbox.store.findUserByUserName('d')).toBeDefined();
    expect(t.sandbox.requests[0]!.status).toBe(0);
  });

  it('reset destroys the socket', async () => {
    t.sandbox.addFault({ path: '/Users', action: { type: 'reset' } });
    await expect(t.client.get('/Users')).rejects.toThrow();
    expect(t.sandbox.requests[0]!.status).toBe(0);
    expect((await t.client.get('/Users')).status).toBe(200);
  });

  it('reset after: committed, then the socket is destroyed', async () => {
    t.sandbox.addFault({ method: 'POST', when: 'after', action: { type: 'reset' } });
    await expect(postUser('e')).rejects.toThrow();
    expect(t.sandbox.store.findUserByUserName('e')).toBeDefined();
  });

  it('delay answers normally after the given time', async () => {
    t.sandbox.addFault({ method: 'GET', action: { type: 'delay', ms: 150 } });
    const started = performance.now();
    const res = await t.client.get('/Users');
    expect(res.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('close() ends hanging sockets instead of waiting for them', async () => {
    const sandbox = await startSandbox();
    sandbox.addFault({ action: { type: 'hang' }, times: Infinity });
    const pending = fetch(`${sandbox.url}/Users`, { signal: AbortSignal.timeout(10_000) });
    const outcome = pending.then(
      () => 'answered',
      () => 'failed',
    );
    await vi.waitFor(() => expect(sandbox.requests).toHaveLength(1), { timeout: 2_000, interval: 5 });
    const started = performance.now();
    await sandbox.close();
    expect(await outcome).toBe('failed');
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('rejects a rule with times below 1', () => {
    expect(() => t.sandbox.addFault({ times: 0, action: { type: 'reset' } })).toThrow(/times/);
  });
});

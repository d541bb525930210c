/**
 * A client view bound to a stop signal (ScimTarget.stoppedBy), against a loopback server: a request
 * that waits (a Retry-After, a read's retry) gives up when the signal aborts and is never sent; an
 * operation whose write already went through finishes. And the headers each request carries, which the
 * client and its views build once and share.
 */
import { createServer, type Server } from 'node:http';
import { afterEach, expect, it } from 'vitest';
import { StoppedError } from '../../src/errors.js';
import { ScimClient } from '../../src/targets/http/scim-client.js';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A server that answers each request with the next of `answers` (the last repeats), recording what it got. */
async function answering(answers: { status: number; headers?: Record<string, string> }[]): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  server = createServer((req, res) => {
    req.resume();
    const a = answers[Math.min(seen.length, answers.length - 1)]!;
    seen.push(`${req.method} ${req.url}`);
    res.writeHead(a.status, { 'content-type': 'application/scim+json', ...a.headers });
    res.end(JSON.stringify(a.status < 300 ? { id: 'u1', userName: 'a' } : { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(a.status) }));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server!.address() as { port: number }).port}/scim/v2`, seen };
}

/** Each test its own target name: the request budget is one per target in the process. */
const client = (target: string, url: string) => new ScimClient({ target, baseUrl: url, auth: { type: 'none' }, timeoutMs: 5000, maxSockets: 2 });

it('a read waiting out a Retry-After gives up when the stop comes, and is not sent again', async () => {
  const { url, seen } = await answering([{ status: 429, headers: { 'retry-after': '30' } }, { status: 200 }]);
  const stop = new AbortController();
  const started = Date.now();
  const read = client('stop-read', url).stoppedBy(stop.signal).get('Users', 'u1');
  // The first answer arrived: the read now waits 30 s before trying again.
  while (seen.length === 0) await new Promise((resolve) => setImmediate(resolve));
  stop.abort(new Error('interrupted by SIGINT'));
  const error = await read.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(StoppedError);
  expect((error as StoppedError).message).toBe('not sent: interrupted by SIGINT');
  expect((error as StoppedError).context).toMatchObject({ target: 'stop-read', request: 'GET /Users/u1' });
  expect(Date.now() - started).toBeLessThan(5000);
  expect(seen).toEqual(['GET /scim/v2/Users/u1']);
});

it('a view whose stop came first sends nothing; the client it was made from is not stopped', async () => {
  const { url, seen } = await answering([{ status: 200 }]);
  const stop = new AbortController();
  stop.abort(new Error('target stopped'));
  const base = client('stop-first', url);
  await expect(base.stoppedBy(stop.signal).get('Users', 'u1')).rejects.toBeInstanceOf(StoppedError);
  expect(seen).toEqual([]);
  await expect(base.get('Users', 'u1')).resolves.toMatchObject({ id: 'u1' });
  expect(seen).toEqual(['GET /scim/v2/Users/u1']);
});

it('once a write of the view went through, its next requests are sent despite the stop (the operation finishes)', async () => {
  const { url, seen } = await answering([{ status: 200 }]);
  const stop = new AbortController();
  const view = client('stop-after-write', url).stoppedBy(stop.signal);
  await view.patch('Users', 'u1', [{ op: 'replace', path: 'title', value: 'CTO' }], 'a');
  stop.abort(new Error('stopped'));
  await expect(view.get('Users', 'u1')).resolves.toMatchObject({ id: 'u1' });
  expect(seen).toEqual(['PATCH /scim/v2/Users/u1', 'GET /scim/v2/Users/u1']);
});

it('each request carries its own headers: content-type only with a body, If-Match only where a version was given, views alike', async () => {
  const headers: { line: string; type?: string; ifMatch?: string; accept?: string }[] = [];
  server = createServer((req, res) => {
    req.resume();
    headers.push({ line: `${req.method} ${req.url}`, type: req.headers['content-type'], ifMatch: req.headers['if-match'], accept: req.headers.accept });
    res.writeHead(200, { 'content-type': 'application/scim+json' });
    res.end(JSON.stringify({ id: 'u1', userName: 'a' }));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const base = client('own-headers', `http://127.0.0.1:${(server!.address() as { port: number }).port}/scim/v2`);
  const view = base.stoppedBy(new AbortController().signal);
  await base.patch('Users', 'u1', [{ op: 'replace', path: 'title', value: 'x' }], 'a', { version: 'W/"1"' });
  await view.get('Users', 'u1');
  await view.create('Users', { userName: 'a' }, 'a');
  await base.get('Users', 'u1');
  await view.replace('Users', 'u1', { userName: 'a' }, 'a', { version: 'W/"2"' });
  await base.patch('Users', 'u1', [{ op: 'replace', path: 'title', value: 'y' }], 'a');
  const json = 'application/scim+json';
  expect(headers.map(({ line, type, ifMatch }) => ({ line, type, ifMatch }))).toEqual([
    { line: 'PATCH /scim/v2/Users/u1', type: json, ifMatch: 'W/"1"' },
    { line: 'GET /scim/v2/Users/u1', type: undefined, ifMatch: undefined },
    { line: 'POST /scim/v2/Users', type: json, ifMatch: undefined },
    { line: 'GET /scim/v2/Users/u1', type: undefined, ifMatch: undefined },
    { line: 'PUT /scim/v2/Users/u1', type: json, ifMatch: 'W/"2"' },
    { line: 'PATCH /scim/v2/Users/u1', type: json, ifMatch: undefined },
  ]);
  expect(new Set(headers.map((h) => h.accept))).toEqual(new Set(['application/scim+json, application/json']));
});

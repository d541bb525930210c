/**
 * What the service's HTTP server does with bodies it will not read, and with clients that hold a
 * request open: a body past the limit, or sent where none is read, is answered and its connection
 * closed rather than drained for as long as the client sends; stopping the service does not wait
 * on a client that drips a body; past a bound of event bodies being read at once, a delivery is
 * refused (503) rather than held in memory. Over real sockets.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_EVENT_BODY_BYTES } from '../../src/config/schema/events.js';
import { MAX_EVENT_BODIES_READ, startHttp, type HttpHandle } from '../../src/service/http-server.js';

let http: HttpHandle | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets) s.destroy();
  await http?.close();
  http = undefined;
});

async function server(): Promise<HttpHandle> {
  http = await startHttp(
    '127.0.0.1:0',
    {
      readiness: () => ({ ready: true, problems: [], detail: {} }),
      metrics: async () => ({ contentType: 'text/plain', body: '' }),
      event: async () => ({ status: 202, body: { accepted: true } }),
      hasEvent: (name) => name === 'hr',
    },
    () => undefined,
  );
  return http;
}

/** A raw client: sends the request line `head` (method and path), then keeps sending 64 KiB chunks of a chunked body until the server closes it. */
function endlessChunked(url: string, head: string): Promise<{ answer: string; sent: number }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  sockets.push(socket);
  const chunk = `${(64 * 1024).toString(16)}\r\n${'x'.repeat(64 * 1024)}\r\n`;
  let answer = '';
  let sent = 0;
  socket.on('data', (d: Buffer) => (answer += d.toString()));
  socket.on('error', () => undefined);
  socket.write(`${head} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ntransfer-encoding: chunked\r\n\r\n`);
  const pump = () => {
    while (!socket.destroyed && socket.writable && sent < 4 * 1024 * 1024 * 1024) {
      sent += chunk.length;
      if (!socket.write(chunk)) return void socket.once('drain', pump);
    }
  };
  pump();
  return new Promise((resolve) => socket.once('close', () => resolve({ answer, sent })));
}

describe('bodies the server does not read', () => {
  it('an event body past the limit: 413, and the connection is closed, not drained', async () => {
    const { url } = await server();
    const { answer, sent } = await endlessChunked(url, 'POST /events/hr');
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toContain(`event bodies are limited to ${MAX_EVENT_BODY_BYTES} bytes`);
    // Closed soon after the limit (what was in flight aside), not after gigabytes.
    expect(sent).toBeLessThan(64 * MAX_EVENT_BODY_BYTES);
  });

  it('a body sent to an endpoint that does not exist, or to /healthz: answered, and the connection closed', async () => {
    const { url } = await server();
    const unknown = await endlessChunked(url, 'POST /events/nope');
    expect(unknown.answer).toMatch(/^HTTP\/1\.1 404 /);
    const health = await endlessChunked(url, 'GET /healthz');
    expect(health.answer).toMatch(/^HTTP\/1\.1 200 /);
  });
});

describe('stopping', () => {
  it('lets a request being handled finish and answer, past the grace, while the connections with nothing being handled go', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const handling = new Promise<void>((resolve) => (started = resolve));
    const slow = await startHttp(
      '127.0.0.1:0',
      {
        readiness: () => ({ ready: true, problems: [], detail: {} }),
        metrics: async () => ({ contentType: 'text/plain', body: '' }),
        event: async () => {
          started();
          await held;
          return { status: 202, body: { accepted: true } };
        },
      },
      () => undefined,
      { closeGraceMs: 0 },
    );
    const { port } = new URL(slow.url);
    const answer = fetch(`${slow.url}/events/hr`, { method: 'POST', body: '{}', headers: { host: `127.0.0.1:${port}` } }).then(async (r) => [r.status, await r.text()]);
    const idle = connect(Number(port), '127.0.0.1');
    sockets.push(idle);
    const idleClosed = new Promise<void>((resolve) => idle.once('close', () => resolve()));
    await handling;
    const closed = slow.close();
    // The grace (0 ms here) has run once a later timer has.
    await new Promise((resolve) => setTimeout(resolve, 0));
    await idleClosed;
    release();
    expect(await answer).toEqual([202, '{"accepted":true}\n']);
    await closed;
  });

  it('does not wait on a client that drips a request body', async () => {
    const { url } = await server();
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    sockets.push(socket);
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(`POST /events/hr HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-length: 100000\r\n\r\n{"a":`);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await http!.close();
    http = undefined;
    await closed;
  });
});

describe('the Host it answers to', () => {
  it('on loopback, /readyz and /metrics answer loopback names only (a rebound DNS name gets 421); events and /healthz come through a proxy with its Host', async () => {
    const { url } = await server();
    const { port } = new URL(url);
    const ask = (path: string, host: string, body?: string) =>
      new Promise<string>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1');
        sockets.push(socket);
        let answer = '';
        socket.on('data', (d: Buffer) => (answer += d.toString()));
        socket.on('end', () => resolve(answer));
        const request = body === undefined ? `GET ${path} HTTP/1.1\r\n` : `POST ${path} HTTP/1.1\r\ncontent-length: ${body.length}\r\n`;
        socket.write(`${request}host: ${host}\r\nconnection: close\r\n\r\n${body ?? ''}`);
      });
    for (const path of ['/readyz', '/metrics']) {
      expect(await ask(path, 'attacker.example')).toMatch(/^HTTP\/1\.1 421 /);
      expect(await ask(path, `attacker.example:${port}`)).toMatch(/^HTTP\/1\.1 421 /);
      expect(await ask(path, `127.0.0.1:${port}`)).toMatch(/^HTTP\/1\.1 200 /);
      expect(await ask(path, `localhost:${port}`)).toMatch(/^HTTP\/1\.1 200 /);
      // A port-forward's port, a name with its root dot, no port at all, 127/8.
      expect(await ask(path, 'localhost:9090')).toMatch(/^HTTP\/1\.1 200 /);
      expect(await ask(path, `localhost.:${port}`)).toMatch(/^HTTP\/1\.1 200 /);
      expect(await ask(path, '127.0.0.2')).toMatch(/^HTTP\/1\.1 200 /);
      expect(await ask(path, '[::1]')).toMatch(/^HTTP\/1\.1 200 /);
    }
    expect(await ask('/healthz', 'scim.example.com')).toMatch(/^HTTP\/1\.1 200 /);
    expect(await ask('/events/hr', 'scim.example.com', '{}')).toMatch(/^HTTP\/1\.1 202 /);
  });
});

describe('event bodies read at once', () => {
  it(`past ${MAX_EVENT_BODIES_READ} deliveries whose bodies are still arriving, the next is answered 503 with Retry-After; once one ends, deliveries are read again`, async () => {
    const { url } = await server();
    const { hostname, port } = new URL(url);
    // Each announces 1,000 bytes and sends 10: held open, its body being read.
    const stalled: Socket[] = [];
    for (let i = 0; i < MAX_EVENT_BODIES_READ; i++) {
      const socket = connect(Number(port), hostname);
      sockets.push(socket);
      stalled.push(socket);
      socket.on('error', () => undefined);
      socket.write(`POST /events/hr HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"id":"x",`);
    }
    const post = () => fetch(`${url}/events/hr`, { method: 'POST', body: '{"id":"E1"}', headers: { 'content-type': 'application/json' } });
    // The server has begun reading all of them when the next is refused.
    await expect.poll(async () => (await post()).status, { timeout: 10_000, interval: 20 }).toBe(503);
    const refused = await post();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    stalled[0]!.destroy();
    await expect.poll(async () => (await post()).status, { timeout: 10_000, interval: 20 }).toBe(202);
  });
});

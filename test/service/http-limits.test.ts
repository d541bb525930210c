/**
 * What the service's HTTP server does with bodies it will not read, and with clients that hold a
 * request open: a body past the limit, or sent where none is read, is answered and its connection
 * closed rather than drained for as long as the client sends; stopping the service does not wait
 * on a client that drips a body; past a bound of event bodies being read at once, a delivery is
 * refused (503) rather than held in memory, and the bound is kept for deliveries that could be
 * signed and arrive at a sender's pace: one without a signature header is refused from its headers,
 * one client holds a few slots at most, a dripping body is cut off. Connections are bounded in all
 * and per client address. Over real sockets, from several loopback addresses (127.0.0.2, ...).
 */
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_EVENT_BODY_BYTES } from '../../src/config/schema/events.js';
import { MAX_EVENT_BODIES_PER_CLIENT, MAX_EVENT_BODIES_READ, startHttp, type HttpHandle, type HttpOptions, type HttpRoutes } from '../../src/service/http-server.js';

let http: HttpHandle | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.length = 0;
  await http?.close();
  http = undefined;
});

/** Endpoint hr: a delivery without an x-sig header is refused from its headers. */
const routes: HttpRoutes = {
  readiness: () => ({ ready: true, problems: [], detail: {} }),
  metrics: async () => ({ contentType: 'text/plain', body: '' }),
  event: async () => ({ status: 202, body: { accepted: true } }),
  hasEvent: (name) => name === 'hr',
  eventIntake: (_, headers) => (headers['x-sig'] ? { read: MAX_EVENT_BODY_BYTES } : { refuse: { status: 401, body: { error: 'unauthorized' } } }),
};

async function server(options: HttpOptions = {}, log: (line: string) => void = () => undefined): Promise<HttpHandle> {
  http = await startHttp('127.0.0.1:0', routes, log, options);
  return http;
}

/** A connection from loopback address `from`, open. */
async function socketFrom(url: string, from: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  const socket = connect({ port: Number(port), host: hostname, localAddress: from });
  sockets.push(socket);
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return socket;
}

/** A delivery's head and the first bytes of a body announced longer, from `from`: its body is being read, or it is answered. */
async function stalled(url: string, from: string, headers = 'x-sig: t=1\r\n'): Promise<Socket> {
  const socket = await socketFrom(url, from);
  const { port } = new URL(url);
  socket.write(`POST /events/hr HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n${headers}content-type: application/json\r\ncontent-length: 1000\r\n\r\n{"id":"x",`);
  return socket;
}

/** What the server answered on this socket (its first bytes), or '' when it closed the socket without an answer. */
function answerOf(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\r\n\r\n')) resolve(text);
    });
    socket.once('close', () => resolve(text));
  });
}

/** A signed delivery posted whole from `from`: its status. */
function post(url: string, from: string, sig = true): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/events/hr`, { method: 'POST', localAddress: from, agent: false, timeout: 10_000, headers: { 'content-type': 'application/json', ...(sig ? { 'x-sig': 't=1' } : {}) } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('no answer in 10 s')));
    req.end('{"id":"E1"}');
  });
}

/** A raw client: sends the request line `head` (method and path), then keeps sending 64 KiB chunks of a chunked body until the server closes it. */
function endlessChunked(url: string, head: string, headers = ''): Promise<{ answer: string; sent: number }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  sockets.push(socket);
  const chunk = `${(64 * 1024).toString(16)}\r\n${'x'.repeat(64 * 1024)}\r\n`;
  let answer = '';
  let sent = 0;
  socket.on('data', (d: Buffer) => (answer += d.toString()));
  socket.on('error', () => undefined);
  socket.write(`${head} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n${headers}transfer-encoding: chunked\r\n\r\n`);
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
    const { answer, sent } = await endlessChunked(url, 'POST /events/hr', 'x-sig: t=1\r\n');
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
    socket.write(`POST /events/hr HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nx-sig: t=1\r\ncontent-length: 100000\r\n\r\n{"a":`);
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
        const request = body === undefined ? `GET ${path} HTTP/1.1\r\n` : `POST ${path} HTTP/1.1\r\nx-sig: t=1\r\ncontent-length: ${body.length}\r\n`;
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
  /** Loopback address n (127.0.0.n). */
  const lo = (n: number) => `127.0.0.${n}`;

  it(`past ${MAX_EVENT_BODIES_READ} signed deliveries whose bodies are still arriving, the next is answered 503 with Retry-After; once one ends, deliveries are read again`, async () => {
    const { url } = await server();
    // Each announces 1,000 bytes and sends 10: held open, its body being read. From as many clients as it takes.
    const held: Socket[] = [];
    for (let i = 0; i < MAX_EVENT_BODIES_READ; i++) held.push(await stalled(url, lo(10 + Math.floor(i / MAX_EVENT_BODIES_PER_CLIENT))));
    // The server has begun reading all of them when the next is refused.
    await expect.poll(() => post(url, lo(2)), { timeout: 10_000, interval: 20 }).toBe(503);
    const refused = await new Promise<string>((resolve) => void stalled(url, lo(2)).then((s) => answerOf(s).then(resolve)));
    expect(refused).toMatch(/^HTTP\/1\.1 503 /);
    expect(refused).toMatch(/\r\nretry-after: 1\r\n/i);
    held[0]!.destroy();
    await expect.poll(() => post(url, lo(2)), { timeout: 10_000, interval: 20 }).toBe(202);
  });

  it('a delivery without its signature header is refused from its headers (401) and takes no slot: 40 of them dripping bodies block no signed delivery', async () => {
    const { url } = await server();
    const unsigned = await Promise.all(Array.from({ length: 40 }, (_, i) => stalled(url, lo(10 + (i % 10)), '')));
    for (const answer of await Promise.all(unsigned.map(answerOf))) expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(await post(url, lo(2))).toBe(202);
  });

  it(`one client holds at most ${MAX_EVENT_BODIES_PER_CLIENT} of the slots; another's delivery is read`, async () => {
    const { url } = await server();
    for (let i = 0; i < MAX_EVENT_BODIES_PER_CLIENT; i++) await stalled(url, lo(3));
    await expect.poll(() => post(url, lo(3)), { timeout: 10_000, interval: 20 }).toBe(503);
    expect(await post(url, lo(4))).toBe(202);
  });

  it('a body that arrives slower than the least pace is cut off (408) and its slot freed', async () => {
    const lines: string[] = [];
    const { url } = await server({ eventBodyPace: { graceMs: 300, bytesPerSecond: 1000 } }, (l) => lines.push(l));
    const started = Date.now();
    const drip = await stalled(url, lo(5));
    // 10 bytes sent of 1,000 announced: due by 300 ms + 10 ms; the server's own timeouts are 30 s.
    expect(await answerOf(drip)).toMatch(/^HTTP\/1\.1 408 /);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await post(url, lo(5))).toBe(202);
  });
});

describe('connections', () => {
  const lo = (n: number) => `127.0.0.${n}`;
  /** Opens a connection from `from` and asks /healthz on it: true when answered (and kept open, keep-alive), false when closed unanswered. */
  async function held(url: string, from: string): Promise<boolean> {
    const socket = await socketFrom(url, from);
    const answer = answerOf(socket);
    socket.write(`GET /healthz HTTP/1.1\r\nhost: 127.0.0.1:${new URL(url).port}\r\n\r\n`);
    return /^HTTP\/1\.1 200 /.test(await answer);
  }

  it('one client address keeps at most maxConnectionsPerAddress open; the next is closed at once, others are served', async () => {
    const lines: string[] = [];
    const { url } = await server({ maxConnections: 40, maxConnectionsPerAddress: 5 }, (l) => lines.push(l));
    const flood: boolean[] = [];
    for (let i = 0; i < 12; i++) flood.push(await held(url, lo(6)));
    expect(flood).toEqual([...Array<boolean>(5).fill(true), ...Array<boolean>(7).fill(false)]);
    expect(await held(url, lo(7))).toBe(true);
    expect(lines.filter((l) => l.includes('connections from 127.0.0.6 refused'))).toHaveLength(1);
  });

  it('at most maxConnections are open at once, from all clients', async () => {
    const { url } = await server({ maxConnections: 20, maxConnectionsPerAddress: 8 });
    const open: boolean[] = [];
    for (let i = 0; i < 32; i++) open.push(await held(url, lo(20 + (i % 4))));
    expect(open.filter(Boolean)).toHaveLength(20);
    // Closing some makes room again.
    for (const s of sockets.slice(0, 3)) s.destroy();
    await expect.poll(() => held(url, lo(30)), { timeout: 10_000, interval: 20 }).toBe(true);
  });
});

/**
 * The service's HTTP endpoints on `serve.listen`: /healthz (the process answers), /readyz (ready to
 * act: state open, a first cycle done, every feed's last poll good), /metrics (Prometheus) and
 * POST /events/<name> (inbound HR webhooks), and /ui (the web console, behind its own sign-in, when
 * configured). Read-only except the signed events and the console's forms; nothing here echoes a
 * request's body or headers back.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { MAX_EVENT_BODY_BYTES } from '../config/schema/events.js';
import { redact } from '../config/secret.js';
import { isLoopback } from '../config/schema/serve.js';
import type { JsonObject } from '../model/scim.js';


export interface Readiness {
  ready: boolean;
  /** Why not, or what is degraded. */
  problems: string[];
  detail: JsonObject;
}

export interface HttpRoutes {
  readiness(): Readiness;
  metrics(): Promise<{ contentType: string; body: string }>;
  /** An inbound event for endpoint `name`: null when there is no such endpoint. */
  event?(name: string, rawBody: Buffer, headers: IncomingHttpHeaders): Promise<{ status: number; body: JsonObject } | null>;
  /** Whether endpoint `name` exists: asked before its body is read. */
  hasEvent?(name: string): boolean;
  /** The web console (service/console), when configured: answers every request under /ui itself. */
  ui?(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

/** Every answer goes through the redactor: readiness quotes the last cycle's error, which may quote a server that echoed a credential. */
/** How long requests under way may finish once the service stops. */
const CLOSE_GRACE_MS = 2_000;

function send(res: ServerResponse, status: number, body: JsonObject | string, contentType = 'application/json'): void {
  const text = redact(typeof body === 'string' ? body : `${JSON.stringify(body)}\n`);
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Connections whose request body is being read: on stop, they are not waited for (see startHttp). */
const readingBody = new Set<Socket>();

/**
 * Event bodies read at once, at most. Each is held whole (up to MAX_EVENT_BODY_BYTES) until its
 * signature is checked, so without a bound anyone reaching the port could open connections that
 * each send a body short of its end and hold the service's memory (800 of them: about 1 GB).
 * Beyond it a delivery is answered 503 with Retry-After, which HR senders retry.
 */
export const MAX_EVENT_BODIES_READ = 16;
let eventBodiesRead = 0;

/** The body, or null when it exceeds `limit` (the rest is not read). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  const socket = req.socket;
  readingBody.add(socket);
  return readAll(req, limit).finally(() => readingBody.delete(socket));
}

function readAll(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) return resolve(null);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Nothing more is read: once answered, the connection is closed (startHttp).
        req.removeAllListeners('data');
        req.pause();
        resolve(null);
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? null : Buffer.concat(chunks)));
    req.on('error', reject);
    // A client gone (or timed out) before its body ended: settled, so it no longer counts as read.
    req.on('close', () => reject(new Error('the connection closed before the body ended')));
  });
}

/**
 * Listening on loopback, /readyz and /metrics answer only loopback names: a web page whose name a
 * rebinding DNS points at 127.0.0.1 would otherwise read them (targets' errors, the source's path)
 * from the browser of someone on this machine. The name alone is judged (a port-forward changes the
 * port), a request without one passes (a browser always sends it), and nothing else is judged:
 * signed events and /healthz come through proxies that forward their own Host, and off loopback
 * the Host is whatever the network calls the service (a Kubernetes probe, a scrape by service name).
 */
function rebound(req: IncomingMessage, loopbackOnly: boolean): boolean {
  const host = req.headers.host;
  if (!loopbackOnly || host === undefined || host === '') return false;
  const name = (/^\[([^\]]*)\]/.exec(host)?.[1] ?? host.replace(/:\d*$/, '')).replace(/\.$/, '');
  return !isLoopback(name);
}

async function route(routes: HttpRoutes, req: IncomingMessage, res: ServerResponse, loopbackOnly: boolean): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]!;
  if ((path === '/readyz' || path === '/metrics') && rebound(req, loopbackOnly)) return send(res, 421, { error: 'this service answers to its loopback address only' });
  const get = req.method === 'GET' || req.method === 'HEAD';
  if (path === '/healthz' && get) return send(res, 200, { status: 'ok' });
  if (routes.ui && (path === '/ui' || path.startsWith('/ui/'))) return routes.ui(req, res);
  if (path === '/readyz' && get) {
    const r = routes.readiness();
    return send(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not ready', problems: r.problems, ...r.detail });
  }
  if (path === '/metrics' && get) {
    const m = await routes.metrics();
    return send(res, 200, m.body, m.contentType);
  }
  const event = /^\/events\/([A-Za-z0-9_-]{1,64})$/.exec(path);
  if (event && routes.event && (routes.hasEvent?.(event[1]!) ?? true)) {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return send(res, 405, { error: 'POST an event here' });
    }
    if (eventBodiesRead >= MAX_EVENT_BODIES_READ) {
      res.setHeader('retry-after', '1');
      res.setHeader('connection', 'close');
      return send(res, 503, { error: 'too many event deliveries being read at once: try again' });
    }
    eventBodiesRead++;
    const body = await readBody(req, MAX_EVENT_BODY_BYTES).finally(() => eventBodiesRead--);
    if (body === null) return send(res, 413, { error: `event bodies are limited to ${MAX_EVENT_BODY_BYTES} bytes` });
    const answer = await routes.event(event[1]!, body, req.headers);
    if (answer) return send(res, answer.status, answer.body);
  }
  send(res, 404, { error: 'not found' });
}

export interface HttpHandle {
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  close(): Promise<void>;
}

/** `closeGraceMs`: how long a stop waits before closing connections no request is being handled on. */
export async function startHttp(listen: string, routes: HttpRoutes, log: (line: string) => void, options: { closeGraceMs?: number } = {}): Promise<HttpHandle> {
  let closing = false;
  // Connections, and those whose request is being handled: on stop, handling goes on to its answer.
  const connections = new Set<Socket>();
  const handling = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    handling.add(req.socket);
    res.once('close', () => handling.delete(req.socket));
    // A body left unread (too large, or sent where none is read) is not drained once the request is
    // answered, as Node would, for as long as the client cares to send: the connection goes instead.
    // Stopping, a connection goes once its answer is out.
    res.once('finish', () => {
      if (!req.complete || closing) req.socket.destroySoon();
    });
    route(routes, req, res, loopbackOnly).catch((error: unknown) => {
      log(`http: ${req.method} ${(req.url ?? '').split('?')[0]}: ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent) send(res, 500, { error: 'internal error (see the service log)' });
      else res.destroy();
    });
  });
  server.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  // Slow or idle clients do not hold sockets for long.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  const at = /^\[?([^\]]+)\]?:(\d+)$/.exec(listen)!;
  const loopbackOnly = isLoopback(at[1]!);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(at[2]), at[1], () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        server.close(() => resolve());
        server.closeIdleConnections();
        // Node stops timing requests out once the server closes: a client dripping a body, or its
        // headers, would keep the service (and its run lock) alive for as long as it liked. After a
        // short grace every connection goes but those whose request is being handled (a console
        // action, an event's sync): those finish and answer.
        setTimeout(() => {
          for (const socket of connections) if (!handling.has(socket) || readingBody.has(socket)) socket.destroy();
        }, options.closeGraceMs ?? CLOSE_GRACE_MS).unref();
      }),
  };
}

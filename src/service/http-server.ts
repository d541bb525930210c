/**
 * The service's HTTP endpoints on `serve.listen`: /healthz (the process answers), /readyz (ready to
 * act: state open, a first cycle done, every feed's last poll good), /metrics (Prometheus) and
 * POST /events/<name> (inbound HR webhooks), and /ui (the web console, behind its own sign-in, when
 * configured). Read-only except the signed events and the console's forms; nothing here echoes a
 * request's body or headers back.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_EVENT_BODY_BYTES } from '../config/schema/events.js';
import { redact } from '../config/secret.js';
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

/** The body, or null when it exceeds `limit` (the rest is not read). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
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
  });
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * Listening on loopback, only loopback names are answered: a web page whose name a rebinding DNS
 * points at 127.0.0.1 would otherwise read /readyz (targets' errors, the source's path) and
 * /metrics from the browser of someone on this machine. Elsewhere the Host is whatever the
 * network calls the service (a Kubernetes probe, a Prometheus scrape by service name): not judged.
 */
function rebound(req: IncomingMessage): boolean {
  if (!LOOPBACK.has(req.socket.localAddress ?? '')) return false;
  const host = (req.headers.host ?? '').toLowerCase();
  const port = req.socket.localPort;
  return ![`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(host);
}

async function route(routes: HttpRoutes, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]!;
  // The console judges its own hosts (its public address may be another name).
  if (!(routes.ui && (path === '/ui' || path.startsWith('/ui/'))) && rebound(req)) return send(res, 421, { error: 'this service answers to its loopback address only' });
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
    const body = await readBody(req, MAX_EVENT_BODY_BYTES);
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

export async function startHttp(listen: string, routes: HttpRoutes, log: (line: string) => void): Promise<HttpHandle> {
  const server: Server = createServer((req, res) => {
    // A body left unread (too large, or sent where none is read) is not drained once the request is
    // answered, as Node would, for as long as the client cares to send: the connection goes instead.
    res.once('finish', () => {
      if (!req.complete) req.socket.destroySoon();
    });
    route(routes, req, res).catch((error: unknown) => {
      log(`http: ${req.method} ${(req.url ?? '').split('?')[0]}: ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent) send(res, 500, { error: 'internal error (see the service log)' });
      else res.destroy();
    });
  });
  // Slow or idle clients do not hold sockets for long.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  const at = /^\[?([^\]]+)\]?:(\d+)$/.exec(listen)!;
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
        server.close(() => resolve());
        server.closeIdleConnections();
        // Node stops timing requests out once the server closes: a client dripping a body would keep
        // the service (and its run lock) alive for as long as it liked. A short grace, then they go.
        setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS).unref();
      }),
  };
}

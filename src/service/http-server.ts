/**
 * The service's HTTP endpoints on `serve.listen`: /healthz (the process answers), /readyz (ready to
 * act: state open, a first cycle done, every feed's last poll good), /metrics (Prometheus) and
 * POST /events/<name> (inbound HR webhooks), and /ui (the web console, behind its own sign-in, when
 * configured). Read-only except the signed events and the console's forms; nothing here echoes a
 * request's body or headers back. Bounded for clients that reach the port without a credential:
 * connections in all and per client address, event bodies read at once (per client too), and the
 * pace of each event body.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { clientNetwork } from '../config/address-ranges.js';
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

/**
 * What becomes of a delivery to an events endpoint, decided from its headers before any of its body
 * is read or a slot to read it is taken: refused at once (no signature header at all: whoever sent
 * it cannot have signed it), or read up to `read` bytes, `past` being the answer beyond them (413).
 */
export type EventIntake = { refuse: { status: number; body: JsonObject } } | { read: number; past?: () => { status: number; body: JsonObject } };

export interface HttpRoutes {
  readiness(): Readiness;
  metrics(): Promise<{ contentType: string; body: string }>;
  /** An inbound event for endpoint `name`: null when there is no such endpoint. */
  event?(name: string, rawBody: Buffer, headers: IncomingHttpHeaders): Promise<{ status: number; body: JsonObject } | null>;
  /** Whether endpoint `name` exists: asked before its body is read. */
  hasEvent?(name: string): boolean;
  /** Endpoint `name`'s intake of a POST with these headers (an endpoint that exists); default: read it up to MAX_EVENT_BODY_BYTES. */
  eventIntake?(name: string, headers: IncomingHttpHeaders): EventIntake;
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
 * Beyond it a delivery is answered 503 with Retry-After, which HR senders retry. The slots are
 * kept for deliveries that could be signed and are sent at a sender's pace: a delivery without its
 * scheme's signature header is refused before it takes one (EventIntake), one client network holds
 * at most MAX_EVENT_BODIES_PER_CLIENT, and a body slower than EVENT_BODY_PACE is cut off.
 */
export const MAX_EVENT_BODIES_READ = 16;
export const MAX_EVENT_BODIES_PER_CLIENT = 4;

/**
 * The least pace of an event body: all of it within `graceMs`, or on average `bytesPerSecond` after
 * that (a 1 MiB body in 21 s). An HR system's delivery of a few kilobytes arrives in one packet;
 * a client dripping a byte every two seconds held a slot for a minute, and sixteen of them every slot.
 */
export const EVENT_BODY_PACE: BodyPace = { graceMs: 5_000, bytesPerSecond: 64 * 1024 };

export interface BodyPace {
  graceMs: number;
  bytesPerSecond: number;
}

/** A body that did not arrive at its least pace: answered 408, its connection closed. */
export class SlowBodyError extends Error {}

/** The body, or null when it exceeds `limit` (the rest is not read); `pace`: a SlowBodyError when it arrives slower. */
export function readBody(req: IncomingMessage, limit: number, pace?: BodyPace): Promise<Buffer | null> {
  const socket = req.socket;
  readingBody.add(socket);
  return readAll(req, limit, pace).finally(() => readingBody.delete(socket));
}

function readAll(req: IncomingMessage, limit: number, pace: BodyPace | undefined): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) return resolve(null);
    const chunks: Buffer[] = [];
    let size = 0;
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    // Due once the bytes so far would have been allowed: the next must come by then.
    const due = () => {
      if (!pace) return;
      clearTimeout(timer);
      const at = started + pace.graceMs + (size * 1000) / pace.bytesPerSecond;
      timer = setTimeout(() => {
        req.removeAllListeners('data');
        req.pause();
        reject(new SlowBodyError(`the body arrived slower than ${pace.bytesPerSecond} bytes a second after ${pace.graceMs} ms (${size} bytes in ${Date.now() - started} ms)`));
      }, Math.max(0, at - Date.now()));
      timer.unref();
    };
    due();
    const settle = () => clearTimeout(timer);
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Nothing more is read: once answered, the connection is closed (startHttp).
        settle();
        req.removeAllListeners('data');
        req.pause();
        resolve(null);
      } else {
        chunks.push(chunk);
        due();
      }
    });
    req.on('end', () => {
      settle();
      resolve(size > limit ? null : Buffer.concat(chunks));
    });
    req.on('error', (error) => {
      settle();
      reject(error);
    });
    // A client gone (or timed out) before its body ended: settled, so it no longer counts as read.
    req.on('close', () => {
      settle();
      reject(new Error('the connection closed before the body ended'));
    });
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

/** Event bodies being read, in all and per client network. */
class EventSlots {
  private all = 0;
  private readonly byClient = new Map<string, number>();

  /** Takes a slot for this client; false when every slot, or this client's share, is taken. */
  take(client: string): boolean {
    const held = this.byClient.get(client) ?? 0;
    if (this.all >= MAX_EVENT_BODIES_READ || held >= MAX_EVENT_BODIES_PER_CLIENT) return false;
    this.all++;
    this.byClient.set(client, held + 1);
    return true;
  }

  give(client: string): void {
    this.all--;
    const held = this.byClient.get(client)! - 1;
    if (held > 0) this.byClient.set(client, held);
    else this.byClient.delete(client);
  }
}

async function route(routes: HttpRoutes, req: IncomingMessage, res: ServerResponse, loopbackOnly: boolean, slots: EventSlots, pace: BodyPace): Promise<void> {
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
    const intake = routes.eventIntake?.(event[1]!, req.headers) ?? { read: MAX_EVENT_BODY_BYTES };
    if ('refuse' in intake) return send(res, intake.refuse.status, intake.refuse.body);
    const client = clientNetwork(req.socket.remoteAddress ?? '');
    if (!slots.take(client)) {
      res.setHeader('retry-after', '1');
      res.setHeader('connection', 'close');
      return send(res, 503, { error: 'too many event deliveries being read at once: try again' });
    }
    let body: Buffer | null;
    try {
      body = await readBody(req, Math.min(intake.read, MAX_EVENT_BODY_BYTES), pace);
    } catch (error) {
      if (!(error instanceof SlowBodyError)) throw error;
      res.setHeader('connection', 'close');
      return send(res, 408, { error: 'the event body arrived too slowly' });
    } finally {
      slots.give(client);
    }
    if (body === null) {
      const past = intake.past?.() ?? { status: 413, body: { error: `event bodies are limited to ${MAX_EVENT_BODY_BYTES} bytes` } };
      return send(res, past.status, past.body);
    }
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

export interface HttpOptions {
  /** How long a stop waits before closing connections no request is being handled on, ms; default CLOSE_GRACE_MS. */
  closeGraceMs?: number;
  /** serve.maxConnections: connections open at once; beyond, a new one is closed at once. Default unbounded (tests). */
  maxConnections?: number;
  /** serve.maxConnectionsPerAddress: connections of one client network (an IPv6 /64) at once; beyond, a new one is closed at once. */
  maxConnectionsPerAddress?: number;
  /** The least pace of an event body; default EVENT_BODY_PACE. */
  eventBodyPace?: BodyPace;
}

/**
 * How often Node looks for requests past requestTimeout or headersTimeout, ms. Its default (30 s)
 * let a request dripping its headers or body live twice its timeout.
 */
const CONNECTIONS_CHECKING_INTERVAL_MS = 1_000;

export async function startHttp(listen: string, routes: HttpRoutes, log: (line: string) => void, options: HttpOptions = {}): Promise<HttpHandle> {
  let closing = false;
  // Connections, and those whose request is being handled: on stop, handling goes on to its answer.
  const connections = new Set<Socket>();
  const handling = new Set<Socket>();
  const slots = new EventSlots();
  const pace = options.eventBodyPace ?? EVENT_BODY_PACE;
  const server: Server = createServer({ connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS }, (req, res) => {
    handling.add(req.socket);
    res.once('close', () => handling.delete(req.socket));
    // A body left unread (too large, or sent where none is read) is not drained once the request is
    // answered, as Node would, for as long as the client cares to send: the connection goes instead.
    // Stopping, a connection goes once its answer is out.
    res.once('finish', () => {
      if (!req.complete || closing) req.socket.destroySoon();
    });
    route(routes, req, res, loopbackOnly, slots, pace).catch((error: unknown) => {
      log(`http: ${req.method} ${(req.url ?? '').split('?')[0]}: ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent) send(res, 500, { error: 'internal error (see the service log)' });
      else res.destroy();
    });
  });
  // Each connection holds a file descriptor, which the service's own work (the source's file, the
  // audit log, its connections to the targets) needs too: without a bound, idle connections took
  // every one (EMFILE) and /healthz went unanswered. Node closes those past maxConnections; those
  // past one client network's share are closed here.
  if (options.maxConnections !== undefined) server.maxConnections = options.maxConnections;
  const perClient = new Map<string, number>();
  let refusedLogged = 0;
  server.on('connection', (socket: Socket) => {
    const client = clientNetwork(socket.remoteAddress ?? '');
    const held = perClient.get(client) ?? 0;
    if (options.maxConnectionsPerAddress !== undefined && held >= options.maxConnectionsPerAddress) {
      socket.destroy();
      // Said at most once a minute: a flood would otherwise flood the log.
      if (Date.now() - refusedLogged > 60_000) {
        refusedLogged = Date.now();
        log(`http: connections from ${client} refused: it holds ${held} (serve.maxConnectionsPerAddress)`);
      }
      return;
    }
    perClient.set(client, held + 1);
    connections.add(socket);
    socket.once('close', () => {
      connections.delete(socket);
      const left = perClient.get(client)! - 1;
      if (left > 0) perClient.set(client, left);
      else perClient.delete(client);
    });
  });
  server.on('drop', () => {
    if (Date.now() - refusedLogged > 60_000) {
      refusedLogged = Date.now();
      log(`http: connections refused: ${options.maxConnections} are open (serve.maxConnections)`);
    }
  });
  // Slow or idle clients do not hold sockets for long: Node looks every CONNECTIONS_CHECKING_INTERVAL_MS.
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

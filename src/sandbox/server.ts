import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { JsonValue } from '../model/scim.js';
import { resolveBehaviour } from './behaviour.js';
import type { SandboxBehaviour } from './behaviour.js';
import { ScimError } from './errors.js';
import { FaultSet } from './faults.js';
import type { FaultAction, FaultRule } from './faults.js';
import { JournalFile } from './persistence.js';
import { profileBehaviour, type SandboxProfileName } from './profiles.js';
import { ArrivalWindow, seededRandom } from './traffic.js';
import { SandboxStore } from './resource-store.js';
import { seedUsers } from './seed.js';
import type { StoreSnapshot } from './resource-store.js';
import { errorResponse, handleRequest } from './scim-api.js';
import type { ApiContext, ApiResponse, RequestBody } from './scim-api.js';

/** The sandbox's HTTP lifecycle: listening, bodies, recording, faults, shutdown. */

export interface SandboxOptions {
  /** Interface to listen on. Default '127.0.0.1'. */
  host?: string;
  /** TCP port; 0 (default) lets the OS pick a free one. */
  port?: number;
  /** Path of the SCIM root. Default '/scim/v2'. */
  basePath?: string;
  /** Bearer token required on every route when set; requests without it get 401. Default null. */
  token?: string | null;
  /** Custom credential check replacing `token` (basic auth, an API-key header, OAuth tokens). Default none. */
  verify?: (headers: IncomingHttpHeaders) => boolean;
  /**
   * JSON file loaded at start; changes are appended to a journal beside it (debounced ~200 ms) and
   * folded into it on close. See persistence.ts.
   */
  dataFile?: string;
  /** Users to create at start when the store does not hold them yet (seed.ts: deterministic). Default 0. */
  seedUsers?: number;
  /** Act like this vendor's server (see profiles.ts); `behaviour` overrides it key by key. Default generic. */
  profile?: SandboxProfileName;
  behaviour?: Partial<SandboxBehaviour>;
  /** Seed of the generator behind behaviour.errorRate, so a run's failures repeat. Default 1. */
  seed?: number;
  /**
   * Keep every request in `requests` (what tests assert on). Default true. The long-running
   * `scim-sync sandbox` turns it off: kept for the life of the process, with their bodies, the
   * requests of anyone who can reach the port (refused ones too) would grow without limit.
   */
  recordRequests?: boolean;
}

export interface RecordedRequest {
  method: string;
  /** Path after basePath ('/Users/abc'); the full path for requests outside basePath. */
  path: string;
  /** Raw query string without '?', as sent (read it with URLSearchParams). */
  query: string;
  /** Status answered; 0 when the socket was hung or reset (or the client went away first). */
  status: number;
  /** Parsed JSON body; the raw text when it was not valid JSON; absent without a body. */
  body?: unknown;
  /** Arrival time, ms since the epoch. */
  at: number;
  /** Request headers as received (names lower-case). */
  headers: IncomingHttpHeaders;
  /** True when the request took an injected fault (see addFault). */
  faulted?: boolean;
}

export interface Sandbox {
  /** SCIM root, e.g. 'http://127.0.0.1:40123/scim/v2'. */
  url: string;
  port: number;
  /** Direct access for tests: read and change users and groups without HTTP. */
  store: SandboxStore;
  /** Every request in arrival order. */
  requests: RecordedRequest[];
  clearRequests(): void;
  addFault(rule: FaultRule): void;
  clearFaults(): void;
  /** Mutable at runtime; read on every request. */
  behaviour: SandboxBehaviour;
  /** Stops listening, ends open and hanging sockets, folds the journal into the dataFile. */
  close(): Promise<void>;
}

/** Request bodies above this answer 413. */
const BODY_LIMIT = 10 * 1024 * 1024;
const JSON_TYPE = /^application\/(?:scim\+)?json\s*(?:;|$)/i;

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const host = options.host ?? '127.0.0.1';
  const basePath = normaliseBasePath(options.basePath ?? '/scim/v2');
  const behaviour = resolveBehaviour(profileBehaviour(options.profile, options.behaviour));
  const random = seededRandom(options.seed ?? 1);
  const traffic = new ArrivalWindow();
  const creates = new ArrivalWindow();
  const stored = options.dataFile ? await JournalFile.read(options.dataFile) : undefined;
  const saved = stored?.document;
  if (saved !== undefined && !isSnapshot(saved)) throw new Error(`sandbox dataFile ${options.dataFile} is not a sandbox data file`);

  const faults = new FaultSet();
  const requests: RecordedRequest[] = [];
  const record = options.recordRequests !== false;
  const hanging = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let ctx: ApiContext | undefined;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const at = Date.now();
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const fullPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const query = q < 0 ? '' : rawUrl.slice(q + 1);
    const path = relativePath(fullPath, basePath);
    const method = (req.method ?? 'GET').toUpperCase();
    const recorded: RecordedRequest = { method, path: path ?? fullPath, query, status: 0, at, headers: req.headers };
    if (record) requests.push(recorded);

    const body = await readBody(req);
    if (body === 'aborted') return;
    if (body.kind === 'json') recorded.body = body.value;
    else if (body.kind === 'invalid') recorded.body = body.text;

    if (behaviour.latencyMs > 0) await sleep(behaviour.latencyMs);
    const refusal = trafficRefusal(method, path);
    if (refusal) return send(res, errorResponse(refusal), recorded);
    const fault = faults.take(method, path ?? fullPath);
    const after = fault?.when === 'after';
    if (fault) recorded.faulted = true;
    if (fault && !after) {
      if (fault.action.type !== 'delay') return inflict(fault.action, req, res, recorded);
      await sleep(fault.action.ms);
    }
    const response = ctx ? handleRequest(ctx, { method, path, query, headers: req.headers, body }) : errorResponse(new ScimError(503, 'sandbox is starting'));
    if (fault && after) {
      // The change is committed; only the answer fails, as when a proxy times out after the app wrote.
      if (fault.action.type === 'no-id') return send(res, withoutId(response), recorded);
      if (fault.action.type !== 'delay') return inflict(fault.action, req, res, recorded);
      await sleep(fault.action.ms);
    }
    send(res, response, recorded);
  };

  /** Load a real server sheds before looking at the request: random 503s and rate limits. */
  const trafficRefusal = (method: string, path: string | undefined): ScimError | undefined => {
    if (behaviour.errorRate > 0 && random() < behaviour.errorRate) return new ScimError(503, 'injected fault: service unavailable (errorRate)');
    const now = Date.now();
    const overall = traffic.admit(behaviour.rateLimit, now);
    if (overall) return rateLimited(overall, 'rate limit');
    if (method === 'POST' && path === '/Users') {
      const create = creates.admit(behaviour.createRateLimit, now);
      if (create) return rateLimited(create, 'user creation limit');
    }
    return undefined;
  };

  const inflict = (action: FaultAction, req: IncomingMessage, res: ServerResponse, recorded: RecordedRequest): void => {
    const socket = req.socket;
    switch (action.type) {
      case 'status': {
        const error = new ScimError(action.status, action.detail ?? `injected fault: HTTP ${action.status}`, action.scimType, action.retryAfter ? { 'Retry-After': action.retryAfter } : {});
        const answer = errorResponse(error);
        send(res, action.answeredAs === undefined ? answer : { ...answer, status: action.answeredAs }, recorded);
        return;
      }
      case 'hang':
        hanging.add(socket);
        socket.once('close', () => hanging.delete(socket));
        return;
      case 'reset':
        socket.resetAndDestroy();
        return;
      case 'delay':
      case 'no-id':
        return;
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // Last line of defence: an answer, never a crashed process.
      if (!res.headersSent && !res.destroyed) {
        const fallback = errorResponse(error);
        res.writeHead(fallback.status, { 'Content-Type': 'application/scim+json' });
        res.end(JSON.stringify(fallback.body));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const port = (server.address() as AddressInfo).port;
  const url = `http://${urlHost(host)}:${port}${basePath}`;
  const store = new SandboxStore(behaviour, url);
  if (saved !== undefined) store.load(saved as StoreSnapshot);
  const saver = options.dataFile ? new JournalFile(options.dataFile, () => store.snapshot(), stored) : undefined;
  if (options.seedUsers) seedUsers(store, options.seedUsers);
  if (saver) {
    // Seeded users go to the snapshot at once, not through the journal line by line.
    if ((stored?.journalLines ?? 0) > 0 || options.seedUsers) await saver.compact();
    store.onChange = (change) => saver.record(change);
  }
  ctx = { store, behaviour, baseUrl: url, token: options.token ?? null, verify: options.verify };

  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    store,
    requests,
    behaviour,
    clearRequests: () => {
      requests.length = 0;
    },
    addFault: (rule) => faults.add(rule),
    clearFaults: () => faults.clear(),
    close: () => {
      closed ??= (async () => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of hanging) socket.destroy();
        server.closeAllConnections();
        await stopped;
        await saver?.compact();
      })();
      return closed;
    },
  };
}

function rateLimited(retryAfterSeconds: number, what: string): ScimError {
  return new ScimError(429, `${what} exceeded; retry after ${retryAfterSeconds} s`, undefined, { 'Retry-After': String(retryAfterSeconds) });
}

/** The answer as a gateway that lost the id gives it: no `id`, a Location ending in /undefined. */
function withoutId(response: ApiResponse): ApiResponse {
  if (!response.body) return response;
  const { id: _id, ...body } = response.body;
  const location = response.headers?.['Location'];
  return {
    ...response,
    body,
    headers: { ...response.headers, ...(location ? { Location: location.replace(/[^/]+$/, 'undefined') } : {}) },
  };
}

function send(res: ServerResponse, response: ApiResponse, recorded: RecordedRequest): void {
  if (res.destroyed) return;
  recorded.status = response.status;
  const headers: Record<string, string | number> = { ...response.headers };
  if (response.body === undefined) {
    res.writeHead(response.status, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(response.body);
  headers['Content-Type'] = 'application/scim+json';
  headers['Content-Length'] = Buffer.byteLength(text);
  res.writeHead(response.status, headers);
  res.end(text);
}

/** Reads and classifies the body; over BODY_LIMIT it is drained and dropped so the client still gets its 413. */
function readBody(req: IncomingMessage): Promise<RequestBody | 'aborted'> {
  if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) {
    req.resume();
    return Promise.resolve({ kind: 'none' });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= BODY_LIMIT) chunks.push(chunk);
      else chunks.length = 0;
    });
    req.on('error', () => resolve('aborted'));
    req.on('end', () => {
      if (size > BODY_LIMIT) return resolve({ kind: 'tooLarge', limit: BODY_LIMIT });
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve({ kind: 'none' });
      const contentType = req.headers['content-type'];
      if (contentType !== undefined && !JSON_TYPE.test(contentType)) return resolve({ kind: 'unsupported', contentType });
      try {
        resolve({ kind: 'json', value: JSON.parse(text) as JsonValue });
      } catch (error) {
        resolve({ kind: 'invalid', text, problem: (error as Error).message });
      }
    });
  });
}

function normaliseBasePath(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' || trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

function relativePath(path: string, basePath: string): string | undefined {
  if (path === basePath) return '/';
  return path.startsWith(`${basePath}/`) ? path.slice(basePath.length) : undefined;
}

/** A host a client can dial: wildcard addresses become loopback, IPv6 gets brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function isSnapshot(value: unknown): value is StoreSnapshot {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<StoreSnapshot>;
  return v.format === 'scim-sync-sandbox' && Array.isArray(v.users) && Array.isArray(v.groups);
}

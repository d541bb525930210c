/** Shared test plumbing: one sandbox per file, a tiny fetch-based SCIM client, body builders. */
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { SCHEMA_ENTERPRISE_USER, SCHEMA_GROUP, SCHEMA_PATCH_OP, SCHEMA_USER } from '../../src/model/scim.js';
import { DEFAULT_BEHAVIOUR, startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox, SandboxOptions } from '../../src/sandbox/index.js';

export { SCHEMA_ENTERPRISE_USER, SCHEMA_GROUP, SCHEMA_PATCH_OP, SCHEMA_USER };

// Response bodies are asserted field by field; a loose type keeps the tests readable.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Body = any;

export interface Reply {
  status: number;
  headers: Headers;
  body: Body;
}

export class Client {
  constructor(
    readonly base: string,
    readonly token?: string,
  ) {}

  async send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const init: RequestInit = { method, headers: { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...headers } };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] ??= 'application/scim+json';
    }
    const res = await fetch(this.base + path, init);
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Body) : undefined };
  }

  get = (path: string, headers?: Record<string, string>): Promise<Reply> => this.send('GET', path, undefined, headers);
  post = (path: string, body: unknown, headers?: Record<string, string>): Promise<Reply> => this.send('POST', path, body, headers);
  put = (path: string, body: unknown, headers?: Record<string, string>): Promise<Reply> => this.send('PUT', path, body, headers);
  patch = (path: string, operations: unknown[], headers?: Record<string, string>): Promise<Reply> =>
    this.send('PATCH', path, { schemas: [SCHEMA_PATCH_OP], Operations: operations }, headers);
  delete = (path: string, headers?: Record<string, string>): Promise<Reply> => this.send('DELETE', path, undefined, headers);

  /** GET /Users?filter=... and the ListResponse. */
  async filter(resource: 'Users' | 'Groups', filter: string, extra = ''): Promise<Reply> {
    return this.get(`/${resource}?filter=${encodeURIComponent(filter)}${extra}`);
  }

  async createUser(userName: string, extra: Record<string, unknown> = {}): Promise<Body> {
    const res = await this.post('/Users', user(userName, extra));
    if (res.status !== 201) throw new Error(`create ${userName}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async createGroup(displayName: string, members: string[] = [], extra: Record<string, unknown> = {}): Promise<Body> {
    const res = await this.post('/Groups', group(displayName, members, extra));
    if (res.status !== 201) throw new Error(`create ${displayName}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }
}

export function user(userName: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { schemas: [SCHEMA_USER], userName, ...extra };
}

export function group(displayName: string, members: string[] = [], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { schemas: [SCHEMA_GROUP], displayName, ...(members.length ? { members: members.map((value) => ({ value })) } : {}), ...extra };
}

/**
 * One sandbox for the file, emptied before each test (store, requests, faults, behaviour).
 * Returns a holder filled in by beforeAll.
 */
export function useSandbox(options: SandboxOptions = {}): { sandbox: Sandbox; client: Client } {
  const holder = {} as { sandbox: Sandbox; client: Client };
  beforeAll(async () => {
    holder.sandbox = await startSandbox(options);
    holder.client = new Client(holder.sandbox.url, options.token ?? undefined);
  });
  afterAll(async () => {
    await holder.sandbox.close();
  });
  beforeEach(() => {
    const sb = holder.sandbox;
    sb.store.clear();
    sb.clearRequests();
    sb.clearFaults();
    Object.assign(sb.behaviour, DEFAULT_BEHAVIOUR, options.behaviour ?? {});
  });
  return holder;
}

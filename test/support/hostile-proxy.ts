/**
 * A loopback proxy in front of the sandbox that lets a test answer chosen requests itself (a hostile
 * or broken SCIM server), or forward them and rewrite the answer: the answers a server should never
 * give, which the sandbox does not give on its own.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Harness } from './harness.js';

export interface Seen { method: string; path: string; body: unknown; at: number; headers: IncomingMessage['headers'] }
export interface Answer { status: number; headers?: Record<string, string>; body?: unknown }
/** Return an Answer to answer without forwarding; undefined to forward. `forward()` forwards and returns the upstream answer. */
export type Hook = (req: Seen, forward: () => Promise<Answer>) => Promise<Answer | undefined> | Answer | undefined;

export interface HostileProxy { url: string; seen: Seen[]; hook: Hook; close(): Promise<void> }

export async function hostileProxy(upstream: string): Promise<HostileProxy> {
  const up = new URL(upstream);
  const basePath = up.pathname.replace(/\/+$/, '');
  const proxy: HostileProxy = { url: '', seen: [], hook: () => undefined, close: async () => undefined };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = raw;
    try { body = raw ? JSON.parse(raw) : undefined; } catch { /* keep text */ }
    const path = (req.url ?? '').startsWith(basePath) ? (req.url ?? '').slice(basePath.length) : (req.url ?? '');
    const seen: Seen = { method: req.method ?? '', path, body, at: Date.now(), headers: req.headers };
    proxy.seen.push(seen);
    const forward = async (): Promise<Answer> => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !['host', 'content-length', 'accept-encoding', 'connection'].includes(k)) headers[k] = v;
      const r = await fetch(`${up.origin}${req.url}`, { method: req.method, headers, ...(raw ? { body: raw } : {}) });
      const text = await r.text();
      let b: unknown = text;
      try { b = text ? JSON.parse(text) : undefined; } catch { /* text */ }
      const h: Record<string, string> = {};
      r.headers.forEach((v, k) => { if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection', 'keep-alive'].includes(k)) h[k] = v; });
      return { status: r.status, headers: h, body: b };
    };
    try {
      const answer = (await proxy.hook(seen, forward)) ?? (await forward());
      const text = answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
      res.writeHead(answer.status, { 'content-type': 'application/scim+json', ...(answer.headers ?? {}) });
      res.end(text);
    } catch (e) {
      res.writeHead(599); res.end(String(e));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `http://127.0.0.1:${(server.address() as { port: number }).port}${basePath}`;
  proxy.close = () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); });
  return proxy;
}

/** A gateway's 404: an HTML page, not a SCIM error. */
export const HTML_404: Answer = { status: 404, headers: { 'content-type': 'text/html' }, body: '<html><body>Cannot PATCH</body></html>' };

/**
 * Every user's write and read by id answered 404 (HTML_404), and every create made a new account
 * (a server without unique userNames, the created ids `dup-1`, `dup-2`...): the accounts look gone,
 * and each re-create would be a second account.
 */
export function usersGone(): Hook {
  let made = 0;
  return (req) => {
    if ((req.method === 'PATCH' || req.method === 'GET') && req.path.startsWith('/Users/')) return HTML_404;
    if (req.method === 'POST' && req.path === '/Users') return { status: 201, body: { ...(req.body as object), id: `dup-${++made}` } };
    return undefined;
  };
}

/** A proxy in front of the harness's sandbox, its config pointed at it (writeConfig points it back at the sandbox: write the config first). */
export async function proxyFor(h: Harness): Promise<HostileProxy> {
  const proxy = await hostileProxy(h.sandbox.url);
  writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').split(h.sandbox.url).join(proxy.url));
  return proxy;
}

/**
 * An independent SCIM server for the tests: better-auth 1.7.5 with its SCIM plugin, on its memory
 * adapter (whose tables must exist up front), behind a plain node:http server. It is strict: single
 * `attr eq "value"` filters on a few attributes, an email on every user, no Bulk, no ETag.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { betterAuth } from 'better-auth';
import { memoryAdapter } from 'better-auth/adapters/memory';
import { getAuthTables } from 'better-auth/db';
import { scim } from '@better-auth/scim';

export interface RecordedCall {
  method: string;
  path: string;
  query: string;
  status: number;
}

export interface BetterAuthServer {
  url: string;
  /** The SCIM plugin's user rows, as stored. */
  users(): Record<string, unknown>[];
  /** Users as the SCIM API shows them. */
  scimUsers(): Promise<Record<string, unknown>[]>;
  /** Groups with their members, as the SCIM API shows them. */
  scimGroups(): Promise<Record<string, unknown>[]>;
  requests: RecordedCall[];
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length > 0 ? Buffer.concat(chunks) : undefined;
}

export async function startBetterAuthServer(token: string): Promise<BetterAuthServer> {
  const options = { plugins: [scim({ connections: [{ id: 'scim-sync', credentials: [{ type: 'bearer' as const, id: 'ci', token }] }] })] };
  const tables = getAuthTables(options);
  const db: Record<string, Record<string, unknown>[]> = Object.fromEntries(Object.values(tables).map((t) => [t.modelName, []]));
  const requests: RecordedCall[] = [];
  let origin = '';
  const server: Server = createServer((req, res) => {
    const call: RecordedCall = { method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0]!, query: (req.url ?? '').split('?')[1] ?? '', status: 0 };
    requests.push(call);
    void (async () => {
      const payload = await body(req);
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
      const response = await auth.handler(new Request(`${origin}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers, ...(payload ? { body: payload } : {}) }));
      call.status = response.status;
      res.writeHead(response.status, Object.fromEntries(response.headers.entries()));
      res.end(Buffer.from(await response.arrayBuffer()));
    })().catch((error: unknown) => {
      call.status = 500;
      res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const auth = betterAuth({ ...options, database: memoryAdapter(db), baseURL: origin, secret: randomBytes(32).toString('hex'), logger: { disabled: true } });
  const url = `${origin}/api/auth/scim/v2`;
  const list = async (type: string): Promise<Record<string, unknown>[]> => {
    const r = await fetch(`${url}/${type}?count=100`, { headers: { authorization: `Bearer ${token}` } });
    return ((await r.json()) as { Resources: Record<string, unknown>[] }).Resources;
  };
  return {
    url,
    users: () => db['scimUser'] ?? [],
    scimUsers: () => list('Users'),
    scimGroups: async () => Promise.all((await list('Groups')).map(async (g) => (await fetch(`${url}/Groups/${String(g['id'])}`, { headers: { authorization: `Bearer ${token}` } })).json() as Promise<Record<string, unknown>>)),
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

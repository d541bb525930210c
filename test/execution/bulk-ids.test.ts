/**
 * Ids that cannot be put in a URL, on the /Bulk path: an operation on such an account fails alone
 * and is not sent, and a create whose answer locates it at such an id (or at the collection) is
 * not linked to it. A real client against a loopback /Bulk endpoint, a real link store.
 */
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { sendBulk } from '../../src/execution/bulk-apply.js';
import type { OperationContext } from '../../src/execution/operation-context.js';
import { RecreateCount } from '../../src/execution/recreate-budget.js';
import type { CreateUserOp, DeprovisionUserOp, UpdateUserOp } from '../../src/model/plan.js';
import { FileLinkStore } from '../../src/state/file-link-store.js';
import { ScimClient } from '../../src/targets/http/scim-client.js';
import { tempDirs } from '../support/temp-dirs.js';

const dir = tempDirs('bulk-ids-');
let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A /Bulk endpoint that answers each operation 200, a create located at `location`. */
async function bulkServer(location: string): Promise<{ url: string; bodies: { Operations: { method: string; path: string; bulkId: string }[] }[] }> {
  const bodies: { Operations: { method: string; path: string; bulkId: string }[] }[] = [];
  server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(text) as (typeof bodies)[number];
      bodies.push(body);
      const Operations = body.Operations.map((o) => ({ method: o.method, bulkId: o.bulkId, status: '200', ...(o.method === 'POST' ? { location } : {}) }));
      res.writeHead(200, { 'content-type': 'application/scim+json' });
      res.end(JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkResponse'], Operations }));
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server!.address() as { port: number }).port}/scim/v2`, bodies };
}

const deactivate = (id: string, scimId: string): DeprovisionUserOp => ({
  id,
  kind: 'deprovisionUser',
  externalId: `E-${id}`,
  label: `${id}@example.com`,
  scimId,
  mode: 'deactivate',
  reason: 'removed',
  patch: [{ op: 'replace', path: 'active', value: false }],
});
const update: UpdateUserOp = {
  id: 'up',
  kind: 'updateUser',
  externalId: 'E-up',
  label: 'up@example.com',
  scimId: 'u2',
  changes: [],
  patch: [{ op: 'replace', path: 'title', value: 'CTO' }],
  hash: 'h',
  recreate: {},
};
const create: CreateUserOp = {
  id: 'new',
  kind: 'createUser',
  externalId: 'E-new',
  label: 'new@example.com',
  hash: 'h',
  adoptBy: null,
  resource: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'new@example.com' },
};

async function context(url: string): Promise<OperationContext> {
  const links = await FileLinkStore.open(dir());
  const client = new ScimClient({ target: 'app', baseUrl: url, auth: { type: 'none' }, timeoutMs: 5000, maxSockets: 1 });
  return { target: 'app', client, links, failed: { add: async () => undefined, get: async () => undefined }, recreates: new RecreateCount(0) };
}

describe('ids on the /Bulk path', () => {
  it.each(['', '.', '..'])('an account with id %j: its operation fails alone, unsent, and the rest go', async (bad) => {
    const { url, bodies } = await bulkServer('https://app.example/scim/v2/Users/n1');
    const ctx = await context(url);
    const outcomes = await sendBulk([deactivate('d1', bad), update, create], ctx);
    expect(bodies.map((b) => b.Operations.map((o) => `${o.method} ${o.path}`))).toEqual([['PATCH /Users/u2', 'POST /Users']]);
    const refused = outcomes.find((o) => o.op.id === 'd1');
    expect(refused && 'failed' in refused && refused.failed).toMatchObject({ code: 'PROTOCOL', context: { target: 'app', resource: 'd1@example.com', request: `PATCH /Users/${bad} (in /Bulk)` } });
    expect(outcomes.filter((o) => 'done' in o).map((o) => o.op.id).sort()).toEqual(['new', 'up']);
    expect((await ctx.links.get('app', 'user', 'E-new'))?.id).toBe('n1');
  });

  it.each(['https://app.example/scim/v2/Users/..', 'https://app.example/scim/v2/Users/.', 'https://app.example/scim/v2/Users/', 'https://app.example/scim/v2/Users/%E0%A4%A'])(
    'a create located at %s is not linked: it goes to its single request',
    async (location) => {
      const { url } = await bulkServer(location);
      const ctx = await context(url);
      const [outcome] = await sendBulk([create], ctx);
      expect(outcome && 'single' in outcome && outcome.single).toMatchObject({ code: 'PROTOCOL', message: 'the bulk answer to a create has no location naming the new resource' });
      expect(await ctx.links.get('app', 'user', 'E-new')).toBeUndefined();
    },
  );
});

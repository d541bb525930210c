/**
 * Where a write lands when the server or the state misleads: after a create's conflict, `adopt:
 * email` takes only the one account whose work email is the new hire's (a server that ignores the
 * filter answers with everyone, a hand-made admin first); and a /Bulk write goes to the account the
 * plan checked, as a single request does, not to the one a stale link names.
 */
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/errors.js';
import { sendBulk } from '../../src/execution/bulk-apply.js';
import type { OperationContext } from '../../src/execution/operation-context.js';
import { runOperation } from '../../src/execution/run-operation.js';
import { RecreateCount } from '../../src/execution/recreate-budget.js';
import type { CreateUserOp, DeprovisionUserOp } from '../../src/model/plan.js';
import { ScimClient } from '../../src/targets/http/scim-client.js';
import type { LinkStore } from '../../src/state/link-store.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) (s.closeAllConnections(), s.close());
});

/** A SCIM server whose userName is taken (every POST a 409) and that ignores filters: every search answers `accounts`. */
async function ignoringFilters(accounts: Record<string, unknown>[]): Promise<{ url: string; writes: string[] }> {
  const writes: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method !== 'GET') writes.push(`${req.method} ${req.url}`);
      const [status, body] =
        req.method === 'POST' ? [409, { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '409', scimType: 'uniqueness', detail: 'already exists' }]
        : req.method === 'GET' ? [200, { schemas: [LIST], totalResults: accounts.length, startIndex: 1, itemsPerPage: accounts.length, Resources: accounts }]
        : [200, { schemas: [USER], id: req.url!.split('/').pop() }];
      res.writeHead(status, { 'content-type': 'application/scim+json' });
      res.end(JSON.stringify(body));
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/scim/v2`, writes };
}

function context(url: string, linked?: string): { ctx: OperationContext; links: string[] } {
  const links: string[] = [];
  const store = {
    get: async () => (linked ? { id: linked, hash: 'h' } : undefined),
    set: async (_t: string, _k: string, key: string, link: { id: string }) => void links.push(`${key} -> ${link.id}`),
    delete: async () => undefined,
  } as unknown as LinkStore;
  const client = new ScimClient({ target: 'app', baseUrl: url, auth: { type: 'none' }, timeoutMs: 5_000, maxSockets: 1, readRetry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 } });
  return { ctx: { target: 'app', client, links: store, failed: { add: async () => undefined, get: async () => undefined }, recreates: new RecreateCount(0) }, links };
}

const hire: CreateUserOp = {
  id: 'c1',
  kind: 'createUser',
  externalId: 'E42',
  label: 'new.hire@corp.example',
  hash: 'h',
  adoptBy: 'email',
  resource: { schemas: [USER], externalId: 'E42', userName: 'new.hire@corp.example', emails: [{ value: 'New.Hire@corp.example', type: 'work' }] },
};
const admin = { schemas: [USER], id: 'admin-1', userName: 'it-admin@corp.example', emails: [{ value: 'it-admin@corp.example', type: 'work' }], active: true };

describe('adopt: email after a conflict', () => {
  it('never takes an account whose work email is not the new hire\'s, though the server answers the email search with it', async () => {
    const { url, writes } = await ignoringFilters([admin]);
    const { ctx, links } = context(url);
    const error = await runOperation(hire, ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect(writes).toEqual(['POST /scim/v2/Users']);
    expect(links).toEqual([]);
  });

  it('takes the one account whose work email matches (case aside) among everyone the server answers with', async () => {
    const theirs = { schemas: [USER], id: 'acc-7', userName: 'nhire@corp.example', emails: [{ value: 'new.hire@corp.example', type: 'work' }], active: true };
    const { url, writes } = await ignoringFilters([admin, theirs]);
    const { ctx, links } = context(url);
    await runOperation(hire, ctx);
    expect(writes).toEqual(['POST /scim/v2/Users', 'PUT /scim/v2/Users/acc-7']);
    expect(links).toEqual(['E42 -> acc-7']);
  });
});

describe('/Bulk', () => {
  it('writes to the account the plan checked, not the one a stale link names', async () => {
    const sent: { path: string }[] = [];
    const { ctx } = context('http://127.0.0.1:9/unused', 'acc-of-B');
    const client = {
      bulk: async (ops: { bulkId: string; path: string }[]) => (sent.push(...ops), ops.map((o) => ({ bulkId: o.bulkId, status: 200 }))),
      patchBody: (o: unknown) => ({ Operations: o }),
      // A deactivation is read back: the one the plan checked.
      get: async (_type: string, id: string) => (sent.push({ path: `GET /Users/${id}` }), { id, active: false }),
    };
    const leaver: DeprovisionUserOp = { id: 'd1', kind: 'deprovisionUser', externalId: 'A', label: 'a@corp.example', scimId: 'acc-of-A', mode: 'deactivate', reason: 'removed', patch: [{ op: 'replace', path: 'active', value: false }] };
    await sendBulk([leaver], { ...ctx, client: client as unknown as OperationContext['client'] });
    expect(sent.map((o) => o.path)).toEqual(['/Users/acc-of-A', 'GET /Users/acc-of-A']);
  });
});

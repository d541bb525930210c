import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/errors.js';
import { ScimClient } from '../../src/targets/http/scim-client.js';
import { resolveQuirks } from '../../src/config/profiles.js';
import { startQuirkyServer, type Quirk, type QuirkyServer } from '../support/quirky-server.js';

let server: QuirkyServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function list(total: number, quirk: Quirk, pageSize: number, cap?: number) {
  server = await startQuirkyServer(total, quirk, cap);
  const client = new ScimClient({ target: 'quirky', baseUrl: server.url, auth: { type: 'none' }, timeoutMs: 5000, maxSockets: 2 });
  return client.listAll('Users', { pageSize });
}

describe('listing every page of a server as it really is', () => {
  it.each<[Quirk, number, number]>([
    ['none', 250, 100],
    ['none', 200, 100],
    ['repeats-first-page-past-end', 200, 100],
    ['total-too-low', 250, 100],
    ['zero-based', 250, 100],
  ])('%s: %i users in pages of %i, each once', async (quirk, total, pageSize) => {
    const users = await list(total, quirk, pageSize);
    expect(users).toHaveLength(total);
    expect(new Set(users.map((u) => u['id'])).size).toBe(total);
    // At most one request past the end, and one probe at startIndex 0 when the count disagrees.
    expect(server!.requests.length).toBeLessThanOrEqual(Math.ceil(total / pageSize) + 2);
  });

  it('refuses a listing that ends short of the totalResults announced, rather than read the rest as missing', async () => {
    await expect(list(250, 'total-too-high', 100)).rejects.toThrow(
      'the listing ended with only 250 resources while totalResults says 300 exist: refused, as a partial listing would read as missing accounts (set quirks.totalResults: unreliable if this server miscounts)',
    );
    await expect(list(250, 'total-too-high', 100)).rejects.toMatchObject({ context: { target: 'quirky', request: 'GET /Users' } });
  });

  it('refuses an empty listing while totalResults says resources exist', async () => {
    const refused = await list(500, 'empty-pages', 100).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ProtocolError);
    expect(refused).toMatchObject({
      message: 'the listing ended with no resource at all while totalResults says 500 exist: refused, as a partial listing would read as missing accounts',
      context: { target: 'quirky', request: 'GET /Users' },
    });
    // The first page, and the probe at startIndex 0 for a server counting from 0.
    expect(server!.requests.map((r) => new URL(r, 'http://x').searchParams.get('startIndex'))).toEqual(['1', '0']);
  });

  it('a search is an answer, a hit or a miss, whatever count the server puts beside it (some give the collection size)', async () => {
    // Filters right, counts wrong: totalResults is always the size of the whole collection.
    const http = createServer((req, res) => {
      const query = new URL(req.url ?? '/', 'http://x').searchParams;
      const first = Number(query.get('startIndex') ?? 1) <= 1;
      const hit = first && /"user7@example\.com"/.test(query.get('filter') ?? '') ? [{ id: 'u7', userName: 'user7@example.com' }] : [];
      res.writeHead(200, { 'content-type': 'application/scim+json' });
      res.end(JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 50, startIndex: 1, itemsPerPage: hit.length, Resources: hit }));
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const client = new ScimClient({ target: 'counting', baseUrl: `http://127.0.0.1:${(http.address() as { port: number }).port}`, auth: { type: 'none' }, timeoutMs: 5000, maxSockets: 2 });
      expect((await client.listAll('Users', { pageSize: 10, filter: 'userName eq "user7@example.com"' })).map((u) => u.id)).toEqual(['u7']);
      expect(await client.listAll('Users', { pageSize: 10, filter: 'userName eq "nobody@example.com"' })).toEqual([]);
    } finally {
      http.closeAllConnections();
      http.close();
    }
  });

  it('follows a server that caps the page size below the requested count', async () => {
    const users = await list(250, 'caps-page-size', 200, 50);
    expect(users).toHaveLength(250);
    expect(server!.requests).toHaveLength(5);
  });

  it('refuses a server that ignores startIndex instead of looping or returning a partial list', async () => {
    await expect(list(250, 'ignores-start-index', 100)).rejects.toThrow(ProtocolError);
    await expect(list(250, 'ignores-start-index', 100)).rejects.toThrow(/ignores startIndex/);
    expect(server!.requests.length).toBeLessThanOrEqual(2);
  });
});

describe('paging quirks declared in the profile', () => {
  async function listWith(total: number, quirk: Quirk, quirks: Parameters<typeof resolveQuirks>[1], pageSize = 100) {
    server = await startQuirkyServer(total, quirk);
    const client = new ScimClient({ target: 'quirky', baseUrl: server.url, auth: { type: 'none' }, timeoutMs: 5000, maxSockets: 2, quirks: resolveQuirks('generic', quirks) });
    return client.listAll('Users', { pageSize });
  }
  const starts = () => server!.requests.map((r) => new URL(r, 'http://x').searchParams.get('startIndex'));

  it('startIndex: zero-based counts from 0, without the probe', async () => {
    const users = await listWith(250, 'zero-based', { startIndex: 'zero-based' });
    expect(users).toHaveLength(250);
    expect(starts()).toEqual(['0', '100', '200']);
  });

  it('startIndex: ignored reads one page of the largest size', async () => {
    const users = await listWith(80, 'ignores-start-index', { startIndex: 'ignored' });
    expect(users).toHaveLength(80);
    expect(starts()).toEqual(['1']);
  });

  it('startIndex: ignored refuses a server holding more than one page', async () => {
    await expect(listWith(250, 'ignores-start-index', { startIndex: 'ignored' })).rejects.toThrow(/ignores startIndex \(quirk startIndex: ignored\) and holds 250 resources, more than one page of 100/);
  });

  it('totalResults: unreliable accepts fewer resources than announced', async () => {
    const users = await listWith(250, 'total-too-high', { totalResults: 'unreliable' });
    expect(users).toHaveLength(250);
  });

  it.each<Parameters<typeof resolveQuirks>[1]>([{ totalResults: 'unreliable' }, { startIndex: 'ignored' }, { startIndex: 'zero-based' }])(
    'an empty listing while totalResults says 500 exist is refused whatever the quirks (%o)',
    async (quirks) => {
      await expect(listWith(500, 'empty-pages', quirks)).rejects.toThrow(/the listing ended with no resource at all while totalResults says 500 exist/);
    },
  );

  it('totalResults: unreliable ends on a short page only, and a capped page size is asked for', async () => {
    const users = await listWith(250, 'total-too-low', { totalResults: 'unreliable', maxPageSize: 50 }, 200);
    expect(users).toHaveLength(250);
    expect(server!.requests.every((r) => new URL(r, 'http://x').searchParams.get('count') === '50')).toBe(true);
    expect(starts()).toEqual(['1', '51', '101', '151', '201', '251']);
  });
});

describe('pages in flight at once', () => {
  /**
   * A server of `total` users whose every answer takes 20 ms; counts the requests in flight, and
   * says when it has answered `n` (answered(n)). `failOnce`: the first answer at that startIndex is
   * a 200 whose body is a SCIM error with status 503. `claims`: the totalResults it announces.
   */
  async function slowServer(total: number, failOnce?: number, claims = total) {
    const { createServer } = await import('node:http');
    const stats = { inFlight: 0, most: 0, starts: [] as number[] };
    const waiting: { n: number; resolve: () => void }[] = [];
    let answered = 0;
    const http = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (!url.pathname.endsWith('/Users')) return res.writeHead(404).end();
      const start = Number(url.searchParams.get('startIndex'));
      const count = Number(url.searchParams.get('count'));
      stats.starts.push(start);
      stats.most = Math.max(stats.most, ++stats.inFlight);
      const resources = Array.from({ length: Math.max(0, Math.min(count, total - start + 1)) }, (_, i) => ({ id: `u${start + i}`, userName: `u${start + i}` }));
      const failing = start === failOnce && stats.starts.filter((s) => s === start).length === 1;
      setTimeout(() => {
        stats.inFlight--;
        res.writeHead(200, { 'content-type': 'application/scim+json' });
        res.end(
          JSON.stringify(
            failing
              ? { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '503', detail: 'busy' }
              : { schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: claims, startIndex: start, itemsPerPage: resources.length, Resources: resources },
          ),
        );
        answered++;
        for (const w of waiting.filter((w) => answered >= w.n)) w.resolve();
      }, 20);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const close = () => new Promise<void>((resolve) => { http.closeAllConnections(); http.close(() => resolve()); });
    const answeredAll = (n: number) => new Promise<void>((resolve) => (answered >= n ? resolve() : waiting.push({ n, resolve })));
    return { url: `http://127.0.0.1:${(http.address() as { port: number }).port}/scim/v2`, stats, close, answered: answeredAll };
  }

  it('with totalResults trusted, later pages go out together (up to the concurrency), and come back in order, each once', async () => {
    const slow = await slowServer(1000);
    try {
      const client = new ScimClient({ target: 'slow', baseUrl: slow.url, auth: { type: 'none' }, timeoutMs: 5000, maxSockets: 4 });
      const users = await client.listAll('Users', { pageSize: 100 });
      expect(users.map((u) => u['id'])).toEqual(Array.from({ length: 1000 }, (_, i) => `u${i + 1}`));
      expect(slow.stats.most).toBe(4);
      // A full last page at totalResults still gets its one request past the end.
      expect([...slow.stats.starts].sort((a, b) => a - b)).toEqual([1, 101, 201, 301, 401, 501, 601, 701, 801, 901, 1001]);
    } finally {
      await slow.close();
    }
  });

  it('held by readAfter, the listing reads two pages and asks for the rest meanwhile, up to the concurrency; then reads them in order', async () => {
    const slow = await slowServer(1000);
    try {
      const client = new ScimClient({ target: 'slow', baseUrl: slow.url, auth: { type: 'none' }, timeoutMs: 5000, maxSockets: 4 });
      let open!: () => void;
      const pages = client.pages('Users', { pageSize: 100, readAfter: new Promise<void>((resolve) => (open = resolve)) });
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) ids.push(...((await pages.next()).value as { id: string }[]).map((u) => u.id));
      let third = false;
      const next = pages.next().then((page) => ((third = true), page));
      // Every page below totalResults has been answered while the reader is held at the third.
      await slow.answered(10);
      expect(third).toBe(false);
      expect(slow.stats.most).toBe(4);
      expect([...slow.stats.starts].sort((a, b) => a - b)).toEqual([1, 101, 201, 301, 401, 501, 601, 701, 801, 901]);
      open();
      ids.push(...((await next).value as { id: string }[]).map((u) => u.id));
      for await (const page of pages) ids.push(...page.map((u) => u['id'] as string));
      expect(ids).toEqual(Array.from({ length: 1000 }, (_, i) => `u${i + 1}`));
      // The one request past the end (a full last page at totalResults) is the reader's own.
      expect(slow.stats.starts).toHaveLength(11);
    } finally {
      await slow.close();
    }
  });

  it('a server that claims far more than it holds: the read-ahead stops at its empty page, and the listing is refused', async () => {
    // 500 users in pages of 100; the server says 100,000. The stop itself is pinned in
    // pages-ahead.test.ts; here, over HTTP, the requests stay few while the reader is held.
    const slow = await slowServer(500, undefined, 100_000);
    try {
      const client = new ScimClient({ target: 'slow', baseUrl: slow.url, auth: { type: 'none' }, timeoutMs: 5000, maxSockets: 4 });
      let open!: () => void;
      const pages = client.pages('Users', { pageSize: 100, readAfter: new Promise<void>((resolve) => (open = resolve)) });
      for (let i = 0; i < 2; i++) await pages.next();
      const rest = (async () => {
        for await (const page of pages) void page;
      })();
      rest.catch(() => undefined);
      // The two pages read, the four asked ahead (three full, the empty one at 501), and one refill
      // for each full answer that came before the empty one.
      await slow.answered(7);
      open();
      // (This server answers the probe at startIndex 0 with one more user, u0.)
      await expect(rest).rejects.toThrow(/^the listing ended with only 50\d resources while totalResults says 100000 exist/);
      // Those, and the probe at startIndex 0 the shortfall asks.
      expect(slow.stats.starts.length).toBeLessThanOrEqual(2 + 4 + 3 + 1);
    } finally {
      await slow.close();
    }
  });

  it('a page asked for ahead whose body is a transient error is asked for again when the listing reaches it', async () => {
    const slow = await slowServer(1000, 501);
    try {
      const client = new ScimClient({ target: 'slow', baseUrl: slow.url, auth: { type: 'none' }, timeoutMs: 5000, maxSockets: 4 });
      const users = await client.listAll('Users', { pageSize: 100 });
      expect(users.map((u) => u['id'])).toEqual(Array.from({ length: 1000 }, (_, i) => `u${i + 1}`));
      expect(slow.stats.starts.filter((s) => s === 501)).toHaveLength(2);
    } finally {
      await slow.close();
    }
  });

  it('totalResults: unreliable keeps one page at a time', async () => {
    const slow = await slowServer(500);
    try {
      const client = new ScimClient({ target: 'slow', baseUrl: slow.url, auth: { type: 'none' }, timeoutMs: 5000, maxSockets: 4, quirks: resolveQuirks('generic', { totalResults: 'unreliable' }) });
      expect(await client.listAll('Users', { pageSize: 100 })).toHaveLength(500);
      expect(slow.stats.most).toBe(1);
    } finally {
      await slow.close();
    }
  });
});

describe('page size when the config sets none', () => {
  it("the largest the server admits (discovery's filter.maxResults), within the profile's cap", async () => {
    const { startSandbox } = await import('../../src/sandbox/index.js');
    const sandbox = await startSandbox({ behaviour: { maxPageSize: 300 } });
    try {
      for (const [quirks, expected] of [[{}, 300], [{ maxPageSize: 100 }, 100]] as const) {
        const client = new ScimClient({ target: 's', baseUrl: sandbox.url, auth: { type: 'none' }, timeoutMs: 5000, maxSockets: 2, quirks: resolveQuirks('generic', quirks) });
        expect(client.pageSize()).toBe(100);
        await client.discover();
        expect(client.pageSize()).toBe(expected);
        expect(client.pageSize(50)).toBe(50);
        sandbox.clearRequests();
        await client.listAll('Users', {});
        expect(sandbox.requests.map((r) => new URLSearchParams(r.query).get('count'))).toEqual([String(expected)]);
      }
    } finally {
      await sandbox.close();
    }
  });
});

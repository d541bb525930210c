/** Sandbox profiles and traffic faults, over raw HTTP. */
import { describe, expect, it } from 'vitest';
import { sandboxCommand } from '../../src/cli/sandbox-commands.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { Client, user } from './helpers.js';

async function withSandbox(options: Parameters<typeof startSandbox>[0], body: (s: Sandbox, c: Client) => Promise<void>): Promise<void> {
  const s = await startSandbox(options);
  try {
    await body(s, new Client(s.url));
  } finally {
    await s.close();
  }
}

describe('sandbox profiles', () => {
  it('aws: eq/and filters only, pages of 100, no members in group lists, 100 member changes per PATCH, no ETag', async () => {
    await withSandbox({ profile: 'aws' }, async (s, c) => {
      for (let i = 0; i < 120; i++) s.store.createUser(user(`u${i}`) as never);
      expect((await c.filter('Users', 'userName eq "u1"')).body.totalResults).toBe(1);
      expect((await c.filter('Users', 'userName co "u1"')).status).toBe(400);
      const page = await c.get('/Users?count=500');
      expect(page.body.itemsPerPage).toBe(100);
      expect(page.headers.get('etag')).toBeNull();
      const spc = (await c.get('/ServiceProviderConfig')).body;
      expect(spc).toMatchObject({ etag: { supported: false }, filter: { supported: true, maxResults: 100 } });
      const ids = s.store.users().map((u) => u['id'] as string);
      const group = await c.createGroup('eng', ids.slice(0, 3));
      expect((await c.get('/Groups')).body.Resources[0].members).toBeUndefined();
      const tooMany = await c.patch(`/Groups/${group.id}`, [{ op: 'add', path: 'members', value: ids.slice(3, 104).map((value) => ({ value })) }]);
      expect(tooMany.status).toBe(400);
    });
  });

  it('github: a request without a User-Agent is refused', async () => {
    await withSandbox({ profile: 'github' }, async (s) => {
      const { request } = await import('node:http');
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(`${s.url}/Users`, { headers: {} }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(403);
      expect((await fetch(`${s.url}/Users`, { headers: { 'user-agent': 'scim-sync/0.1' } })).status).toBe(200);
    });
  });

  it('slack (rate limit scaled down): 429 with Retry-After beyond the budget', async () => {
    await withSandbox({ profile: 'slack', behaviour: { rateLimit: { requests: 3, perMs: 60_000 } } }, async (s, c) => {
      for (let i = 0; i < 3; i++) expect((await c.get('/Users')).status).toBe(200);
      const limited = await c.get('/Users');
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(59);
      expect(s.requests.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    });
  });

  it('entra-compatible: "True"/"False" strings accepted as booleans', async () => {
    await withSandbox({ profile: 'entra-compatible' }, async (_s, c) => {
      expect((await c.post('/Users', user('a', { active: 'False' }))).status).toBe(201);
    });
  });
});

describe('sandbox /Bulk', () => {
  const request = (operations: unknown[]) => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'], Operations: operations });

  it('501 unless enabled; then each operation answered in place, limits enforced with 413', async () => {
    await withSandbox({}, async (_s, c) => {
      expect((await c.post('/Bulk', request([]))).status).toBe(501);
    });
    await withSandbox({ behaviour: { bulk: { maxOperations: 3, maxPayloadSize: 2000 } } }, async (s, c) => {
      expect((await c.get('/ServiceProviderConfig')).body.bulk).toEqual({ supported: true, maxOperations: 3, maxPayloadSize: 2000 });
      const res = await c.post(
        '/Bulk',
        request([
          { method: 'POST', bulkId: 'a', path: '/Users', data: user('a') },
          { method: 'POST', bulkId: 'dup', path: '/Users', data: user('a') },
          { method: 'DELETE', bulkId: 'gone', path: '/Users/nope' },
        ]),
      );
      expect(res.status).toBe(200);
      const [created, dup, gone] = res.body.Operations;
      expect(created).toMatchObject({ method: 'POST', bulkId: 'a', status: '201' });
      expect(created.location).toBe(`${s.url}/Users/${s.store.findUserByUserName('a')!['id'] as string}`);
      expect(dup).toMatchObject({ bulkId: 'dup', status: '409', response: { scimType: 'uniqueness' } });
      expect(gone).toMatchObject({ bulkId: 'gone', status: '404' });
      expect((await c.post('/Bulk', request([1, 2, 3, 4].map((n) => ({ method: 'POST', path: '/Users', data: user(`u${n}`) }))))).status).toBe(413);
      expect((await c.post('/Bulk', request([{ method: 'POST', path: '/Users', data: user('x'.repeat(2100)) }]))).status).toBe(413);
    });
  });
});

describe('traffic faults', () => {
  it('errorRate: a seeded share of requests answers 503, the same ones for the same seed', async () => {
    const statuses: number[][] = [];
    for (let run = 0; run < 2; run++) {
      await withSandbox({ behaviour: { errorRate: 0.3 }, seed: 42 }, async (s, c) => {
        for (let i = 0; i < 40; i++) await c.get('/Users');
        statuses.push(s.requests.map((r) => r.status));
      });
    }
    const failed = statuses[0]!.filter((x) => x === 503).length;
    expect(failed).toBeGreaterThan(4);
    expect(failed).toBeLessThan(24);
    expect(statuses[1]).toEqual(statuses[0]);
  });

  it('latencyMs delays every answer', async () => {
    await withSandbox({ behaviour: { latencyMs: 150 } }, async (_s, c) => {
      const started = performance.now();
      await c.get('/Users');
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    });
  });

  it('a wrong totalResults and a first page repeated past the end', async () => {
    await withSandbox({ behaviour: { totalResultsOffset: 7, repeatFirstPagePastEnd: true } }, async (s, c) => {
      for (let i = 0; i < 3; i++) s.store.createUser(user(`u${i}`) as never);
      const first = await c.get('/Users?startIndex=1&count=2');
      expect(first.body.totalResults).toBe(10);
      const past = await c.get('/Users?startIndex=4&count=2');
      expect(past.body.Resources.map((r: { userName: string }) => r.userName)).toEqual(['u0', 'u1']);
    });
  });

  it('scim-sync sandbox --profile and fault flags', async () => {
    const out: string[] = [];
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const io = { out: (t: string) => { out.push(t); if (t.startsWith('Stop it')) void probe(); }, err: (t: string) => out.push(t) };
    const probe = async () => {
      const url = /listening on (\S+)/.exec(out.join('\n'))![1]!;
      const res = await fetch(`${url}/Users?count=500`);
      out.push(`probe ${res.status} ${JSON.stringify(((await res.json()) as { totalResults: number }).totalResults)}`);
      out.push(`spc ${JSON.stringify(((await (await fetch(`${url}/ServiceProviderConfig`)).json()) as { filter: unknown }).filter)}`);
      stop();
    };
    const code = await sandboxCommand({ port: 0, host: '127.0.0.1', profile: 'aws', totalResultsOffset: 5, latency: 1, rateLimit: { requests: 100, perMs: 1000 } }, io, stopped);
    expect(code).toBe(0);
    expect(out.join('\n')).toContain(', acting as aws');
    expect(out.join('\n')).toContain('Faults: latencyMs=1, rateLimit={"requests":100,"perMs":1000}, totalResultsOffset=5');
    expect(out).toContain('probe 200 5');
    expect(out).toContain('spc {"supported":true,"maxResults":100}');
  });

  it('scim-sync sandbox with the flags of servers that store writes wrong', async () => {
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
    const code = await sandboxCommand({ port: 0, host: '127.0.0.1', urnPathAsKey: true, filterPlusAsSpace: true, ignoreAttribute: ['title'] }, io, Promise.resolve());
    expect(code).toBe(0);
    expect(out.join('\n')).toContain('Faults: urnPathAsKey=true, filterPlusAsSpace=true, ignoredAttributes=["title"]');
  });
});

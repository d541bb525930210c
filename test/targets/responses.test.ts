/**
 * Answers a SCIM client must not trust, from a loopback server: list resources without an id (check
 * must say so, as a run would), a redirect (reported with its Location, never followed with the
 * credential), a body past maxResponseBytes (one request, no retry, a clear message), and a URL's
 * userinfo (never sent as Basic auth).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { errorForNetwork } from '../../src/targets/http/error-mapping.js';
import { ScimClient } from '../../src/targets/http/scim-client.js';
import { Transport } from '../../src/targets/http/transport.js';
import { Harness, person } from '../support/harness.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface Loopback {
  url: string;
  requests: { method: string; url: string; authorization: string | undefined }[];
  close(): Promise<void>;
}

const servers: Loopback[] = [];
let h: Harness | undefined;
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await h?.close();
  h = undefined;
});

async function loopback(handler: Handler): Promise<Loopback> {
  const requests: Loopback['requests'] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const s = {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  servers.push(s);
  return s;
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/scim+json' });
  res.end(JSON.stringify(body));
};

const list = (resources: object[]) => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: resources.length, Resources: resources });

/** A harness whose target is `url` instead of its sandbox; `extra`: YAML lines for the target. */
async function pointedAt(url: string, extra = ''): Promise<Harness> {
  h = await Harness.start();
  h.writePeople([person(1), person(2)]);
  h.writeConfig(extra);
  writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace(h.sandbox.url, url));
  return h;
}

describe('check reads a real page through the listing checks', () => {
  it('users listed without an id: not usable, exit 1, the problem named', async () => {
    const server = await loopback((req, res) => {
      if (req.url?.startsWith('/scim/v2/Users')) return json(res, 200, list([{ userName: 'ada@example.com' }]));
      json(res, 404, { detail: 'no such endpoint' });
    });
    const harness = await pointedAt(`${server.url}/scim/v2`);
    const r = await harness.cli('check', '--config', harness.configFile);
    expect(r.code, r.out + r.err).toBe(1);
    expect(r.out).toContain('✗ not usable: [PROTOCOL] a listed resource lacks its id (target app, GET /Users)');
    // The run that check vouches for fails the same way.
    expect((await harness.run()).out).toContain('a listed resource lacks its id');
  });

  it('groups listed without an id: not usable either', async () => {
    const server = await loopback((req, res) => {
      if (req.url?.startsWith('/scim/v2/Users')) return json(res, 200, list([{ id: 'u1', userName: 'ada@example.com' }]));
      if (req.url?.startsWith('/scim/v2/Groups')) return json(res, 200, list([{ displayName: 'eng', members: [] }]));
      json(res, 404, { detail: 'no such endpoint' });
    });
    const harness = await pointedAt(`${server.url}/scim/v2`);
    const r = await harness.cli('check', '--config', harness.configFile);
    expect(r.code, r.out + r.err).toBe(1);
    expect(r.out).toContain('✗ not usable: [PROTOCOL] a listed resource lacks its id (target app, GET /Groups)');
  });
});

describe('redirects', () => {
  it('a 302 to another host: reported with its Location, not followed, the credential stays home', async () => {
    const elsewhere = await loopback((_req, res) => json(res, 200, list([])));
    const server = await loopback((_req, res) => {
      res.writeHead(302, { location: `${elsewhere.url}/scim/v2/ServiceProviderConfig` }).end();
    });
    const harness = await pointedAt(`${server.url}/scim/v2`);
    const r = await harness.cli('check', '--config', harness.configFile);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `✗ not usable: [PROTOCOL] the server redirected (HTTP 302) to ${elsewhere.url}/scim/v2/ServiceProviderConfig; redirects are not followed`,
    );
    expect(r.out).toContain("set the target's url to the final address (target app, GET /ServiceProviderConfig)");
    expect(server.requests).toHaveLength(1);
    expect(elsewhere.requests).toEqual([]);
  });
});

/** 8 MiB in 64 KiB chunks, without a content-length: a cap must count what streams in. */
function streamBig(res: ServerResponse): void {
  const chunk = Buffer.alloc(64 * 1024, 'x');
  res.writeHead(200, { 'content-type': 'application/json' });
  let sent = 0;
  const more = () => {
    while (sent < 128) {
      sent++;
      if (!res.write(chunk)) return void res.once('drain', more);
    }
    res.end();
  };
  res.on('close', () => (sent = 128));
  more();
}

describe('maxResponseBytes', () => {
  it('a body past the cap: one request, no retry, the target, method and path named', async () => {
    const server = await loopback((req, res) => {
      if (!req.url?.startsWith('/scim/v2/Users')) return json(res, 404, { detail: 'no such endpoint' });
      streamBig(res);
    });
    const harness = await pointedAt(`${server.url}/scim/v2`, '    maxResponseBytes: 100000\n    retries: 3');
    const r = await harness.run();
    expect(r.code).toBe(1);
    expect(r.out).toContain('[PROTOCOL] answer larger than 100000 bytes: the request was abandoned (maxResponseBytes) (target app, GET /Users)');
    expect(server.requests.filter((q) => q.url.startsWith('/scim/v2/Users'))).toHaveLength(1);
  });

  it('holds for the OAuth token endpoint too', async () => {
    const tokens = await loopback((_req, res) => streamBig(res));
    const server = await loopback((_req, res) => json(res, 200, list([])));
    const harness = await pointedAt(`${server.url}/scim/v2`, '    maxResponseBytes: 100000');
    process.env['RESP_CLIENT_SECRET'] = 'client-secret-5e6f7a8b';
    writeFileSync(
      harness.configFile,
      readFileSync(harness.configFile, 'utf8').replace(
        'auth: { type: bearer, token: "${env:TEST_SCIM_TOKEN}" }',
        `auth: { type: oauth2, tokenUrl: "${tokens.url}/token", clientId: app, clientSecret: "\${env:RESP_CLIENT_SECRET}" }`,
      ),
    );
    const r = await harness.cli('check', '--config', harness.configFile);
    expect(r.code, r.out + r.err).toBe(1);
    expect(r.out).toContain(`answer larger than 100000 bytes: the request was abandoned (maxResponseBytes) (target app, POST ${tokens.url}/token)`);
    expect(tokens.requests).toHaveLength(1);
    expect(server.requests).toEqual([]);
  });

  it('a declared content-length past the cap is refused before the body is read', async () => {
    const server = await loopback((req, res) => {
      if (!req.url?.startsWith('/scim/v2/Users')) return json(res, 404, { detail: 'no such endpoint' });
      res.writeHead(200, { 'content-type': 'application/scim+json', 'content-length': String(50_000_000) });
      res.write('{"Resources": [');
    });
    const harness = await pointedAt(`${server.url}/scim/v2`, '    maxResponseBytes: 100000\n    timeoutMs: 5000\n    retries: 1');
    const r = await harness.cli('check', '--config', harness.configFile);
    expect(r.code).toBe(1);
    expect(r.out).toContain('answer larger than 100000 bytes: the request was abandoned (maxResponseBytes) (target app, GET /Users)');
  });
});

describe('connection errors', () => {
  it('a server that never answers: the timeout names host and port', async () => {
    const server = await loopback(() => undefined);
    const harness = await pointedAt(`${server.url}/scim/v2`, '    timeoutMs: 200\n    retries: 1');
    const r = await harness.cli('check', '--config', harness.configFile);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`✗ not usable: [TRANSIENT] no answer from ${server.url.slice('http://'.length)} in time (ETIMEDOUT; timeoutMs) (target app, GET /ServiceProviderConfig)`);
  });

  it('a server that trickles its answer: timeoutMs bounds the whole request, not each pause', async () => {
    const timers = new Set<NodeJS.Timeout>();
    const server = await loopback((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/scim+json' });
      res.write('{"schemas": [');
      // A byte every 50 ms, for ever: never idle long enough for an inactivity timeout.
      const timer = setInterval(() => res.write(' '), 50);
      timers.add(timer);
      res.on('close', () => clearInterval(timer));
    });
    try {
      const client = new ScimClient({ target: 'app', baseUrl: `${server.url}/scim/v2`, auth: { type: 'none' }, timeoutMs: 400, maxSockets: 1, readRetry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 } });
      await expect(client.get('Users', 'x')).rejects.toThrow(/no answer from 127\.0\.0\.1:\d+ in time \(ETIMEDOUT; timeoutMs\)/);
    } finally {
      for (const timer of timers) clearInterval(timer);
    }
  });

  it('a name that does not resolve: host and the scheme\'s default port', () => {
    // No lookup here (tests stay on loopback): the mapping of the error the transport raises for it.
    const error = errorForNetwork(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }), { target: 'app' }, 'https://scim.invalid/scim/v2');
    expect(error.message).toBe('cannot connect to scim.invalid:443 (ENOTFOUND: no such host)');
    expect(error).toMatchObject({ code: 'TRANSIENT', ambiguous: false });
  });
});

describe('compressed answers', () => {
  for (const [encoding, compress] of [['gzip', gzipSync], ['deflate', deflateSync], ['br', brotliCompressSync]] as const) {
    it(`${encoding}: asked for, decoded, and counted against maxResponseBytes once decoded`, async () => {
      const users = Array.from({ length: 50 }, (_, i) => ({ id: `id-${i}`, userName: `user${i}@example.com`, title: 'x'.repeat(100) }));
      const body = compress(JSON.stringify(list(users)));
      const accepted: (string | undefined)[] = [];
      const server = await loopback((req, res) => {
        accepted.push(req.headers['accept-encoding']);
        res.writeHead(200, { 'content-type': 'application/scim+json', 'content-encoding': encoding, 'content-length': String(body.length) });
        res.end(body);
      });
      const client = (maxResponseBytes: number) =>
        new ScimClient({ target: 'app', baseUrl: `${server.url}/scim/v2`, auth: { type: 'none' }, timeoutMs: 5000, maxSockets: 1, maxResponseBytes, readRetry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 } });
      expect((await client(1_000_000).listAll('Users', { pageSize: 100 })).map((u) => u.id)).toEqual(users.map((u) => u.id));
      expect(accepted[0]).toContain(encoding);
      // Small on the wire, large once decoded: the cap reads the decoded size.
      expect(body.length).toBeLessThan(2000);
      await expect(client(2000).listAll('Users', { pageSize: 100 })).rejects.toThrow('answer larger than 2000 bytes');
    });
  }

  /** A server of 200 users in pages of 40, each page compressed with `compress`; `big`: the page at startIndex 121 has long titles. */
  async function pagedServer(encoding: string, compress: (b: Buffer) => Buffer, big = false, garbleOnce?: number) {
    const users = Array.from({ length: 200 }, (_, i) => ({ id: `id-${i}`, userName: `user${i}@example.com`, title: (big && i >= 120 && i < 160 ? 'y' : 'x').repeat(big && i >= 120 && i < 160 ? 2000 : 50) }));
    let garbled = false;
    const server = await loopback((req, res) => {
      const q = new URL(req.url ?? '', 'http://x').searchParams;
      const start = Number(q.get('startIndex') ?? 1);
      const page = { ...list(users.slice(start - 1, start - 1 + Number(q.get('count')))), totalResults: users.length, startIndex: start };
      let body = compress(Buffer.from(JSON.stringify(page)));
      if (start === garbleOnce && !garbled) {
        garbled = true;
        body = Buffer.concat([body.subarray(0, 10), Buffer.from('not the rest of it')]);
      }
      res.writeHead(200, { 'content-type': 'application/scim+json', 'content-encoding': encoding, 'content-length': String(body.length) });
      res.end(body);
    });
    const client = (maxResponseBytes: number) =>
      new ScimClient({ target: `held-${encoding}`, baseUrl: `${server.url}/scim/v2`, auth: { type: 'none' }, timeoutMs: 5000, maxSockets: 2, maxResponseBytes, readRetry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 } });
    const asked = (start: number) => server.requests.filter((r) => r.url.includes(`startIndex=${start}&`)).length;
    return { users, client, asked };
  }

  for (const [encoding, compress] of [['gzip', gzipSync], ['deflate', deflateSync], ['br', brotliCompressSync]] as const) {
    it(`${encoding}: pages asked for ahead are held as sent and decoded when read, their decoded size capped`, async () => {
      const { users, client, asked } = await pagedServer(encoding, compress, true);
      // What the held pages are while held: the bytes as sent, with their encoding.
      const decoded = vi.spyOn(Transport.prototype, 'decoded');
      expect((await client(1_000_000).listAll('Users', { pageSize: 40 })).map((u) => u.id)).toEqual(users.map((u) => u.id));
      const held = decoded.mock.calls.map(([answer]) => answer.encoded);
      decoded.mockRestore();
      expect(held.length).toBeGreaterThanOrEqual(3);
      expect(new Set(held)).toEqual(new Set([encoding]));
      // A page of 40 short users decodes to about 4 KB; the big one to over 80 KB, from well under 2 KB sent.
      await expect(client(20_000).listAll('Users', { pageSize: 40 })).rejects.toThrow('answer larger than 20000 bytes');
      // Asked for once in each listing: a page over the cap is not asked for again.
      expect(asked(121)).toBe(2);
    });
  }

  it('an answer kept encoded and one decoded as it streams measure the same: the bytes that came over the wire', async () => {
    const text = JSON.stringify(list(Array.from({ length: 100 }, (_, i) => ({ id: `id-${i}`, userName: `user${i}@example.com` }))));
    const body = gzipSync(text);
    const server = await loopback((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/scim+json', 'content-encoding': 'gzip', 'content-length': String(body.length) });
      res.end(body);
    });
    const transport = new Transport(server.url, { maxSockets: 1, timeoutMs: 5000, maxResponseBytes: 1_000_000 });
    try {
      const request = { method: 'GET', path: '/scim/v2/Users', headers: { 'accept-encoding': 'gzip' } };
      const streamed = await transport.send(request);
      const kept = await transport.send({ ...request, keepEncoded: true });
      expect([streamed.received, kept.received, kept.bytes.length]).toEqual([body.length, body.length, body.length]);
      expect([streamed.encoded, kept.encoded]).toEqual([undefined, 'gzip']);
      const decoded = await transport.decoded(kept);
      expect([decoded.body, decoded.received, decoded.encoded]).toEqual([text, body.length, undefined]);
      expect(streamed.body).toBe(text);
    } finally {
      await transport.close();
    }
  });

  it('a page held ahead whose bytes do not decode is asked for again, as a streamed one is', async () => {
    const { users, client, asked } = await pagedServer('gzip', gzipSync, false, 81);
    expect((await client(1_000_000).listAll('Users', { pageSize: 40 })).map((u) => u.id)).toEqual(users.map((u) => u.id));
    expect(asked(81)).toBe(2);
    expect(asked(41)).toBe(1);
  });

  it('a page held ahead that is empty but marked as compressed reads as the empty answer it is, not as bytes that fail to decode', async () => {
    const server = await loopback((req, res) => {
      const start = Number(new URL(req.url ?? '', 'http://x').searchParams.get('startIndex'));
      // Pages are asked for ahead once a second page brought new users: the third is the first held.
      const body = start <= 2 ? gzipSync(JSON.stringify({ ...list([{ id: `u${start}`, userName: `u${start}` }]), totalResults: 5 })) : Buffer.alloc(0);
      res.writeHead(200, { 'content-type': 'application/scim+json', 'content-encoding': 'gzip', 'content-length': String(body.length) });
      res.end(body);
    });
    const client = new ScimClient({ target: 'held-empty', baseUrl: `${server.url}/scim/v2`, auth: { type: 'none' }, timeoutMs: 5000, maxSockets: 2 });
    await expect(client.listAll('Users', { pageSize: 1 })).rejects.toThrow('list answer is not a SCIM ListResponse');
    // Read as held, not asked for again after a decoding that failed.
    expect(server.requests.filter((q) => q.url.includes('startIndex=3&'))).toHaveLength(1);
  });

  it('an answer that does not decompress is named as such, with zlib\'s or brotli\'s code, not as a failed connection', async () => {
    for (const encoding of ['gzip', 'br']) {
      const server = await loopback((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/scim+json', 'content-encoding': encoding });
        res.end('not compressed at all');
      });
      const client = new ScimClient({ target: `garbled-${encoding}`, baseUrl: `${server.url}/scim/v2`, auth: { type: 'none' }, timeoutMs: 5000, maxSockets: 1, readRetry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 } });
      await expect(client.get('Users', 'u1')).rejects.toThrow(new RegExp(`^the answer from 127\\.0\\.0\\.1:\\d+ could not be decompressed \\(${encoding === 'gzip' ? 'Z_DATA_ERROR' : 'ERR__ERROR_FORMAT_\\w+'}: `));
    }
  });

  it('an encoding that is no encoding ("constructor", "__proto__") is refused by name, read at once or held', async () => {
    for (const encoding of ['constructor', '__proto__', 'x-unknown']) {
      const server = await loopback((req, res) => {
        const start = Number(new URL(req.url ?? '', 'http://x').searchParams.get('startIndex'));
        // Pages 1 and 2 plain, then the odd encoding: read at once (a get) and held (the third page).
        const body = JSON.stringify({ ...list([{ id: `u${start}`, userName: `u${start}` }]), totalResults: 5 });
        res.writeHead(200, { 'content-type': 'application/scim+json', ...(start >= 3 || req.url?.includes('/Users/') ? { 'content-encoding': encoding } : {}) });
        res.end(body);
      });
      const client = new ScimClient({ target: `odd-${encoding}`, baseUrl: `${server.url}/scim/v2`, auth: { type: 'none' }, timeoutMs: 5000, maxSockets: 2, readRetry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 } });
      const refused = `the answer is encoded with "${encoding}", which is not supported`;
      await expect(client.get('Users', 'u1')).rejects.toThrow(refused);
      await expect(client.listAll('Users', { pageSize: 1 })).rejects.toThrow(refused);
    }
  });

  it('an empty answer marked as compressed (a 204 through a compressing proxy) is empty, not a body that fails to decode', async () => {
    const server = await loopback((_req, res) => {
      res.writeHead(204, { 'content-encoding': 'gzip' });
      res.end();
    });
    const client = new ScimClient({ target: 'app', baseUrl: `${server.url}/scim/v2`, auth: { type: 'none' }, timeoutMs: 5000, maxSockets: 1 });
    await expect(client.delete('Users', 'u1', 'someone')).resolves.toBeUndefined();
    await expect(client.patch('Users', 'u1', [{ op: 'replace', path: 'active', value: false }], 'someone')).resolves.toBeNull();
    expect(server.requests.map((q) => `${q.method} ${q.url}`)).toEqual(['DELETE /scim/v2/Users/u1', 'PATCH /scim/v2/Users/u1']);
  });
});

describe('URL userinfo', () => {
  it('is never sent as Basic auth, whatever the auth setting', async () => {
    const server = await loopback((_req, res) => json(res, 200, list([])));
    const client = new ScimClient({
      target: 'app',
      baseUrl: `${server.url.replace('http://', 'http://bot:pass-in-url@')}/scim/v2`,
      auth: { type: 'none' },
      timeoutMs: 5000,
      maxSockets: 1,
    });
    await client.listAll('Users', { pageSize: 10 });
    expect(server.requests.map((q) => q.authorization)).toEqual([undefined]);
  });
});

describe('a Retry-After longer than requests are held', () => {
  it('fails the request and the ones after it at once, naming the target, instead of freezing it for a day', async () => {
    const server = await loopback((_req, res) => {
      res.writeHead(429, { 'content-type': 'application/scim+json', 'retry-after': '86400' });
      res.end(JSON.stringify({ detail: 'slow down' }));
    });
    const client = new ScimClient({
      target: 'app',
      baseUrl: `${server.url}/scim/v2`,
      auth: { type: 'none' },
      timeoutMs: 5000,
      maxSockets: 1,
      readRetry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 60_000 },
    });
    await expect(client.get('Users', 'u1')).rejects.toMatchObject({ code: 'RATE_LIMITED', context: { target: 'app', status: 429 } });
    const started = Date.now();
    const later = await Promise.all([client.get('Users', 'u2').catch((e: unknown) => e), client.patch('Users', 'u3', [{ op: 'replace', path: 'active', value: false }], 'u3').catch((e: unknown) => e)]);
    expect(Date.now() - started).toBeLessThan(2000);
    for (const error of later) {
      expect(error).toMatchObject({ code: 'RATE_LIMITED', context: { target: 'app' } });
      expect((error as Error).message).toMatch(/asked for a pause of 86400 s \(Retry-After\), longer than the 60 s requests are held for; requests to app fail until \d{4}-\S+ \(an hour at most: then it is asked again\)$/);
      expect((error as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(3_590_000);
      expect((error as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(3_600_000);
    }
    expect(later.map((e) => (e as { context: { request: string } }).context.request)).toEqual(['GET /Users/u2', 'PATCH /Users/u3']);
    expect(server.requests).toHaveLength(1);
  });

  it('a Retry-After of a date in 9999 refuses for an hour at most, then a client of the next cycle asks the server again', async () => {
    let answered = 0;
    const server = await loopback((_req, res) => {
      if (answered++ === 0) {
        res.writeHead(429, { 'content-type': 'application/scim+json', 'retry-after': 'Fri, 31 Dec 9999 23:59:59 GMT' });
        return res.end('{}');
      }
      json(res, 200, { id: 'u1', userName: 'a' });
    });
    // Only the clock is fake: the budget (one per target in the process, shared by every client) reads it.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    try {
      // A new client each time, as `serve` makes one for each cycle.
      const make = () => new ScimClient({ target: 'far-retry-after', baseUrl: `${server.url}/scim/v2`, auth: { type: 'none' }, timeoutMs: 5000, maxSockets: 1 });
      const first = await make().get('Users', 'u1').catch((e: unknown) => e as Error);
      expect(first).toMatchObject({ code: 'RATE_LIMITED', context: { status: 429 } });
      const soon = await make().get('Users', 'u1').catch((e: unknown) => e as Error);
      expect((soon as Error).message).toMatch(/requests to far-retry-after fail until \d{4}-\S+ \(an hour at most: then it is asked again\)$/);
      expect((soon as Error).message).not.toContain('9999');
      expect(server.requests).toHaveLength(1);
      vi.setSystemTime(Date.now() + 3_600_000);
      await expect(make().get('Users', 'u1')).resolves.toMatchObject({ id: 'u1' });
      expect(server.requests).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('list entries and ids that cannot be used', () => {
  const plain = (url: string) => new ScimClient({ target: 'app', baseUrl: `${url}/scim/v2`, auth: { type: 'none' }, timeoutMs: 5000, maxSockets: 1 });

  it.each<[string, unknown, string]>([
    ['null', null, 'null'],
    ['a string', 'u1', 'a string'],
    ['an array', [{ id: 'u1' }], 'an array'],
  ])('an entry of Resources that is %s: a protocol error naming target, request and entry', async (_name, entry, what) => {
    const server = await loopback((_req, res) => json(res, 200, { ...list([{ id: 'u0', userName: 'a' }]), totalResults: 2, Resources: [{ id: 'u0', userName: 'a' }, entry] }));
    const error = await plain(server.url).listAll('Users', { pageSize: 10 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PROTOCOL', message: `a listed resource is ${what}, not a SCIM resource (Resources[1])`, context: { target: 'app', request: 'GET /Users' } });
  });

  it('a listed resource whose id is empty is refused like one without an id', async () => {
    const server = await loopback((_req, res) => json(res, 200, list([{ id: '', userName: 'a' }])));
    await expect(plain(server.url).listAll('Users', { pageSize: 10 })).rejects.toMatchObject({ code: 'PROTOCOL', message: 'a listed resource lacks its id' });
  });

  it('ids "", "." and ".." never reach a URL: each write or read is refused before it is sent', async () => {
    const server = await loopback((_req, res) => json(res, 200, { id: 'u1' }));
    const client = plain(server.url);
    const attempts = [
      client.patch('Users', '..', [{ op: 'replace', path: 'active', value: false }], 'ann@example.com'),
      client.delete('Users', '.', 'bob@example.com'),
      client.replace('Groups', '', { displayName: 'Admins' }, 'Admins'),
      client.get('Users', '..'),
    ];
    const errors = await Promise.all(attempts.map((p) => (p as Promise<unknown>).catch((e: unknown) => e)));
    expect(errors.map((e) => [(e as { code: string }).code, (e as { context: object }).context])).toEqual([
      ['PROTOCOL', { target: 'app', resource: 'ann@example.com', request: 'PATCH /Users/..' }],
      ['PROTOCOL', { target: 'app', resource: 'bob@example.com', request: 'DELETE /Users/.' }],
      ['PROTOCOL', { target: 'app', resource: 'Admins', request: 'PUT /Groups/' }],
      ['PROTOCOL', { target: 'app', resource: '..', request: 'GET /Users/..' }],
    ]);
    expect((errors[0] as Error).message).toBe('the server\'s id ".." cannot be put in a URL (it would address another path): refused');
    expect(server.requests).toEqual([]);
    // An ordinary id with dots is sent, encoded.
    await client.get('Users', '..a/b');
    expect(server.requests.map((q) => q.url)).toEqual(['/scim/v2/Users/..a%2Fb']);
  });
});

/**
 * Every auth type against the sandbox over real HTTP, the sandbox checking the credential: basic,
 * a custom header, and OAuth 2.0 client credentials against a real token endpoint (cached, renewed
 * before expiry, renewed once when revoked early, a wrong secret reported as such).
 */
import { createServer, type Server } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, person } from '../support/harness.js';

let h: Harness | undefined;
let tokenServer: TokenServer | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  await tokenServer?.close();
  tokenServer = undefined;
});

const people = Array.from({ length: 10 }, (_, i) => person(i + 1));

/** Replaces the harness's bearer auth line with `auth` (YAML flow map). */
function useAuth(h: Harness, auth: string, extra = ''): void {
  h.writeConfig(extra);
  writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace(/auth: \{ type: bearer, token: "\$\{env:TEST_SCIM_TOKEN\}" \}/, `auth: ${auth}`));
}

interface TokenServer {
  url: string;
  /** Each token request: the client id it authenticated as, and the form it sent. */
  calls: { clientId: string; form: URLSearchParams }[];
  /** Token -> expiry (ms since epoch); revoked tokens are deleted. */
  valid: Map<string, number>;
  isValid(authorization: string | undefined): boolean;
  close(): Promise<void>;
}

/** `maxUses`: a token is revoked after this many requests (a key rotation mid-run). */
async function startTokenServer(clientId: string, clientSecret: string, expiresIn: number, maxUses = Infinity): Promise<TokenServer> {
  const calls: TokenServer['calls'] = [];
  const valid = new Map<string, number>();
  const uses = new Map<string, number>();
  let n = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const [id, secret] = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString().split(':').map(decodeURIComponent);
      const form = new URLSearchParams(body);
      calls.push({ clientId: id ?? '', form });
      res.setHeader('content-type', 'application/json');
      if (req.url !== '/oauth/token' || form.get('grant_type') !== 'client_credentials' || id !== clientId || secret !== clientSecret) {
        res.writeHead(401).end(JSON.stringify({ error: 'invalid_client', error_description: 'client authentication failed' }));
        return;
      }
      const token = `access-${++n}-${Math.random().toString(36).slice(2)}`;
      valid.set(token, Date.now() + expiresIn * 1000);
      res.writeHead(200).end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: expiresIn }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/oauth/token`,
    calls,
    valid,
    isValid: (authorization) => {
      const token = authorization?.replace(/^Bearer /, '') ?? '';
      const expiry = valid.get(token);
      uses.set(token, (uses.get(token) ?? 0) + 1);
      return expiry !== undefined && Date.now() < expiry && uses.get(token)! <= maxUses;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('auth types', () => {
  it('basic', async () => {
    const expected = `Basic ${Buffer.from('scim-bot:pa55-w0rd-basic').toString('base64')}`;
    h = await Harness.start({ sandbox: { verify: (headers) => headers.authorization === expected } });
    process.env['BASIC_PASSWORD'] = 'pa55-w0rd-basic';
    useAuth(h, '{ type: basic, username: scim-bot, password: "${env:BASIC_PASSWORD}" }');
    h.writePeople(people);
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(0);
    expect(h.sandbox.store.users()).toHaveLength(10);
    expect(h.sandbox.requests.every((q) => q.headers.authorization === expected)).toBe(true);
    expect(r.out + r.err).not.toContain('pa55-w0rd-basic');
  });

  it('a custom header', async () => {
    h = await Harness.start({ sandbox: { verify: (headers) => headers['x-api-key'] === 'key-7c1d9e2f' } });
    process.env['API_KEY'] = 'key-7c1d9e2f';
    useAuth(h, '{ type: header, name: X-Api-Key, token: "${env:API_KEY}" }');
    h.writePeople(people);
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(0);
    expect(h.sandbox.store.users()).toHaveLength(10);
    expect(h.sandbox.requests.every((q) => q.headers.authorization === undefined)).toBe(true);
  });
});

describe('OAuth 2.0 client credentials', () => {
  async function oauthHarness(expiresIn: number, secret = 'client-secret-91ab', extra = '', maxUses = Infinity) {
    tokenServer = await startTokenServer('scim-sync-client', 'client-secret-91ab', expiresIn, maxUses);
    const ts = tokenServer;
    h = await Harness.start({ sandbox: { verify: (headers) => ts.isValid(headers.authorization) } });
    process.env['OAUTH_SECRET'] = secret;
    useAuth(h, `{ type: oauth2, tokenUrl: "${ts.url}", clientId: scim-sync-client, clientSecret: "\${env:OAUTH_SECRET}", scope: "scim.write scim.read" }`, extra);
    h.writePeople(people);
    return { h, ts };
  }

  it('fetches one token for a whole run, with the scope, however many requests run at once', async () => {
    const { h, ts } = await oauthHarness(3600);
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(0);
    expect(h.sandbox.store.users()).toHaveLength(10);
    expect(ts.calls).toHaveLength(1);
    expect(ts.calls[0]!.form.get('scope')).toBe('scim.write scim.read');
    expect(h.sandbox.requests.every((q) => q.status < 400)).toBe(true);
    expect(r.out + r.err).not.toMatch(/access-\d/);
  });

  it('renews the token before it expires: no request is ever refused', async () => {
    // Tokens live 1 s; the budget stretches the run well past that.
    const { h, ts } = await oauthHarness(1, undefined, '    rateLimit: { requests: 5, perMs: 1000 }');
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(0);
    expect(h.sandbox.store.users()).toHaveLength(10);
    expect(ts.calls.length).toBeGreaterThanOrEqual(2);
    expect(h.sandbox.requests.filter((q) => q.status === 401)).toEqual([]);
  });

  it('a token revoked early is renewed and the refused request goes through', async () => {
    // Each token is revoked after 5 requests; a run sends 14 (discovery of the server, of the User
    // resource type and of the schemas, listing, 10 creates).
    const { h, ts } = await oauthHarness(3600, undefined, '', 5);
    writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('concurrency: 4', 'concurrency: 1'));
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(0);
    expect(h.sandbox.store.users()).toHaveLength(10);
    expect(h.sandbox.requests.filter((q) => q.status === 401)).toHaveLength(2);
    expect(h.sandbox.requests.filter((q) => q.status < 300)).toHaveLength(14);
    expect(ts.calls).toHaveLength(3);
  });

  it('a wrong client secret: check exits 2 naming the target and the token endpoint', async () => {
    const { h, ts } = await oauthHarness(3600, 'not-the-secret-5521');
    const r = await h.cli('check', '--config', h.configFile);
    expect(r.code).toBe(2);
    expect(r.out).toContain('Target app');
    expect(r.out).toMatch(/credential refused: \[AUTH\] OAuth token request refused \(HTTP 401\): client authentication failed/);
    expect(r.out).toContain(`POST ${new URL(ts.url).origin}/oauth/token`);
    expect(r.out + r.err).not.toContain('not-the-secret-5521');
    expect(h.sandbox.requests).toEqual([]);
    expect(ts.calls).toHaveLength(1);
  });
});

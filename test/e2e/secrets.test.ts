/**
 * No secret in any output, in any form. Distinctive credentials in every auth type (bearer, basic,
 * a custom header, OAuth client secret, and the access tokens the token endpoint issues), a full
 * sync, plan --out / --json, run --json, check (text and JSON), then the failures that put a
 * credential in front of us: servers that echo what they were sent in their error bodies (400 and
 * 401), and a token endpoint that refuses the client secret and quotes it. Everything written
 * (stdout, stderr, plan files, every file of the state directories, the audit logs, the webhook
 * notifications these runs send, bodies and headers) is searched for
 * every secret, raw, URL-encoded, form-encoded and as the base64 of Basic credentials.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { Harness, person, type RunResult } from '../support/harness.js';

// Characters that URL-encoding, form-encoding and base64 all change.
const BEARER = 'bearer-Zq8/k+v=x&y s3cr3t';
const BASIC_USER = 'basic-bot';
const BASIC_PASSWORD = 'basic-Pw7/+= &q%sec';
const HEADER = 'header-Kx4/+=&key value';
const CLIENT_ID = 'client-id';
const CLIENT_SECRET = 'client-Sc9/+= &z%cs';
const HOOK_SECRET = 'hook-Hm4/+= &k%sig';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const formEncoded = (s: string) => new URLSearchParams({ v: s }).toString().slice(2);

/** Every form in which `secret` could be found in output. */
function forms(secret: string): string[] {
  return [secret, encodeURIComponent(secret), formEncoded(secret), b64(secret)];
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

function bodyOf(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => resolve(body));
  });
}

/** What a careless server quotes back: the credential it got, raw, decoded and encoded. */
function echoOf(req: IncomingMessage): string {
  const auth = req.headers.authorization ?? '';
  const key = String(req.headers['x-api-key'] ?? '');
  const raw = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString() : auth.replace(/^Bearer /, '');
  return `you sent "${auth}" key "${key}" raw ${raw} encoded ${encodeURIComponent(raw)} form ${formEncoded(raw)} keyenc ${encodeURIComponent(key)}`;
}

let h: Harness;
const sandboxes: Sandbox[] = [];
let tokenServer: Server;
let echoServer: Server;
let hookServer: Server;
/** Every webhook delivery: headers and body. */
const notified: string[] = [];
const issued: string[] = [];
const echoed: string[] = [];
const results: RunResult[] = [];

async function sandbox(verify: (headers: IncomingMessage['headers']) => boolean): Promise<Sandbox> {
  const s = await startSandbox({ verify });
  sandboxes.push(s);
  return s;
}

beforeAll(async () => {
  h = await Harness.start();
  h.writePeople(Array.from({ length: 6 }, (_, i) => person(i + 1)));

  let n = 0;
  tokenServer = createServer(async (req, res) => {
    const form = await bodyOf(req);
    res.setHeader('content-type', 'application/json');
    const expected = `Basic ${b64(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}`)}`;
    if (req.url === '/oauth/token' && req.headers.authorization === expected) {
      const token = `access-Tk/${++n}+${Math.random().toString(36).slice(2)}=`;
      issued.push(token);
      res.writeHead(200).end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600 }));
      return;
    }
    const [id, secret] = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString().split(':').map(decodeURIComponent);
    echoed.push(secret ?? '');
    res.writeHead(401).end(
      JSON.stringify({ error: 'invalid_client', error_description: `client ${id} secret ${secret} sent as ${req.headers.authorization} with ${form}` }),
    );
  });
  const tokenUrl = await listen(tokenServer);

  // /400/... and /401/... answer every request with that status and an echo of the credential.
  echoServer = createServer((req, res) => {
    echoed.push(req.headers.authorization ?? String(req.headers['x-api-key'] ?? ''));
    const status = req.url?.startsWith('/401/') ? 401 : 400;
    res.writeHead(status, { 'content-type': 'application/scim+json' });
    res.end(JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(status), detail: echoOf(req) }));
  });
  const echoUrl = await listen(echoServer);
  hookServer = createServer(async (req, res) => {
    notified.push(`${JSON.stringify(req.headers)}\n${await bodyOf(req)}`);
    res.writeHead(200).end();
  });
  const hookUrl = await listen(hookServer);

  const bearer = await sandbox((hd) => hd.authorization === `Bearer ${BEARER}`);
  const basic = await sandbox((hd) => hd.authorization === `Basic ${b64(`${BASIC_USER}:${BASIC_PASSWORD}`)}`);
  const header = await sandbox((hd) => hd['x-api-key'] === HEADER);
  const oauth = await sandbox((hd) => issued.some((t) => hd.authorization === `Bearer ${t}`));

  writeFileSync(join(h.dir, 'client-secret.txt'), `${CLIENT_SECRET}\n`);
  const source = `${readFileSync(h.configFile, 'utf8').split('targets:')[0]!}notifications:\n  webhooks:\n    - { url: "${hookUrl}/hook", secret: "\${env:S_HOOK}" }\n`;
  const auth = {
    bearer: '{ type: bearer, token: "${env:S_BEARER}" }',
    basic: `{ type: basic, username: ${BASIC_USER}, password: "\${env:S_BASIC}" }`,
    header: '{ type: header, name: X-Api-Key, token: "${env:S_HEADER}" }',
    oauth: (path: string) => `{ type: oauth2, tokenUrl: "${tokenUrl}${path}", clientId: ${CLIENT_ID}, clientSecret: "\${file:client-secret.txt}" }`,
  };
  const target = (name: string, url: string, a: string) => `  ${name}:\n    url: ${url}\n    auth: ${a}\n    retries: 1\n`;
  writeFileSync(
    join(h.dir, 'good.yaml'),
    source.replace('dir: state', 'dir: state-good') +
      'targets:\n' +
      target('bearer', bearer.url, auth.bearer) +
      target('basic', basic.url, auth.basic) +
      target('header', header.url, auth.header) +
      target('oauth', oauth.url, auth.oauth('/oauth/token')),
  );
  writeFileSync(
    join(h.dir, 'bad.yaml'),
    source.replace('dir: state', 'dir: state-bad') +
      'targets:\n' +
      target('echobearer', `${echoUrl}/400/scim/v2`, auth.bearer) +
      target('echobasic', `${echoUrl}/401/scim/v2`, auth.basic) +
      target('echoheader', `${echoUrl}/400/scim/v2`, auth.header) +
      target('echooauth', `${echoUrl}/401/scim/v2`, auth.oauth('/oauth/token')) +
      target('badclient', oauth.url, auth.oauth('/wrong/token')),
  );
  process.env['S_BEARER'] = BEARER;
  process.env['S_BASIC'] = BASIC_PASSWORD;
  process.env['S_HEADER'] = HEADER;
  process.env['S_HOOK'] = HOOK_SECRET;

  const cli = async (...args: string[]) => {
    const r = await h.cli(...args);
    results.push(r);
    return r;
  };
  for (const config of ['good.yaml', 'bad.yaml']) {
    const file = join(h.dir, config);
    const stem = config.replace('.yaml', '');
    await cli('check', '--config', file);
    await cli('check', '--config', file, '--json');
    await cli('plan', '--config', file, '--out', join(h.dir, `${stem}-plan.json`));
    await cli('plan', '--config', file, '--json');
    await cli('run', '--config', file, '--json');
    await cli('run', '--config', file);
    // The provisioning log read back, as a table and as JSON lines: the server's error text in it too.
    await cli('log', '--config', file, '--json');
    await cli('log', '--config', file);
    await cli('explain', '--config', file, '--user', 'E1001');
    await cli('explain', '--config', file, '--user', 'E1001', '--json');
    await cli('deprovision', '--config', file, '--user', 'E1001', '--reason', 'secrets test');
    await cli('release', '--config', file, '--user', 'E1001');
    await cli('provision', '--config', file, '--user', 'E1001');
  }
  // The good targets were really synced; the bad ones really were sent (and echoed) the credentials.
  for (const s of [bearer, basic, header, oauth]) expect(s.store.users()).toHaveLength(6);
  // The access report of both, and a safety stop whose deprovisions are staged (its set is searched too).
  for (const config of ['good.yaml', 'bad.yaml']) {
    await cli('report', '--config', join(h.dir, config), '--format', 'json');
    await cli('report', '--config', join(h.dir, config), '--format', 'csv');
  }
  h.writePeople([person(1)]);
  expect((await cli('run', '--config', join(h.dir, 'good.yaml'))).code).toBe(3);
  await cli('staged', '--config', join(h.dir, 'good.yaml'), '--json');
}, 60_000);

afterAll(async () => {
  await Promise.all(sandboxes.map((s) => s.close()));
  await new Promise((resolve) => tokenServer?.close(resolve));
  await new Promise((resolve) => echoServer?.close(resolve));
  await new Promise((resolve) => hookServer?.close(resolve));
  await h?.close();
});

/** Every file under `dir`, as text. */
function filesUnder(dir: string): { file: string; text: string }[] {
  return readdirSync(dir).flatMap((name) => {
    const file = join(dir, name);
    return statSync(file).isDirectory() ? filesUnder(file) : [{ file, text: readFileSync(file, 'utf8') }];
  });
}

describe("secrets never appear in output", () => {
  it('the failures were met, and told', () => {
    const all = results.map((r) => r.out + r.err).join('\n');
    expect(echoed).toContain(`Bearer ${BEARER}`);
    expect(echoed).toContain(CLIENT_SECRET);
    expect(issued.some((t) => echoed.includes(`Bearer ${t}`))).toBe(true);
    expect(all).toContain('OAuth token request refused (HTTP 401)');
    expect(all).toContain('credential rejected (HTTP 401)');
    expect(all).toContain('request refused (HTTP 400): you sent "Bearer [redacted]"');
    // Good config: 6 runs and checks, 2 log reads, the 5 commands of one person; bad config: 2 log reads and release
    // (no target); then 2 reports of the good config and the staged list.
    expect(results.filter((r) => r.code === 0)).toHaveLength(19);
    // The log read back: the good config's creates, the bad config's failed targets.
    expect([6, 7].every((i) => results[i]!.code === 0 && results[i]!.out.includes('createUser'))).toBe(true);
    expect([19, 20].every((i) => results[i]!.code === 0 && results[i]!.out.includes('target.failed'))).toBe(true);
  });

  it('in stdout, stderr, plan files, state and audit: no secret in any form', () => {
    expect(issued.length).toBeGreaterThan(0);
    // The bad targets were quarantined and their cycles failed: both were notified.
    expect(notified.some((n) => n.includes('"event":"quarantine.enter"'))).toBe(true);
    expect(notified.some((n) => n.includes('"event":"cycle.failed"'))).toBe(true);
    const secrets = [BEARER, BASIC_PASSWORD, HEADER, CLIENT_SECRET, HOOK_SECRET, ...issued];
    const needles = [
      ...secrets.flatMap(forms),
      b64(`${BASIC_USER}:${BASIC_PASSWORD}`),
      b64(`${CLIENT_ID}:${CLIENT_SECRET}`),
      b64(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}`),
    ];
    const written = [
      ...results.flatMap((r, i) => [
        { file: `command ${i} stdout`, text: r.out },
        { file: `command ${i} stderr`, text: r.err },
      ]),
      ...filesUnder(h.dir).filter((f) => /-plan\.json$|^state-/.test(f.file.slice(h.dir.length + 1))),
      ...notified.map((text, i) => ({ file: `notification ${i}`, text })),
    ];
    expect(written.map((w) => w.file.replace(h.dir, ''))).toEqual(
      expect.arrayContaining(['/good-plan.json', '/bad-plan.json', '/state-good/audit.jsonl', '/state-bad/audit.jsonl', '/state-good/links.json']),
    );
    expect(written.some((w) => /^\/state-good\/staged\/st-[0-9a-f]{8}\.json$/.test(w.file.replace(h.dir, '')))).toBe(true);
    const leaks = written.flatMap((w) => needles.filter((n) => w.text.includes(n)).map((n) => `${w.file.replace(h.dir, '')}: ${n}`));
    expect(leaks).toEqual([]);
  });
});

/**
 * A server that quotes only part of the token it refused ("invalid token eyJhbGciOi..."): the part
 * is most of the credential, and is scrubbed from the CLI's output and the audit log as the whole
 * token is. Over a real HTTP server, through the CLI.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { redact, registerCredential, registerSecret } from '../../src/config/secret.js';
import { Harness, person, TOKEN as HARNESS_TOKEN } from '../support/harness.js';
import { hostileProxy } from '../support/hostile-proxy.js';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.Q7xZ2mVw9LpR4tKs8NbYc3HdFg6JeAu5';
/** What the server quotes: the token's first 40 characters, as gateways truncate long headers. */
const PART = TOKEN.slice(0, 40);

let dir: string;
let server: Server;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'scim-sync-secret-parts-'));
  server = createServer((req, res) => {
    req.resume();
    const sent = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    res.writeHead(401, { 'content-type': 'application/scim+json' }).end(JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '401', detail: `invalid token ${sent.slice(0, 40)}...` }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/scim/v2`;
  writeFileSync(join(dir, 'people.csv'), 'id,email,first,last\n1,ada@example.com,Ada,Lovelace\n');
  writeFileSync(
    join(dir, 'org.yaml'),
    `version: 1
state: { dir: state }
source: { type: csv, path: people.csv, key: id, columns: { userName: email, email: email, givenName: first, familyName: last } }
targets:
  app:
    url: ${url}
    auth: { type: bearer, token: "\${env:PARTS_TOKEN}" }
`,
  );
  process.env['PARTS_TOKEN'] = TOKEN;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

async function cli(...args: string[]): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const code = await main(['node', 'scim-sync', ...args, '--config', join(dir, 'org.yaml')], { out: (t) => lines.push(t), err: (t) => lines.push(t) });
  return { code, text: lines.join('\n') };
}

/** Any 16 characters of the token in a row. */
const leaks = (text: string) => Array.from({ length: TOKEN.length - 15 }, (_, i) => TOKEN.slice(i, i + 16)).filter((run) => text.includes(run));

it('check and run: a refusal quoting the first 40 characters of the token shows neither them nor any 16 of them in a row', async () => {
  const check = await cli('check');
  expect(check.text).toContain('credential rejected (HTTP 401): invalid token [redacted]...');
  expect(leaks(check.text)).toEqual([]);
  const run = await cli('run', '--json');
  expect(run.code).not.toBe(0);
  expect(run.text).toContain('[redacted]');
  expect(leaks(run.text)).toEqual([]);
  const audit = readFileSync(join(dir, 'state', 'audit.jsonl'), 'utf8');
  expect(audit).toContain('invalid token [redacted]');
  expect(leaks(audit)).toEqual([]);
});

it('leaves short runs and other text alone, and finds a part wherever it starts', () => {
  const long = 'Zx8Qw3Er5Ty7Ui9Op1As2Df4Gh6Jk0Lm';
  registerSecret(long);
  // 11 characters in a row: not enough to say it is the secret.
  expect(redact(`id ${long.slice(3, 14)} ok`)).toBe(`id ${long.slice(3, 14)} ok`);
  for (const start of [0, 1, 2, 3, 5, 7]) expect(redact(`a${long.slice(start, start + 12)}b`)).toBe('a[redacted]b');
  // Every run of 12 from every place in the secret, at every alignment in the line, in either case.
  for (const pad of ['', 'p', 'pp', 'ppp'])
    for (let start = 0; start + 12 <= long.length; start++) {
      const run = long.slice(start, start + 12);
      for (const seen of [run, run.toUpperCase(), run.toLowerCase()]) expect(redact(`${pad} ${seen} q`)).toBe(`${pad} [redacted] q`);
    }
  expect(redact(`x ${long.slice(2, 30)} y ${long.slice(9)}`)).toBe('x [redacted] y [redacted]');
  expect(redact('nothing secret in this line at all, just words and ids 0123456789')).toBe('nothing secret in this line at all, just words and ids 0123456789');
});

it("a Basic username or OAuth client id is no secret: a run of it is printed (a saved plan's bound identity), the password and the whole credential are not", () => {
  const user = 'scim-provisioner@example.com';
  const password = 'S3cretPassw0rd!x';
  registerCredential(user, password);
  const clientId = '3f2b8c1e-9d4a-4e6f-8b7c-1a2b3c4d5e6f';
  registerCredential(encodeURIComponent(clientId), encodeURIComponent('clientsecret-value-1234567'));
  // What targetFingerprint writes into a saved plan, and apply compares with the config's.
  expect(redact(`http://127.0.0.1:1/scim/v2 (basic, ${user})`)).toBe(`http://127.0.0.1:1/scim/v2 (basic, ${user})`);
  expect(redact(`OAuth token request refused: client ${clientId} at https://login.example.com/token`)).toBe(`OAuth token request refused: client ${clientId} at https://login.example.com/token`);
  expect(redact(`Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`)).toBe('Basic [redacted]');
  expect(redact(`echo ${user}:${password}`)).toBe('echo [redacted]');
  expect(redact(`pw ${password}`)).toBe('pw [redacted]');
});

it('a secret of 16 characters: whole in any case, and any 12 of its characters in a row, are redacted', () => {
  const key = '9f3a7c1e5b2d8f40';
  registerSecret(key);
  expect(redact(`key ${key.toUpperCase()} refused`)).toBe('key [redacted] refused');
  expect(redact(`key ${key.slice(0, -1)}… refused`)).toBe('key [redacted]… refused');
  expect(redact(`key ${key.slice(4).toUpperCase()} refused`)).toBe('key [redacted] refused');
  // Text around a match keeps its own case, and the text's other characters (İ lower-cases to two) stay where they are.
  expect(redact(`İstanbul ${key.toUpperCase()} Ok`)).toBe('İstanbul [redacted] Ok');
});

it('a 400 quoting the 23-character token without its last character, and upper-cased: neither reaches the report, --json or the audit log', async () => {
  const people = Array.from({ length: 5 }, (_, i) => person(i + 1));
  const h = await Harness.synced(people);
  const proxy = await hostileProxy(h.sandbox.url);
  try {
    writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace(h.sandbox.url, proxy.url));
    proxy.hook = (req) => {
      if (req.method !== 'PATCH') return undefined;
      const sent = String(req.headers.authorization).slice('Bearer '.length);
      return { status: 400, body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', detail: `token ${sent.slice(0, -1)}… (${sent.toUpperCase()}) may not write title` } };
    };
    h.writePeople(people.map((x, i) => (i === 0 ? { ...x, title: 'CTO' } : x)));
    const r = await h.run('--json');
    expect(r.code).toBe(1);
    expect(HARNESS_TOKEN).toHaveLength(23);
    const audit = readFileSync(join(h.dir, 'state', 'audit.jsonl'), 'utf8');
    const leaked = (t: string) => t.includes(HARNESS_TOKEN.slice(0, -1)) || t.toLowerCase().includes(HARNESS_TOKEN.slice(0, 12).toLowerCase());
    expect(leaked(r.out + r.err)).toBe(false);
    expect(leaked(audit)).toBe(false);
    const detail = audit.split('\n').filter((l) => l.includes('"updateUser"')).map((l) => (JSON.parse(l) as { error?: { detail?: string } }).error?.detail);
    expect(detail).toEqual(['token [redacted]… ([redacted]) may not write title']);
  } finally {
    await proxy.close();
    await h.close();
  }
});


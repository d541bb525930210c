/**
 * Secrets in the forms a careless server or an unusual config gives them: a token with white space
 * at its end (servers quote the header without it), a JSON echo with `/` escaped, a credential in a
 * header whose name says nothing of it (an API gateway's subscription key) or in a webhook URL's
 * path (a chat webhook); an OAuth token URL over plain http; and the service's /readyz quoting the
 * last cycle's error. Each over a real HTTP server, through the CLI's own output.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parseConfig } from '../../src/config/load.js';
import { redact, registerSecret } from '../../src/config/secret.js';
import { planFileText } from '../../src/cli/plan-file.js';
import type { Plan } from '../../src/model/plan.js';
import { startHttp } from '../../src/service/http-server.js';

const TOKEN = 'Tok9/Zq+Yw=secret ';
const GATEWAY_KEY = 'GatewayKey0123456789';
const HOOK_PATH_TOKEN = 'HookPathToken4567ABCDEF';

let dir: string;
let echo: Server;
let echoUrl: string;
let hook: Server;
let hookUrl: string;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** Refuses every request, quoting its credentials as PHP writes JSON (`/` escaped) and as plain text. */
function refuse(req: IncomingMessage): string {
  const quoted = `token ${req.headers.authorization ?? ''} key ${String(req.headers['ocp-apim-subscription-key'] ?? '')}`;
  return JSON.stringify({ errors: [{ description: quoted }] }).replaceAll('/', '\\/');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'scim-sync-secret-forms-'));
  echo = createServer((req, res) => {
    req.resume();
    res.writeHead(401, { 'content-type': 'application/json' }).end(refuse(req));
  });
  echoUrl = await listen(echo);
  hook = createServer((req, res) => {
    req.resume();
    res.writeHead(401).end();
  });
  hookUrl = await listen(hook);
  writeFileSync(join(dir, 'people.csv'), 'id,email,first,last\n1,ada@example.com,Ada,Lovelace\n');
  writeFileSync(
    join(dir, 'org.yaml'),
    `version: 1
state: { dir: state }
source: { type: csv, path: people.csv, key: id, columns: { userName: email, email: email, givenName: first, familyName: last } }
targets:
  app:
    url: ${echoUrl}/scim/v2
    auth: { type: bearer, token: "\${env:FORMS_TOKEN}" }
    quirks:
      headers: { Ocp-Apim-Subscription-Key: "\${env:FORMS_GATEWAY_KEY}" }
notifications:
  webhooks:
    - { url: "${hookUrl}/api/webhooks/42/\${env:FORMS_HOOK_TOKEN}", format: json, secret: "\${env:FORMS_HOOK_SECRET}", events: [cycle.failed] }
`,
  );
  process.env['FORMS_TOKEN'] = TOKEN;
  process.env['FORMS_GATEWAY_KEY'] = GATEWAY_KEY;
  process.env['FORMS_HOOK_TOKEN'] = HOOK_PATH_TOKEN;
  process.env['FORMS_HOOK_SECRET'] = 'hook-signing-secret-1';
});
afterAll(async () => {
  await new Promise((resolve) => echo.close(resolve));
  await new Promise((resolve) => hook.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

async function cli(...args: string[]): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const code = await main(['node', 'scim-sync', ...args, '--config', join(dir, 'org.yaml')], { out: (t) => lines.push(t), err: (t) => lines.push(t) });
  return { code, text: lines.join('\n') };
}

const leaked = (text: string) =>
  [TOKEN, TOKEN.trim(), JSON.stringify(TOKEN.trim()).slice(1, -1).replaceAll('/', '\\/'), GATEWAY_KEY, HOOK_PATH_TOKEN].filter((s) => text.includes(s));

describe('secrets in unusual forms', () => {
  it('check: a refused token quoted without its trailing space and with "/" escaped, and a gateway key, are redacted (text and --json)', async () => {
    const text = await cli('check');
    expect(text.code).toBe(2);
    expect(text.text).toContain('credential rejected (HTTP 401)');
    expect(text.text).toContain('[redacted]');
    expect(leaked(text.text)).toEqual([]);
    const json = await cli('check', '--json');
    expect(json.text).toContain('ocp-apim-subscription-key');
    expect(leaked(json.text)).toEqual([]);
  });

  it('run: the failed cycle\'s notification goes to a webhook whose path is its credential; the failure to deliver it does not print the path', async () => {
    const run = await cli('run');
    expect(run.text).toMatch(/notification cycle\.failed to .*not delivered/);
    expect(leaked(run.text)).toEqual([]);
  });

  it('an OAuth token URL over plain http to another machine is a warning; over loopback it is not', () => {
    const config = (tokenUrl: string) =>
      `version: 1\nsource: { type: csv, path: p.csv, key: id }\ntargets:\n  app:\n    url: https://app.example.com/scim/v2\n` +
      `    auth: { type: oauth2, tokenUrl: "${tokenUrl}", clientId: app, clientSecret: "\${env:FORMS_TOKEN}" }\n`;
    expect(parseConfig(config('http://idp.example.com/oauth/token'), join(dir, 'o.yaml')).warnings).toContain(
      'targets.app.auth.tokenUrl: plain http sends the client secret unencrypted; use https',
    );
    expect(parseConfig(config('http://127.0.0.1:9/oauth/token'), join(dir, 'o.yaml')).warnings).toEqual([]);
    expect(parseConfig(config('http://localhost.example.com/token'), join(dir, 'o.yaml')).warnings).toHaveLength(1);
  });

  it('/readyz quotes the last cycle\'s error with every secret redacted', async () => {
    const secret = 'ReadyzSecret-7f3a9c';
    registerSecret(secret);
    const http = await startHttp(
      '127.0.0.1:0',
      {
        readiness: () => ({ ready: false, problems: [`the last full cycle failed: HTTP 401: credentials: Bearer ${secret}`], detail: {} }),
        metrics: async () => ({ contentType: 'text/plain', body: '' }),
      },
      () => undefined,
    );
    try {
      const res = await fetch(`${http.url}/readyz`);
      const text = await res.text();
      expect(res.status).toBe(503);
      expect(text).toContain('Bearer [redacted]');
      expect(text).not.toContain(secret);
    } finally {
      await http.close();
    }
  });

  it('only credential-like headers and a webhook URL\'s path are secrets: a tenant header and a webhook host from the environment stay readable', () => {
    const env = { TENANT: 'acme-corp-tenant', APIM: 'apim-key-0123456789', HOOK_HOST: 'hooks.example-chat.com', HOOK_TOKEN: 'T0KEN-in-the-path-42', TOK: 'bearer-token-123456' };
    parseConfig(
      `source: { type: csv, path: p.csv, key: id }
targets:
  app:
    url: https://app.example.com/scim/v2
    auth: { type: bearer, token: "\${env:TOK}" }
    quirks: { headers: { X-Tenant: "\${env:TENANT}", Ocp-Apim-Subscription-Key: "\${env:APIM}" } }
notifications:
  webhooks:
    - { url: "https://\${env:HOOK_HOST}/hooks/\${env:HOOK_TOKEN}", format: json, secret: "\${env:TOK}", events: [cycle.failed] }
`,
      join(dir, 'parts.yaml'),
      env,
    );
    expect(redact(`ada@${env.TENANT}.com via https://${env.HOOK_HOST}/hooks/${env.HOOK_TOKEN} key ${env.APIM}`)).toBe(
      `ada@${env.TENANT}.com via https://${env.HOOK_HOST}/hooks/[redacted] key [redacted]`,
    );
  });

  it('a saved plan: a server\'s error is redacted; an operation that would write a credential\'s text is not saved at all', () => {
    const secret = 'PlanFileSecret-93ab';
    registerSecret(secret);
    const plan = (value: string, error: string) =>
      ({ id: 'p', targets: [{ target: 'app', error, phases: [{ name: 'users', operations: [{ kind: 'createUser', resource: { userName: value } }] }] }] }) as unknown as Plan;
    const saved = JSON.parse(planFileText(plan('ada@example.com', `HTTP 401: you sent ${secret}`))) as { targets: { error: string }[] };
    expect(saved.targets[0]!.error).toBe('HTTP 401: you sent [redacted]');
    expect(() => planFileText(plan(`ada-${secret}@example.com`, ''))).toThrow(/the plan is not saved: a value one of its operations would write contains the text of a credential/);
  });

  it('a saved plan where a credential\'s text is found only across two values of its JSON (never in one) is saved whole, with nothing redacted', () => {
    // The file's check looks at the whole JSON first; only a value that holds the text refuses it.
    const secret = 'Xq81-77","Yz';
    registerSecret(secret);
    const plan = {
      id: 'p',
      targets: [{ target: 'app', phases: [{ name: 'users', operations: [{ kind: 'createUser', resource: { userName: 'ada', tags: ['from-Xq81-77', 'Yz-to'] } }] }] }],
    } as unknown as Plan;
    const text = planFileText(plan);
    const saved = JSON.parse(text) as { targets: { phases: { operations: { resource: { tags: string[] } }[] }[] }[]; digest: string };
    expect(saved.targets[0]!.phases[0]!.operations[0]!.resource.tags).toEqual(['from-Xq81-77', 'Yz-to']);
    const { digest, ...content } = saved;
    expect(digest).toBe(`sha256:${createHash('sha256').update(JSON.stringify(content)).digest('hex')}`);
  });
});

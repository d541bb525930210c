/**
 * Credentials the config refuses, through `validate` (exit 2, the path, what to do): in a target
 * URL (userinfo, a credential query parameter) or in quirks.headers, empty or shorter than 8
 * characters, and TLS files that are missing or not PEM.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/io.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'scim-sync-creds-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function validate(target: string, env: Record<string, string> = {}) {
  writeFileSync(join(dir, 'org.yaml'), `version: 1\nsource: { type: csv, path: people.csv, key: id }\ntargets:\n  app:\n${target}`);
  // validate reads the CSV header to check the mapping against it.
  writeFileSync(join(dir, 'people.csv'), 'id,userName\n');
  const out: string[] = [];
  const io: Io = { out: (t) => out.push(t), err: (t) => out.push(t) };
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const code = await main(['node', 'scim-sync', 'validate', '--config', join(dir, 'org.yaml')], io);
    return { code, out: out.join('\n') };
  } finally {
    process.env = saved;
  }
}

const bearer = '    auth: { type: bearer, token: "${env:APP_TOKEN}" }\n';

describe('credentials in a target URL', () => {
  it('user:password in the URL: exit 2, the path, a pointer to auth, the password not repeated', async () => {
    const r = await validate('    url: https://bot:hunter2-in-url@scim.example.com/scim/v2\n    auth: { type: none }\n');
    expect(r.code).toBe(2);
    expect(r.out).toContain('targets.app.url (line 5): holds a user name or password (user:password@host); remove it and set targets.app.auth instead');
    expect(r.out).not.toContain('hunter2-in-url');
  });

  it('a credential query parameter, whatever its case: exit 2, the parameter named', async () => {
    const r = await validate(`    url: https://scim.example.com/scim/v2?tenant=acme&API_KEY=k3y-in-the-url\n${bearer}`, { APP_TOKEN: 'app-token-123456' });
    expect(r.code).toBe(2);
    expect(r.out).toContain('targets.app.url (line 5): query parameter "API_KEY" carries a credential; remove it and set targets.app.auth instead');
    expect(r.out).not.toContain('k3y-in-the-url');
  });

  it('the OAuth token URL too', async () => {
    const r = await validate(
      '    url: https://scim.example.com/scim/v2\n' +
        '    auth: { type: oauth2, tokenUrl: "https://login.example.com/token?client_secret=abc12345678", clientId: id, clientSecret: "${env:CS}" }\n',
      { CS: 'client-secret-1234' },
    );
    expect(r.code).toBe(2);
    expect(r.out).toContain('targets.app.auth.tokenUrl (line 6): query parameter "client_secret" carries a credential');
  });

  it('a credential in quirks.headers: exit 2, the header named, its value not repeated; other headers pass', async () => {
    const url = '    url: https://scim.example.com/scim/v2\n    auth: { type: none }\n';
    const r = await validate(`${url}    quirks: { headers: { X-Tenant: acme, Authorization: "Bearer quirk-token-123" } }\n`);
    expect(r.code).toBe(2);
    expect(r.out).toContain('targets.app.quirks.headers (line 7): header "Authorization" carries a credential, which quirks would print; set targets.app.auth instead');
    expect(r.out).not.toContain('quirk-token-123');
    expect((await validate(`${url}    quirks: { headers: { X-Tenant: acme } }\n`)).code).toBe(0);
  });

  it('an ordinary query parameter passes', async () => {
    const r = await validate(`    url: https://scim.example.com/scim/v2?tenant=acme\n${bearer}`, { APP_TOKEN: 'app-token-123456' });
    expect(r.code, r.out).toBe(0);
  });
});

describe('empty and short secrets', () => {
  const url = '    url: https://scim.example.com/scim/v2\n';

  it('a variable set but empty: exit 2, the variable and the path', async () => {
    const r = await validate(url + bearer, { APP_TOKEN: '' });
    expect(r.code).toBe(2);
    expect(r.out).toContain('targets.app.auth.token: environment variable APP_TOKEN is empty (set but empty)');
  });

  it('an empty file, and a file with only a newline: exit 2, the file and the path', async () => {
    for (const content of ['', '\n']) {
      writeFileSync(join(dir, 'token.txt'), content);
      const r = await validate(`${url}    auth: { type: basic, username: bot, password: "\${file:token.txt}" }\n`);
      expect(r.code).toBe(2);
      expect(r.out).toContain('targets.app.auth.password: file token.txt is empty');
    }
  });

  it('a line break left at the end (echo, an editor) or inside: exit 2, what it holds, never the value', async () => {
    const r = await validate(url + bearer, { APP_TOKEN: 'app-token-123456\n' });
    expect(r.code).toBe(2);
    expect(r.out).toContain('targets.app.auth.token: the credential from environment variable APP_TOKEN holds a line break at its end: remove it');
    expect(r.out).not.toContain('app-token-123456');
    writeFileSync(join(dir, 'token.txt'), 'file-token-123456\n\n');
    const file = await validate(`${url}    auth: { type: bearer, token: "\${file:token.txt}" }\n`);
    expect(file.code).toBe(2);
    expect(file.out).toContain('targets.app.auth.token: the credential from file token.txt holds a line break at its end');
    const inside = await validate(url + bearer, { APP_TOKEN: 'app-token\t123456' });
    expect(inside.out).toContain('holds a tab:');
    // A Google service-account key is JSON over many lines, as Google writes it: not refused.
    writeFileSync(join(dir, 'sa.json'), JSON.stringify({ type: 'service_account', client_email: 'sync@p.iam.gserviceaccount.com', private_key: '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n' }, null, 2));
    writeFileSync(join(dir, 'org.yaml'), 'version: 1\nsource: { type: google, credentials: "${file:sa.json}", subject: admin@example.com, customer: my_customer }\ntargets:\n  app:\n    url: https://scim.example.com/scim/v2\n    auth: { type: none }\n');
    const { parseConfig } = await import('../../src/config/load.js');
    expect(() => parseConfig(readFileSync(join(dir, 'org.yaml'), 'utf8'), join(dir, 'org.yaml'), {})).not.toThrow();
    // One newline at the end of a file is the file's, not the token's.
    writeFileSync(join(dir, 'token.txt'), 'file-token-123456\n');
    expect((await validate(`${url}    auth: { type: bearer, token: "\${file:token.txt}" }\n`)).code).toBe(0);
  });

  it('shorter than 8 characters: exit 2, refused with the reason; 8 pass', async () => {
    const r = await validate(url + bearer, { APP_TOKEN: 'abc1234' });
    expect(r.code).toBe(2);
    expect(r.out).toContain('targets.app.auth.token: the credential from environment variable APP_TOKEN is shorter than 8 characters');
    expect((await validate(url + bearer, { APP_TOKEN: 'abcd1234' })).code).toBe(0);
  });
});

describe('TLS files', () => {
  it('a missing CA file, and one that is not PEM: exit 2, the setting and the file named', async () => {
    const missing = await validate(`    url: https://scim.example.com/scim/v2\n    auth: { type: none }\n    tls: { ca: nowhere/ca.pem }\n`);
    expect(missing.code).toBe(2);
    expect(missing.out).toContain(`targets.app.tls.ca: cannot read ${join(dir, 'nowhere/ca.pem')} (ENOENT)`);
    writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
    const garbage = await validate(`    url: https://scim.example.com/scim/v2\n    auth: { type: none }\n    tls: { ca: ca.pem }\n`);
    expect(garbage.code).toBe(2);
    expect(garbage.out).toContain(`targets.app.tls.ca: ${join(dir, 'ca.pem')} is not a PEM certificate`);
  });
});

describe('sandbox --token-env', () => {
  it('a token shorter than 8 characters is refused before the server starts: exit 2', async () => {
    const out: string[] = [];
    const io: Io = { out: (t) => out.push(t), err: (t) => out.push(t) };
    process.env['SHORT_SANDBOX_TOKEN'] = 'abc123';
    try {
      const code = await main(['node', 'scim-sync', 'sandbox', '--port', '0', '--token-env', 'SHORT_SANDBOX_TOKEN'], io);
      expect(code).toBe(2);
      expect(out.join('\n')).toBe('error: the token in SHORT_SANDBOX_TOKEN is shorter than 8 characters: too short to keep out of output');
    } finally {
      delete process.env['SHORT_SANDBOX_TOKEN'];
    }
  });
});

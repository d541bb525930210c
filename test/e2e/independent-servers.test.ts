/**
 * Sync against SCIM servers written by others (from npm), not only our own sandbox: the sync
 * converges (create, update, deactivate) and a second run sends no write.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { peopleCsv, person, type Person } from '../support/harness.js';
import { startBetterAuthServer } from '../support/better-auth-server.js';
import { startScimmyServer } from '../support/scimmy-server.js';

const TOKEN = 'independent-token-3e9f1c';

interface Server {
  url: string;
  requests: { method: string; status: number }[];
  close(): Promise<void>;
}

let server: Server | undefined;
let dir: string | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

interface Env {
  run: () => Promise<{ code: number; out: string }>;
  check: () => Promise<{ code: number; out: string }>;
  write: (people: Person[]) => void;
}

function setUp(url: string, targetExtra: string): Env {
  dir = mkdtempSync(join(tmpdir(), 'scim-sync-independent-'));
  const config = join(dir, 'org.yaml');
  writeFileSync(
    config,
    `version: 1
state: { dir: state }
source:
  type: csv
  path: people.csv
  key: employee_id
  columns: { userName: email, email: email, givenName: first_name, familyName: last_name, title: title }
  inactive: { column: status, values: [terminated] }
  groups: { column: groups, separator: ";" }
targets:
  app:
    url: ${url}
    auth: { type: bearer, token: "\${env:INDEPENDENT_TOKEN}" }
${targetExtra}
`,
  );
  const csv = join(dir, 'people.csv');
  return {
    write: (people) => writeFileSync(csv, peopleCsv(people)),
    run: () => cli('run', config),
    check: () => cli('check', config),
  };
}

async function cli(command: string, config: string): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  process.env['INDEPENDENT_TOKEN'] = TOKEN;
  const code = await main(['node', 'scim-sync', command, '--config', config], { out: (t) => out.push(t), err: (t) => out.push(t) });
  return { code, out: out.join('\n') };
}

/** Create everyone, update one, deactivate one; a last run sends nothing. */
type Listing = () => Promise<Record<string, unknown>[]>;

/** Members of each group by displayName. */
async function memberCounts(groups: Listing): Promise<Record<string, number>> {
  return Object.fromEntries((await groups()).map((g) => [String(g['displayName']), Array.isArray(g['members']) ? g['members'].length : 0]));
}

async function converge(s: Server, env: Env, users: Listing, groups: Listing, count = 30): Promise<void> {
  const people = Array.from({ length: count }, (_, i) => person(i + 1, { email: `Person.${i + 1}@Example.com`, groups: i % 3 === 0 ? ['eng', 'all'] : ['all'] }));
  env.write(people);
  const first = await env.run();
  expect(first.code, first.out).toBe(0);
  expect(await users()).toHaveLength(count);
  expect(await memberCounts(groups)).toEqual({ all: 30, eng: 10 });

  env.write(people.map((p, i) => (i === 0 ? { ...p, title: 'Staff Engineer' } : i === 1 ? { ...p, status: 'terminated' } : p)));
  const second = await env.run();
  expect(second.code, second.out).toBe(0);
  const after = await users();
  const byName = (n: string) => after.find((u) => String(u['userName']).toLowerCase() === n.toLowerCase());
  expect(byName('person.1@example.com')!['title']).toBe('Staff Engineer');
  expect(byName('person.2@example.com')!['active']).toBe(false);
  expect(byName('person.3@example.com')!['active']).not.toBe(false);
  expect(after.filter((u) => u['active'] === false)).toHaveLength(1);
  // The leaver left every group.
  expect(await memberCounts(groups)).toEqual({ all: 29, eng: 10 });

  const before = s.requests.length;
  const third = await env.run();
  expect(third.code, third.out).toBe(0);
  expect(s.requests.slice(before).filter((r) => r.method !== 'GET')).toEqual([]);
  expect(s.requests.filter((r) => r.status >= 400)).toEqual([]);
}

describe('independent SCIM servers: users and groups', () => {
  it('SCIMMY 1.3.5 with scimmy-routers 1.3.2 on express 4', async () => {
    const scimmy = await startScimmyServer(TOKEN);
    server = scimmy;
    const env = setUp(scimmy.url, '    pageSize: 10\n    quirks: { userNameCaseExact: true }');
    await converge(scimmy, env, async () => [...scimmy.users.values()], async () => [...scimmy.groups.values()]);
    const check = await env.check();
    expect(check.code, check.out).toBe(0);
    expect(check.out).toContain('✓ filter userName eq finds an existing user');
    // Declared case-sensitive (quirks.userNameCaseExact), so no warning about it.
    expect(check.out).not.toContain('!');
    // 30 users in pages of 10: SCIMMY answers the page past the end with the first page again,
    // which ends the listing instead of duplicating it.
    expect(scimmy.requests.some((r) => r.method === 'GET' && new URLSearchParams(r.query).get('startIndex') === '31')).toBe(true);
  });

  it('better-auth 1.7.5 with @better-auth/scim 1.7.5', async () => {
    const ba = await startBetterAuthServer(TOKEN);
    server = ba;
    const env = setUp(ba.url, '    pageSize: 20');
    await converge(ba, env, () => ba.scimUsers(), () => ba.scimGroups());
    expect(ba.users()).toHaveLength(30);
    const check = await env.check();
    expect(check.code, check.out).toBe(0);
    expect(check.out).toContain('server: patch yes, filter yes (maxResults 100), etag no, sort no, bulk no');
    expect(check.out).toContain('✓ filter userName eq finds an existing user');
  });
});

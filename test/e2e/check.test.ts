/** `scim-sync check` against the sandbox in each profile, and with a wrong token. */
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, TOKEN } from '../support/harness.js';
import { SCHEMA_USER } from '../../src/model/scim.js';
import type { SandboxOptions } from '../../src/sandbox/index.js';
import type { TargetCheck } from '../../src/engine/check-target.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function check(sandbox: SandboxOptions, target: string, withUser = true) {
  h = await Harness.start({ sandbox, target });
  if (withUser) h.sandbox.store.createUser({ schemas: [SCHEMA_USER], userName: 'Ada.Lovelace@example.com', active: true });
  h.sandbox.clearRequests();
  return h.cli('check', '--config', h.configFile);
}

describe('check', () => {
  it('generic: usable, PATCH, filters, ETags; reads and never writes', async () => {
    const r = await check({}, '');
    expect(r.code, r.err + r.out).toBe(0);
    expect(r.out).toContain('Target app');
    expect(r.out).toContain('server: patch yes, filter yes (maxResults 200), etag yes, sort yes, bulk no');
    // No pageSize in the config: the largest page the server admits (its maxResults).
    expect(r.out).toContain('sync: updates by PATCH, pages of 200, deprovision deactivate, If-Match on, budget unlimited');
    expect(r.out).toContain('✓ credential accepted; 1 user in the target (read Ada.Lovelace@example.com)');
    expect(r.out).toContain('✓ filter userName eq finds an existing user');
    expect(r.out).not.toContain('!');
    expect(h!.sandbox.requests.map((q) => `${q.method} ${q.path}`)).toEqual([
      'GET /ServiceProviderConfig',
      'GET /Users',
      'GET /ResourceTypes/User',
      'GET /Schemas',
      'GET /Users',
      'GET /Users',
      'GET /Users',
      'GET /Groups',
    ]);
    expect(h!.sandbox.requests.map((q) => new URLSearchParams(q.query).get('filter'))).toEqual([
      null,
      null,
      null,
      null,
      'userName eq "Ada.Lovelace@example.com"',
      'userName eq "scim-sync-check-no-such-user@invalid.example"',
      'userName eq "aDA.lOVELACE@EXAMPLE.COM"',
      null,
    ]);
  });

  it('aws: pages capped at 100, no If-Match, eq filter works', async () => {
    const r = await check({ profile: 'aws' }, '    profile: aws\n    pageSize: 500');
    expect(r.code, r.err + r.out).toBe(0);
    expect(r.out).toContain('sync: updates by PATCH, pages of 100, deprovision deactivate, If-Match off');
    expect(r.out).toContain('list pages capped at 100 (pageSize 500)');
    expect(r.out).toContain('· the profile says the server returns no group members: each managed group is asked about each linked user with a filter');
    expect(r.out).toContain('✓ filter userName eq finds an existing user');
  });

  it('github: creation budget reported, the User-Agent it requires is sent', async () => {
    const r = await check({ profile: 'github' }, '    profile: github');
    expect(r.code, r.err + r.out).toBe(0);
    expect(r.out).toContain('user creations: at most 1000 per 3600000 ms');
    expect(h!.sandbox.requests.every((q) => q.status === 200)).toBe(true);
  });

  it('slack: the organisation budget is reported', async () => {
    const r = await check({ profile: 'slack' }, '    profile: slack');
    expect(r.code, r.err + r.out).toBe(0);
    expect(r.out).toContain('budget 600/60000 ms');
  });

  it('entra-compatible: usable', async () => {
    const r = await check({ profile: 'entra-compatible' }, '    profile: entra-compatible');
    expect(r.code, r.err + r.out).toBe(0);
    expect(r.out).toContain('pages of 100');
  });

  it('warns when the server has no PATCH and refuses the userName filter', async () => {
    const r = await check({ behaviour: { supportsPatch: false, filterOperators: [] } }, '    adopt: userName');
    expect(r.code, r.err + r.out).toBe(0);
    expect(r.out).toContain('! no PATCH: updates and deactivations send PUT');
    expect(r.out).toMatch(/! filter userName eq "Ada.Lovelace@example.com" failed \(.*HTTP 400/);
  });

  it('warns when the server answers the userName filter with nothing (a filter it ignores)', async () => {
    const r = await check({ behaviour: { filterOperators: ['and'], filterErrorsAnswerEmpty: true } }, '');
    expect(r.code, r.err + r.out).toBe(0);
    expect(r.out).toContain('! filter userName eq "Ada.Lovelace@example.com" does not find that user: the server ignores the filter');
  });

  // Runs keep only real matches; check must not pass the filter because the first user answered is the one asked for.
  it('a server that ignores filters fails the filter check, with two users and with one', async () => {
    h = await Harness.start({ sandbox: { behaviour: { ignoreFilters: true } } });
    h.sandbox.store.createUser({ schemas: [SCHEMA_USER], userName: 'ada@example.com', active: true });
    const alone = await h.cli('check', '--config', h.configFile);
    expect(alone.out).toContain(
      '! filter userName eq "scim-sync-check-no-such-user@invalid.example" answers 1 of 1 users that do not carry it: the server ignores filters. ' +
        'Runs keep only the accounts that really match, so adoption and 409 recovery still work, but each lookup reads the whole user list',
    );
    h.sandbox.store.createUser({ schemas: [SCHEMA_USER], userName: 'bob@example.com', active: true });
    const two = await h.cli('check', '--config', h.configFile);
    expect(two.out).toContain('! filter userName eq "ada@example.com" answers 1 of 2 users that do not carry it: the server ignores filters.');
    for (const r of [alone, two]) {
      expect(r.code, r.err + r.out).toBe(0);
      expect(r.out).not.toContain('✓ filter');
    }
  });

  it('server values reach the terminal escaped and clipped, in the write probe too; --json keeps them whole', async () => {
    h = await Harness.start({});
    const hostile = `ada\u001b[2J\u001b[31mOWNED\u001b[0m${'x'.repeat(3000)}@example.com`;
    h.sandbox.store.createUser({ schemas: [SCHEMA_USER], userName: hostile, active: true });
    h.sandbox.addFault({ method: 'POST', path: '/Users', action: { type: 'status', status: 400, detail: 'nope\u001b[2J\u001b[1;1H✓ ALL CHECKS PASSED\u009b8m' } });
    const r = await h.cli('check', '--config', h.configFile, '--write-probe');
    expect(r.code).toBe(1);
    // No control character but the newlines between lines; C1 controls (0x9b is a one-byte CSI) included.
    expect(r.out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(r.out).toContain('(read ada\\u001b[2J\\u001b[31mOWNED\\u001b[0mxxx');
    expect(r.out).toMatch(/x… \(\d+ more characters\)/);
    expect(r.out).toContain('nope\\u001b[2J\\u001b[1;1H✓ ALL CHECKS PASSED\\u009b8m');
    const json = await h.cli('check', '--config', h.configFile, '--json');
    const [data] = JSON.parse(json.out) as [TargetCheck];
    expect(data.users?.sample?.userName).toBe(hostile);
  });

  it('points out a server that compares userName case-sensitively', async () => {
    const sensitive = await check({ behaviour: { userNameCaseExact: true } }, '');
    expect(sensitive.code).toBe(0);
    expect(sensitive.out).toContain('! the server compares userName case-sensitively');
    await h!.close();
    h = undefined;
    const declared = await check({ behaviour: { userNameCaseExact: true } }, '    quirks: { userNameCaseExact: true }');
    expect(declared.out).not.toContain('case-sensitively');
  });

  it('a server with /Bulk: used only when the target asks for it', async () => {
    const off = await check({ behaviour: { bulk: { maxOperations: 50, maxPayloadSize: 1_048_576 } } }, '');
    expect(off.out).toContain('server: patch yes, filter yes (maxResults 200), etag yes, sort yes, bulk yes');
    expect(off.out).toContain('· /Bulk supported (up to 50 operations); set quirks.bulk: auto to use it');
    await h!.close();
    h = undefined;
    const on = await check({ behaviour: { bulk: { maxOperations: 50, maxPayloadSize: 1_048_576 } } }, '    quirks: { bulk: auto }');
    expect(on.out).toContain('· /Bulk supported (up to 50 operations): user writes go in batches');
  });

  it('a server without /Groups: a warning naming the setting that avoids failing plans', async () => {
    h = await Harness.start({});
    h.sandbox.addFault({ method: 'GET', path: '/Groups', times: Infinity, action: { type: 'status', status: 404, detail: 'Endpoint Not Found' } });
    const r = await h.cli('check', '--config', h.configFile);
    expect(r.code).toBe(0);
    expect(r.out).toContain('! no /Groups endpoint (404): set groups.enabled: false for this target');
  });

  it('a target that holds no user: usable, the filter could not be tried', async () => {
    const r = await check({}, '', false);
    expect(r.code).toBe(0);
    expect(r.out).toContain('✓ credential accepted; 0 users in the target');
    expect(r.out).toContain('· the target holds no user');
  });

  it('an unreachable target: exit 1, not usable, named', async () => {
    h = await Harness.start({});
    const { createServer } = await import('node:net');
    const spare = createServer();
    await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
    const port = (spare.address() as { port: number }).port;
    await new Promise<void>((resolve) => spare.close(() => resolve()));
    const { readFileSync, writeFileSync } = await import('node:fs');
    writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace(h.sandbox.url, `http://127.0.0.1:${port}/scim/v2`).replace('concurrency: 4', 'concurrency: 4\n    retries: 1'));
    const r = await h.cli('check', '--config', h.configFile);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`✗ not usable: [TRANSIENT] cannot connect to 127.0.0.1:${port} (ECONNREFUSED) (target app, GET /ServiceProviderConfig)`);
  });

  it('a wrong token: exit 2, the target named, a clear message, the token nowhere', async () => {
    h = await Harness.start({});
    process.env['WRONG_TOKEN'] = 'wrong-token-8d7c6b5a';
    h.writeConfig('    profile: generic');
    const { readFileSync, writeFileSync } = await import('node:fs');
    writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('${env:TEST_SCIM_TOKEN}', '${env:WRONG_TOKEN}'));
    const r = await h.cli('check', '--config', h.configFile);
    expect(r.code).toBe(2);
    expect(r.out).toContain('Target app');
    expect(r.out).toMatch(/✗ credential refused: \[AUTH\] credential rejected \(HTTP 401\): the bearer token is not valid/);
    expect(r.out).toContain('check targets.app.auth');
    expect(r.err).toContain('error: credential refused by target app');
    expect(r.out + r.err).not.toContain('wrong-token-8d7c6b5a');
    expect(r.out + r.err).not.toContain(TOKEN);
  });
});

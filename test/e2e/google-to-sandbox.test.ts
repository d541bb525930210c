/**
 * Google Workspace -> sandbox through the CLI: the loopback Directory API stand-in as the source
 * (service account key from a file named in the config), people, groups and managers converge and
 * the second run writes nothing; a Directory API page that keeps failing stops the run before any
 * write, so nobody is deactivated; `provision` reads one person by id, never the whole directory.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { SCHEMA_ENTERPRISE_USER } from '../../src/model/scim.js';
import { ADMIN, FakeGoogle, sampleDirectory } from '../support/fake-google.js';
import { Harness } from '../support/harness.js';

let h: Harness;
let google: FakeGoogle;
beforeEach(async () => {
  h = await Harness.start();
  google = await FakeGoogle.start(sampleDirectory());
  writeFileSync(join(h.dir, 'service-account.json'), google.keyJson(), { mode: 0o600 });
  writeFileSync(
    h.configFile,
    `version: 1
state: { dir: state }
source:
  type: google
  credentials: \${file:service-account.json}
  subject: ${ADMIN}
  apiUrl: ${google.url}
  groups: { enabled: true }
safety:
  # The sample directory holds one broken record in six.
  maxInvalidRecordsPercent: 20
targets:
  app:
    url: ${h.sandbox.url}
    auth: { type: bearer, token: "\${env:TEST_SCIM_TOKEN}" }
`,
  );
});
afterEach(async () => {
  await google.stop();
  await h.close();
});

// The sample directory's broken record makes every read dirty: deprovisioning is held and the run
// exits 1 (everything else is applied).
it('people, groups and managers from Google Workspace converge; the second run writes nothing', async () => {
  const r = await h.run();
  expect(r.code, r.err + r.out).toBe(1);
  expect(r.out).toMatch(/held, not applied: nothing to deprovision this run: the source read reported 1 invalid record/);
  const users = h.sandbox.store.users();
  const byName = new Map(users.map((u) => [u['userName'] as string, u]));
  expect(byName.get('ada@example.com')).toMatchObject({ externalId: '101', active: true, name: { givenName: 'Ada', familyName: 'Lovelace' } });
  expect(byName.get('ada@example.com')![SCHEMA_ENTERPRISE_USER]).toMatchObject({ department: 'Eng', employeeNumber: 'E-101' });
  expect(byName.get('jose@example.com')![SCHEMA_ENTERPRISE_USER]).toMatchObject({ manager: { value: byName.get('ada@example.com')!['id'] } });
  expect(byName.get('kenji@example.com')!['displayName']).toBe('渡辺 健');
  expect(byName.has('sus@example.com') ? byName.get('sus@example.com')!['active'] : false).toBe(false);
  const eng = h.sandbox.store.groups().find((g) => g['displayName'] === 'Engineering')!;
  expect(((eng['members'] as { value: string }[]) ?? []).map((m) => m.value).sort()).toEqual([byName.get('ada@example.com')!['id'], byName.get('jose@example.com')!['id']].sort());

  h.sandbox.clearRequests();
  const again = await h.run();
  expect(again.code, again.err + again.out).toBe(1);
  expect(h.writes()).toEqual([]);
});

it('a Directory API page that keeps failing stops the run before any write: nobody is deactivated', async () => {
  expect((await h.run()).code).toBe(1);
  h.sandbox.clearRequests();
  // Asked to come back later than a read waits, so it gives up at once (a run cannot skip Google's backoff).
  google.faults.push({ path: '/admin/directory/v1/users', page: 1, status: 503, retryAfter: '3600', times: Infinity });
  const r = await h.run();
  expect(r.code).toBe(4);
  expect(r.err + r.out).toContain('Google Workspace: GET /admin/directory/v1/users: HTTP 503: Backend Error (Retry-After: 3600)');
  expect(h.writes()).toEqual([]);
  expect(h.sandbox.store.users().filter((u) => u['active'] === true).length).toBeGreaterThan(0);
}, 30_000);

it('provision reads one person by id, their manager by email and their groups by userKey: never the whole directory', async () => {
  const r = await h.cli('provision', '--config', h.configFile, '--user', '101');
  expect(r.code, r.err + r.out).toBe(0);
  const base = '/admin/directory/v1';
  expect(google.requests.map((q) => `${q.path}${q.query.has('userKey') ? `?userKey=${q.query.get('userKey')}` : ''}`)).toEqual([`${base}/users/101`, `${base}/groups?userKey=101`]);
  expect(h.sandbox.store.users().map((u) => u['userName'])).toEqual(['ada@example.com']);
  const eng = h.sandbox.store.groups().find((g) => g['displayName'] === 'Engineering')!;
  expect((eng['members'] as { value: string }[]).map((m) => m.value)).toEqual([h.sandbox.store.users()[0]!['id']]);

  // José's manager is Ada, by an alias: linked now, so the reference is set.
  google.requests.length = 0;
  const jose = await h.cli('provision', '--config', h.configFile, '--user', '102');
  expect(jose.code, jose.err + jose.out).toBe(0);
  expect(google.requests.map((q) => q.path)).toEqual([`${base}/users/102`, `${base}/users/ada.l%40example.com`, `${base}/groups`]);
  const byName = new Map(h.sandbox.store.users().map((u) => [u['userName'] as string, u]));
  expect(byName.get('jose@example.com')![SCHEMA_ENTERPRISE_USER]).toMatchObject({ manager: { value: byName.get('ada@example.com')!['id'] } });

  const none = await h.cli('provision', '--config', h.configFile, '--user', '999');
  expect(none.code).toBe(2);
  expect(none.err).toContain('no person with key "999" in the source');
});

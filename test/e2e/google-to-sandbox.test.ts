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
  writeConfig();
});
afterEach(async () => {
  await google.stop();
  await h.close();
});

/** `targetExtra`: lines of the app target's section, indented as its keys. */
function writeConfig(targetExtra = ''): void {
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
${targetExtra}`,
  );
}

const DIRECTORY = '/admin/directory/v1';
/** The Directory API requests since the last call, by path and userKey, sorted (a read asks some at once). */
const asked = () => google.requests.splice(0).map((q) => `${q.path.replace(DIRECTORY, '')}${q.query.has('userKey') ? `?userKey=${q.query.get('userKey')}` : ''}`).sort();
/** SCIM writes as method and resource type. */
const writes = () => h.writes().map((w) => `${w.method} /${w.path.split('/')[1]}`);
const userId = (email: string) => String(h.sandbox.store.users().find((u) => u['userName'] === email)!['id']);
const membersOf = (name: string) => ((h.sandbox.store.groups().find((g) => g['displayName'] === name)?.['members'] as { value: string }[] | undefined) ?? []).map((m) => m.value).sort();
/** Takes a member out of a group in the Google directory. */
const leave = (group: string, member: string) => {
  google.directory.members[group] = google.directory.members[group]!.filter((m) => m['id'] !== member);
};

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

it('provision reads one person by id, their manager by email, the group listing and the groups above theirs by userKey: never the whole directory', async () => {
  const r = await h.cli('provision', '--config', h.configFile, '--user', '101');
  expect(r.code, r.err + r.out).toBe(0);
  // Ada is in Engineering, which is in all@: one listing page, her groups, Engineering's, all@'s. No members.list.
  expect(asked()).toEqual(['/groups', '/groups?userKey=101', '/groups?userKey=all@example.com', '/groups?userKey=eng@example.com', '/users/101']);
  expect(h.sandbox.store.users().map((u) => u['userName'])).toEqual(['ada@example.com']);
  // groups.nested: direct, so all@ is not hers.
  expect(h.sandbox.store.groups().map((g) => g['displayName'])).toEqual(['Engineering']);
  expect(membersOf('Engineering')).toEqual([userId('ada@example.com')]);

  // José's manager is Ada, by an alias: linked now, so the reference is set.
  const jose = await h.cli('provision', '--config', h.configFile, '--user', '102');
  expect(jose.code, jose.err + jose.out).toBe(0);
  expect(asked()).toEqual(['/groups', '/groups?userKey=102', '/groups?userKey=all@example.com', '/groups?userKey=eng@example.com', '/users/102', '/users/ada.l%40example.com']);
  const byName = new Map(h.sandbox.store.users().map((u) => [u['userName'] as string, u]));
  expect(byName.get('jose@example.com')![SCHEMA_ENTERPRISE_USER]).toMatchObject({ manager: { value: byName.get('ada@example.com')!['id'] } });

  const none = await h.cli('provision', '--config', h.configFile, '--user', '999');
  expect(none.code).toBe(2);
  expect(none.err).toContain('no person with key "999" in the source');
});

it('provision takes a person out of a group they left in Google, and no one else (the next cycle has nothing to do); deprovision takes one deleted from Google out of every managed group', async () => {
  expect((await h.run()).code).toBe(1);
  const [ada, jose] = [userId('ada@example.com'), userId('jose@example.com')];
  expect(membersOf('Engineering')).toEqual([ada, jose].sort());
  leave('g1', '102');
  h.sandbox.clearRequests();
  const r = await h.cli('provision', '--config', h.configFile, '--user', '102');
  expect(r.code, r.err + r.out).toBe(0);
  expect(writes()).toEqual(['PATCH /Groups']);
  expect(h.writes()[0]!.body).toMatchObject({ Operations: [{ op: 'remove', path: `members[value eq "${jose}"]` }] });
  expect(membersOf('Engineering')).toEqual([ada]);
  h.sandbox.clearRequests();
  expect((await h.run()).code).toBe(1);
  expect(h.writes()).toEqual([]);

  // Ada is deleted from Google (and so from her groups), and cut off at once: out of Engineering, then deactivated.
  google.directory.users.splice(0, 1);
  leave('g1', '101');
  h.sandbox.clearRequests();
  const gone = await h.cli('deprovision', '--config', h.configFile, '--user', '101', '--reason', 'left');
  expect(gone.code, gone.err + gone.out).toBe(0);
  expect(writes()).toEqual(['PATCH /Groups', 'PATCH /Users']);
  expect(membersOf('Engineering')).toEqual([]);
  expect(h.sandbox.store.users().find((u) => u['id'] === ada)!['active']).toBe(false);
});

it('with groups.nested: flatten, provision puts a person in the groups around theirs (created if missing) and takes them out of those they left with an inner one', async () => {
  writeConfig('    groups: { nested: flatten }');
  // Ada alone, on an empty target: Engineering and all@ (which holds Engineering) are made, with her in both.
  const r = await h.cli('provision', '--config', h.configFile, '--user', '101');
  expect(r.code, r.err + r.out).toBe(0);
  expect(writes()).toEqual(['POST /Users', 'POST /Groups', 'POST /Groups', 'PATCH /Groups', 'PATCH /Groups']);
  const ada = userId('ada@example.com');
  expect(membersOf('Engineering')).toEqual([ada]);
  expect(membersOf('all@example.com')).toEqual([ada]);

  expect((await h.run()).code).toBe(1);
  const [jose, kenji] = [userId('jose@example.com'), userId('kenji@example.com')];
  expect(membersOf('all@example.com')).toEqual([ada, jose, kenji].sort());

  // A newcomer in Engineering is in all@ too.
  google.directory.users.push({ id: '107', primaryEmail: 'grace@example.com', name: { givenName: 'Grace', familyName: 'Hopper' }, suspended: false, archived: false });
  google.directory.members['g1']!.push({ id: '107', email: 'grace@example.com', type: 'USER' });
  h.sandbox.clearRequests();
  const grace = await h.cli('provision', '--config', h.configFile, '--user', '107');
  expect(grace.code, grace.err + grace.out).toBe(0);
  expect(writes()).toEqual(['POST /Users', 'PATCH /Groups', 'PATCH /Groups']);
  const graceId = userId('grace@example.com');
  expect(membersOf('Engineering')).toEqual([ada, jose, graceId].sort());
  expect(membersOf('all@example.com')).toEqual([ada, jose, kenji, graceId].sort());

  // Ada leaves Engineering, so all@ too; Kenji, in all@ himself, stays.
  leave('g1', '101');
  h.sandbox.clearRequests();
  const left = await h.cli('provision', '--config', h.configFile, '--user', '101');
  expect(left.code, left.err + left.out).toBe(0);
  expect(writes()).toEqual(['PATCH /Groups', 'PATCH /Groups']);
  for (const w of h.writes()) expect(w.body).toMatchObject({ Operations: [{ op: 'remove', path: `members[value eq "${ada}"]` }] });
  expect(membersOf('Engineering')).toEqual([jose, graceId].sort());
  expect(membersOf('all@example.com')).toEqual([jose, kenji, graceId].sort());

  h.sandbox.clearRequests();
  expect((await h.run()).code).toBe(1);
  expect(h.writes()).toEqual([]);
});

/** True once `check` holds, false if it has not after `ms` (asked every 10 ms). */
async function within(ms: number, check: () => boolean): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 10))) if (check()) return true;
  return check();
}

const userListing = () => h.sandbox.requests.some((q) => q.method === 'GET' && q.path === '/Users' && !new URLSearchParams(q.query).has('filter'));

it('the target is listed while the directory is still being read: a slow source and a slow app cost the longer of the two, not their sum', async () => {
  let answer!: () => void;
  google.usersHeld = new Promise((resolve) => (answer = resolve));
  const run = h.cli('run', '--config', h.configFile);
  // The directory answers nothing until the app has been asked for its accounts.
  const listedFirst = await within(10_000, userListing);
  answer();
  const r = await run;
  expect(listedFirst).toBe(true);
  // 1: the sample's broken record holds deprovisioning; everything else is applied.
  expect(r.code, r.err + r.out).toBe(1);
  expect(h.sandbox.store.users().map((u) => u['userName'])).toContain('ada@example.com');
});

it('a directory read that fails after the target\'s listing began: nothing is written, and the run says why', async () => {
  let answer!: () => void;
  google.usersHeld = new Promise((resolve) => (answer = resolve));
  const run = h.cli('run', '--config', h.configFile);
  const listedFirst = await within(10_000, userListing);
  // A refusal that is not retried: the whole read fails.
  google.faults.push({ path: `${DIRECTORY}/users`, page: 0, status: 403, reason: 'forbidden', times: 1 });
  answer();
  const r = await run;
  expect(listedFirst).toBe(true);
  expect(r.code).not.toBe(0);
  expect(r.err + r.out).toMatch(/403|forbidden|not authorized/i);
  expect(h.writes()).toEqual([]);
  expect(h.sandbox.requests.every((q) => q.method === 'GET')).toBe(true);
});


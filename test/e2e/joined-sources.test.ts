/**
 * An HR CSV (primary) joined to the test slapd (secondary) on employee number, synced to the sandbox
 * through the CLI: the merged person reaches the target; changing precedence changes what is sent;
 * a person missing from LDAP is reported and provisioned with the CSV's values; LDAP's groups are
 * provisioned with members mapped to the CSV's people; a failed LDAP read, or one that finds no one,
 * stops the cycle before any write.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GROUPS, PEOPLE } from '../support/ldap-fixtures.js';
import { directoryAndHarness } from '../support/fixture-directory.js';
import { serveCommand } from '../../src/cli/serve-command.js';
import { loadConfig } from '../../src/config/load.js';
import { createChangeFeed } from '../../src/sources/create-change-feed.js';
import { createSource } from '../../src/sources/create-source.js';
import { FileFeedTokenStore } from '../../src/state/feed-tokens.js';
import { TOKEN, type Harness } from '../support/harness.js';
import { Batches, startTestService } from '../support/service.js';
import { freePort, READER_DN, READER_PASSWORD, type Slapd } from '../support/slapd.js';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

// zoe, jose and kenji are in the fixture directory as employeeNumber 1001-1003; nadia (1009) is not.
// The manager column is empty: LDAP's manager references are taken, mapped to the CSV's keys.
const HR = `employee_id,emp_no,email,first_name,last_name,title,manager_id
E1001,1001,zoe@example.com,Zoë,Ångström,Chief Technology Officer,
E1002,1002,jose@example.com,José,Müller,,
E1003, 1003 ,kenji@example.com,Kenji,Watanabe,Staff Engineer,
E1009,1009,nadia@example.com,Nadia,Haddad,Designer,
`;

/** A source of the test slapd, as a `sources:` entry's body (indented by 4), with its `users:`. */
function ldapSource(url: string, users: string): string {
  return `    type: ldap
    url: ${url}
    startTls: false
    bind: { dn: "${READER_DN}", password: "\${env:TEST_LDAP_PASSWORD}" }
    users: ${users}`;
}

function writeJoinConfig(h: Harness, ldapUrl: string, join: { precedence?: string; groups?: string; hr?: string; groupFilter?: string; peopleBase?: string } = {}): void {
  writeFileSync(
    h.configFile,
    `version: 1
state:
  dir: state
sources:
  hr:
    type: csv
    path: hr.csv
    key: employee_id
    columns: { userName: email, email: email, givenName: first_name, familyName: last_name, title: title }
    manager: manager_id
${join.hr ?? ''}
  ldap:
${ldapSource(ldapUrl, `{ base: "${join.peopleBase ?? PEOPLE}", disabled: { attribute: employeeType, values: [terminated] } }`)}
    groups: { base: "${GROUPS}", filter: "${join.groupFilter ?? '(cn=engineering)'}" }
join:
  primary: hr
  secondaries:
    ldap: { on: [emp_no, employeeNumber] }
${join.precedence ?? ''}
${join.groups ?? ''}
targets:
  app:
    url: ${h.sandbox.url}
    auth: { type: bearer, token: "\${env:TEST_SCIM_TOKEN}" }
`,
  );
  process.env['TEST_LDAP_PASSWORD'] = READER_PASSWORD;
}

describe('a CSV joined to LDAP', () => {
  let slapd: Slapd;
  let h: Harness;
  directoryAndHarness((started, harness) => {
    [slapd, h] = [started, harness];
    writeFileSync(join(h.dir, 'hr.csv'), HR);
  });

  it('validate describes the join', async () => {
    writeJoinConfig(h, slapd.url, { groups: '  groups: [ldap]' });
    const r = await h.cli('validate', '--config', h.configFile);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('valid (sources hr (csv, primary) + ldap (ldap, on hr.emp_no = ldap.employeeNumber); groups from ldap, 1 target: app)');
  });

  it('a join key no source offers is a config problem with its path, before any target is read', async () => {
    writeJoinConfig(h, slapd.url);
    writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('[emp_no, employeeNumber]', '[emp_no, employeeNo]'));
    const r = await h.cli('validate', '--config', h.configFile);
    expect(r.code).toBe(2);
    expect(r.err).toContain('join.secondaries.ldap.on[1]: ldap offers no attribute "employeeNo"');
  });

  it('syncs the merged people; precedence decides what is sent; a person missing from LDAP is reported and keeps the CSV values', async () => {
    writeJoinConfig(h, slapd.url);
    const first = await h.run();
    expect(first.code, first.err + first.out).toBe(0);
    const users = () => new Map(h.sandbox.store.users().map((u) => [String(u['externalId']), u]));
    const zoe = users().get('E1001')!;
    // The CSV's values first (userName, title), LDAP's where the CSV has none (phone, department).
    expect(zoe['userName']).toBe('zoe@example.com');
    expect(zoe['title']).toBe('Chief Technology Officer');
    expect(zoe['phoneNumbers']).toEqual([expect.objectContaining({ type: 'work', value: '+33 1 23 45 67 89' })]);
    expect((zoe[ENTERPRISE] as Record<string, unknown>)['department']).toBe('Engineering');
    // jose's title is empty in the CSV: LDAP's. kenji's " 1003 " joins on the trimmed value.
    expect(users().get('E1002')!['title']).toBe('Engineer');
    expect((users().get('E1003')![ENTERPRISE] as Record<string, unknown>)['department']).toBe('Engineering');
    // jose's manager is zoe in LDAP: mapped to zoe's CSV key, so the reference is zoe's account.
    expect((users().get('E1002')![ENTERPRISE] as { manager?: { value: string } }).manager?.value).toBe(String(zoe['id']));
    // nadia is only in the CSV: provisioned with its values, and reported.
    const nadia = users().get('E1009')!;
    expect(nadia).toMatchObject({ userName: 'nadia@example.com', title: 'Designer', active: true });
    expect(nadia['phoneNumbers']).toBeUndefined();
    const missing = "ldap: 1 of 4 people of hr have no record here (hr.emp_no = ldap.employeeNumber); they have the other sources' values; what this source lends them is unknown, not empty: no value of an account they have is cleared, and a scope they fall out of does not deprovision them: E1009";
    expect(first.out).toContain(missing);
    expect(first.out).toContain('ldap: 2 of 5 records match no person of hr (hr.emp_no = ldap.employeeNumber) and are ignored');
    const plan = await h.cli('plan', '--config', h.configFile, '--json');
    expect(plan.code, plan.err).toBe(0);
    const json = JSON.parse(plan.out) as { source: { description: string; warnings?: string[] } };
    expect(json.source.warnings).toContain(missing);
    expect(json.source.description).toMatch(/^joined hr=csv:.*hr\.csv \+ ldap=ldap:ldap:\/\/127\.0\.0\.1:\d+\/ou=people/);

    // LDAP first for titles: zoe's and kenji's titles change, one PATCH each; jose's and nadia's stay.
    writeJoinConfig(h, slapd.url, { precedence: '  precedence: { title: [ldap, hr] }' });
    h.sandbox.clearRequests();
    const second = await h.run();
    expect(second.code, second.err + second.out).toBe(0);
    const zoeId = String(zoe['id']);
    const kenjiId = String(users().get('E1003')!['id']);
    expect(h.writes().map((w) => `${w.method} ${w.path}`).sort()).toEqual([`PATCH /Users/${kenjiId}`, `PATCH /Users/${zoeId}`].sort());
    const patch = h.writes().find((w) => w.path === `/Users/${zoeId}`)!.body as { Operations: { op: string; path?: string; value: unknown }[] };
    expect(patch.Operations).toEqual([expect.objectContaining({ op: 'replace', path: 'title', value: 'CTO' })]);
    expect(users().get('E1001')!['title']).toBe('CTO');
    expect(users().get('E1003')!['title']).toBe('Engineer');
    expect(users().get('E1009')!['title']).toBe('Designer');
  });

  it('one person (explain, provision): read through the join, manager and groups kept, a change in LDAP one PATCH', async () => {
    writeJoinConfig(h, slapd.url, { precedence: '  precedence: { title: [ldap, hr] }', groups: '  groups: [ldap]' });
    expect((await h.run()).code).toBe(0);
    const account = (key: string) => h.sandbox.store.users().find((u) => u['externalId'] === key)!;
    // jose's manager (zoe) and group (engineering) come from LDAP, mapped through the CSV's people: in sync, nothing to do.
    const explained = await h.cli('explain', '--config', h.configFile, '--user', 'E1002', '--json');
    expect(explained.code, explained.err).toBe(0);
    expect((JSON.parse(explained.out) as { targets: { operations: unknown[] }[] }).targets[0]!.operations).toEqual([]);
    await slapd.modify(`dn: uid=kenji,${PEOPLE}\nchangetype: modify\nreplace: title\ntitle: Principal\n`);
    try {
      h.sandbox.clearRequests();
      const r = await h.cli('provision', '--config', h.configFile, '--user', 'E1003');
      expect(r.code, r.err + r.out).toBe(0);
      expect(h.writes().map((w) => `${w.method} ${w.path}`)).toEqual([`PATCH /Users/${String(account('E1003')['id'])}`]);
      expect(account('E1003')['title']).toBe('Principal');
    } finally {
      await slapd.modify(`dn: uid=kenji,${PEOPLE}\nchangetype: modify\nreplace: title\ntitle: Engineer\n`);
    }
  });

  it("serve: the primary's feed names the changed person, read through the join (LDAP's values along)", async () => {
    writeJoinConfig(h, slapd.url, { hr: '    changes: { settleMs: 50 }' });
    expect((await h.run()).code).toBe(0);
    const loaded = loadConfig(h.configFile);
    const feed = createChangeFeed(loaded.config.source, loaded.config.safety, new FileFeedTokenStore(loaded.stateDir))!;
    expect(feed.feed.description).toContain('hr.csv');
    const baseline = await feed.feed.poll();
    await baseline!.commit();
    const batches = new Batches();
    const s = await startTestService(h, { feeds: [feed], onBatch: batches.listener });
    try {
      await s.firstCycle;
      h.sandbox.clearRequests();
      const next = batches.next();
      // zoe's title is emptied in the CSV: LDAP's (CTO) is what the batch sends.
      writeFileSync(join(h.dir, 'hr.csv'), HR.replace('Chief Technology Officer', ''));
      const batch = await next;
      expect(batch.keys).toEqual(['E1001']);
      const zoe = h.sandbox.store.users().find((u) => u['externalId'] === 'E1001')!;
      expect(h.writes().map((w) => `${w.method} ${w.path}`)).toEqual([`PATCH /Users/${String(zoe['id'])}`]);
      expect(zoe['title']).toBe('CTO');
    } finally {
      await s.stop();
    }
  });

  it('serve says at start that only the primary is watched', async () => {
    writeJoinConfig(h, slapd.url);
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const lines: string[] = [];
    const io = { out: (l: string) => void (lines.push(l), l.includes('serving on') && stop()), err: (l: string) => void lines.push(l) };
    process.env['TEST_SCIM_TOKEN'] = TOKEN;
    const code = await serveCommand({ config: h.configFile, listen: '127.0.0.1:0' }, io, stopped);
    expect(code, lines.join('\n')).toBe(0);
    expect(lines.find((l) => l.includes('serving on'))).toMatch(
      /watching csv:.*hr\.csv .*; joined sources: only the primary hr is watched, a change in ldap alone reaches the targets at the next full cycle$/,
    );
  });

  it("LDAP's groups, with members mapped to the CSV's people (those outside the CSV left out, counted)", async () => {
    // kenji is in LDAP's engineering but not in the CSV: not a person, so not a member.
    writeFileSync(join(h.dir, 'hr.csv'), HR.split('\n').filter((l) => !l.startsWith('E1003')).join('\n'));
    writeJoinConfig(h, slapd.url, { groups: '  groups: [ldap]' });
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(0);
    const idOf = (key: string) => String(h.sandbox.store.users().find((u) => u['externalId'] === key)!['id']);
    const engineering = h.sandbox.store.findGroupByDisplayName('engineering')!;
    expect(String(engineering['externalId'])).toMatch(/^[0-9a-f-]{36}$/); // LDAP's key for the group
    expect((engineering['members'] as { value: string }[]).map((m) => m.value).sort()).toEqual([idOf('E1001'), idOf('E1002')].sort());
    expect(r.out).toContain('ldap: 1 group membership left out: the member is not joined to a person of hr');
    // olga, outside the people base, is LDAP's own report; no other member reaches the planner unjoined.
    expect(r.out).toContain('ldap: cn=engineering,ou=groups,dc=example,dc=com: 1 member dropped, not among the users read');
    expect(r.out).not.toMatch(/members? dropped, not among the users read(?! \(outside)/);
  });

  it("the secondary's invalid records count against the safety threshold: the cycle stops before any write", async () => {
    // The loop-a/loop-b cycle is an invalid LDAP record: 1 of 13 records read (4 CSV rows, 9 LDAP entries), over the default 5%.
    writeJoinConfig(h, slapd.url, { groupFilter: '(objectClass=groupOfNames)' });
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(3);
    expect(r.out + r.err).toMatch(/ldap: .*cycle/i);
    expect(r.out + r.err).toMatch(/1 of 13 source records are invalid \(7\.7%, limit 5%\)/);
    expect(h.writes()).toEqual([]);
  });

  it('a failed LDAP read stops the cycle with the source named, and writes nothing', async () => {
    writeJoinConfig(h, slapd.url);
    expect((await h.run()).code).toBe(0);
    // nadia leaves the CSV, and LDAP cannot be read: no deactivation, no write at all.
    writeFileSync(join(h.dir, 'hr.csv'), HR.split('\n').filter((l) => !l.startsWith('E1009')).join('\n'));
    writeJoinConfig(h, `ldap://127.0.0.1:${await freePort()}`);
    h.sandbox.clearRequests();
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(4);
    expect(r.err).toMatch(/\[SOURCE\] sources\.ldap \(ldap:ldap:\/\/127\.0\.0\.1:\d+\/ou=people,dc=example,dc=com\): /);
    expect(r.err).toContain('Nothing was written.');
    expect(r.err + r.out).not.toContain(READER_PASSWORD);
    expect(h.writes()).toEqual([]);
    expect(h.sandbox.store.users().find((u) => u['externalId'] === 'E1009')!['active']).toBe(true);
  });

  it("LDAP answering with no one (a wrong base, an emptied directory) is an outage, not everyone missing: nothing is written", async () => {
    writeJoinConfig(h, slapd.url);
    expect((await h.run()).code).toBe(0);
    writeJoinConfig(h, slapd.url, { peopleBase: GROUPS });
    h.sandbox.clearRequests();
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(4);
    expect(r.err).toContain('sources.ldap: 4 of 4 people of hr (100.0%) have no record in ldap (hr.emp_no = ldap.employeeNumber; 0 records read)');
    expect(h.writes()).toEqual([]);
  });

  it('LDAP + LDAP: two reads of one directory at once, the second lending what the first does not map', async () => {
    writeFileSync(
      h.configFile,
      `sources:
  people:
${ldapSource(slapd.url, `{ base: "${PEOPLE}", attributes: { userName: mail, title: null } }`)}
  titles:
${ldapSource(slapd.url, `{ base: "${PEOPLE}", attributes: { userName: null, jobTitle: title } }`)}
join:
  primary: people
  secondaries: { titles: { on: [employeeNumber, employeeNumber] } }
targets:
  app: { url: "${h.sandbox.url}", auth: { type: bearer, token: "\${env:TEST_SCIM_TOKEN}" } }
`,
    );
    const source = createSource(loadConfig(h.configFile, { TEST_LDAP_PASSWORD: READER_PASSWORD, TEST_SCIM_TOKEN: TOKEN }).config.source);
    const snapshot = await source.read();
    const jose = snapshot.users.find((u) => u.attributes['employeeNumber'] === '1002')!;
    expect(jose.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(jose.attributes).toMatchObject({ jobTitle: 'Engineer', userName: ['jose@example.com', 'j.mueller@example.com'] });
    expect(jose.attributes['title']).toBe('Engineer'); // people maps no title (null): titles' default mapping lends it
    const one = await source.readOne(jose.key);
    expect(one.users).toEqual([jose]);
  });
});

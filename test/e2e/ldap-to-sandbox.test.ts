/**
 * LDAP -> sandbox through the CLI, in-process: a full sync converges and the second run sends
 * nothing; a change in LDAP reaches the target; a person moved out of the search base is deactivated;
 * and slapd killed in the middle of a read stops the run before any write (exit 4).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, Socket, type Server } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createChangeFeed } from '../../src/sources/create-change-feed.js';
import { FileFeedTokenStore } from '../../src/state/feed-tokens.js';
import { bulkPeopleLdif, directoryLdif, GROUPS, PEOPLE } from '../support/ldap-fixtures.js';
import { directoryAndHarness } from '../support/fixture-directory.js';
import { Harness } from '../support/harness.js';
import { startTestService, type RunningService } from '../support/service.js';
import { BASE_DN, READER_DN, READER_PASSWORD, Slapd } from '../support/slapd.js';

function writeLdapConfig(h: Harness, url: string, pageSize: number, groups = '', mapping = ''): void {
  writeFileSync(
    h.configFile,
    `version: 1
state:
  dir: state
source:
  type: ldap
  url: ${url}
  startTls: false
  bind:
    dn: ${READER_DN}
    password: "\${env:TEST_LDAP_PASSWORD}"
  pageSize: ${pageSize}
  users:
    base: ${PEOPLE}
    attributes: { userName: mail }
    disabled: { attribute: employeeType, values: [terminated] }
${groups}
targets:
  app:
    url: ${h.sandbox.url}
    auth: { type: bearer, token: "\${env:TEST_SCIM_TOKEN}" }
${mapping}`,
  );
  process.env['TEST_LDAP_PASSWORD'] = READER_PASSWORD;
}

function activeUserNames(h: Harness): string[] {
  return h.sandbox.store
    .users()
    .filter((u) => u['active'] !== false)
    .map((u) => String(u['userName']))
    .sort();
}

describe('a directory kept in sync', () => {
  let slapd: Slapd;
  let h: Harness;
  directoryAndHarness((started, harness) => {
    [slapd, h] = [started, harness];
    // Three entries per page: the five fixture people take two pages. The cyclic groups are left out
    // here (a cycle is an invalid record, and 1 of 10 records would pass the 5% threshold).
    writeLdapConfig(h, slapd.url, 3, `  groups: { base: "${GROUPS}", filter: "(&(objectClass=groupOfNames)(!(cn=loop-*)))" }`);
  });

  it('validate names the ldap source', async () => {
    const r = await h.cli('validate', '--config', h.configFile);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('valid (source ldap, 1 target: app)');
  });

  it("check reads the directory's schema: an attribute name it does not define (a typo that would read as empty on everyone) is an error with the nearest name", async () => {
    const clean = await h.cli('check', '--config', h.configFile);
    expect(clean.code, clean.err + clean.out).toBe(0);
    expect(clean.err).not.toContain('does not define');
    const written = readFileSync(h.configFile, 'utf8');
    writeFileSync(h.configFile, written.replace('attributes: { userName: mail }', 'attributes: { userName: mail, title: titel }').replace('attribute: employeeType,', 'attribute: employeType,'));
    const r = await h.cli('check', '--config', h.configFile);
    expect(r.code).toBe(1);
    expect(r.err).toContain('source.users.attributes.title: "titel" is not an attribute this directory defines (did you mean "title"?)');
    expect(r.err).toContain('source.users.disabled.attribute: "employeType" is not an attribute this directory defines (did you mean "employeeType"?)');
    expect(r.err).not.toContain('userName');
  });

  it('validate refuses a disabled rule that reads nothing, and an LDAP filter that is not one, by its path', async () => {
    const written = readFileSync(h.configFile, 'utf8');
    const validate = async (from: string, to: string) => {
      expect(written).toContain(from);
      writeFileSync(h.configFile, written.replace(from, to));
      return h.cli('validate', '--config', h.configFile);
    };
    const rule = 'disabled: { attribute: employeeType, values: [terminated] }';
    // Both read as "nobody is disabled": every leaver kept in the directory would be re-activated.
    let r = await validate(rule, 'disabled: { values: [terminated] }');
    expect(r.code, r.out).toBe(2);
    expect(r.err).toContain('source.users.disabled.values (line 15): values are values of `attribute`: give the attribute they are read from');
    r = await validate(rule, 'disabled: {}');
    expect(r.code, r.out).toBe(2);
    expect(r.err).toContain('source.users.disabled (line 15): names no rule: give attribute (with values), filter or userAccountControl: true');
    // ldapts reads this one leniently; combined with the user filter, every read failed.
    r = await validate(rule, 'disabled: { filter: "employeeType=terminated" }');
    expect(r.code, r.out).toBe(2);
    expect(r.err).toContain(
      'source.users.disabled.filter (line 15): not an LDAP filter: expected "(" (every filter and sub-filter is written in parentheses, e.g. (employeeType=terminated)) at character 1, found "e"',
    );
    r = await validate('(&(objectClass=groupOfNames)(!(cn=loop-*)))', '(&(objectClass=groupOfNames)(!(cn=loop-*))');
    expect(r.code, r.out).toBe(2);
    expect(r.err).toContain('source.groups.filter (line 16): not an LDAP filter: expected ")" at character 43, found the end');
    r = await validate(`base: ${PEOPLE}\n`, `base: ${PEOPLE}\n    filter: "(title=R&D (EMEA))"\n`);
    expect(r.code, r.out).toBe(2);
    expect(r.err).toContain('source.users.filter (line 14): not an LDAP filter: a "(" in a value must be written \\28 at character 12, found "("');
    r = await validate(rule, 'disabled: { filter: "(|(employeeType=terminated)(userAccountControl:1.2.840.113556.1.4.803:=2))" }');
    expect(r.code, r.err).toBe(0);
  });

  it('converges, and the second run sends no write', async () => {
    const first = await h.run();
    expect(first.code, first.err + first.out).toBe(0);
    // bob has no mail (no userName), carol is disabled: neither is created.
    expect(activeUserNames(h)).toEqual(['jose@example.com', 'kenji@example.com', 'zoe@example.com']);
    const jose = h.sandbox.store.findUserByUserName('jose@example.com')!;
    expect(jose['name']).toMatchObject({ givenName: 'José', familyName: 'Müller' });
    expect(jose['emails']).toEqual([expect.objectContaining({ type: 'work', value: 'jose@example.com' })]);
    expect(String(jose['externalId'])).toMatch(/^[0-9a-f-]{36}$/);
    expect(h.sandbox.store.findUserByUserName('kenji@example.com')!['displayName']).toBe('渡辺 健');
    // Groups, through the planner: members are the provisioned people (olga is outside the base).
    const idsOf = (names: string[]) => names.map((n) => String(h.sandbox.store.findUserByUserName(n)!['id'])).sort();
    const engineering = h.sandbox.store.findGroupByDisplayName('engineering')!;
    expect(((engineering['members'] as { value: string }[]) ?? []).map((m) => m.value).sort()).toEqual(idsOf(['jose@example.com', 'kenji@example.com', 'zoe@example.com']));
    expect(first.out).toContain('1 member dropped, not among the users read');
    h.sandbox.clearRequests();
    const second = await h.run();
    expect(second.code, second.err + second.out).toBe(0);
    expect(h.writes()).toEqual([]);
  });

  it('every mail reaches emails with its type, and the second run writes nothing', async () => {
    writeLdapConfig(h, slapd.url, 3, '', '    mapping:\n      emails: { values: "{email}", types: [work, other] }\n');
    const first = await h.run();
    expect(first.code, first.err + first.out).toBe(0);
    const jose = h.sandbox.store.findUserByUserName('jose@example.com')!;
    expect(jose['emails']).toEqual([
      { value: 'jose@example.com', type: 'work', primary: true },
      { value: 'j.mueller@example.com', type: 'other' },
    ]);
    expect(h.sandbox.store.findUserByUserName('zoe@example.com')!['emails']).toEqual([{ value: 'zoe@example.com', type: 'work', primary: true }]);
    // The target hands the entries back in another order with a sub-attribute of its own: still no change.
    h.sandbox.store.updateUser(String(jose['id']), { emails: [{ value: 'J.Mueller@example.com', type: 'other', display: 'J. Müller' }, { value: 'jose@example.com', type: 'work', primary: true }] });
    h.sandbox.clearRequests();
    const second = await h.run();
    expect(second.code, second.err + second.out).toBe(0);
    expect(h.writes()).toEqual([]);
    // A mail added in the directory is added in the target: one PATCH of emails.
    await slapd.modify(`dn: uid=zoe,${PEOPLE}\nchangetype: modify\nadd: mail\nmail: z.angstrom@example.com\n`);
    try {
      h.sandbox.clearRequests();
      const third = await h.run();
      expect(third.code, third.err + third.out).toBe(0);
      const zoe = h.sandbox.store.findUserByUserName('zoe@example.com')!;
      expect(h.writes().map((w) => `${w.method} ${w.path}`)).toEqual([`PATCH /Users/${String(zoe['id'])}`]);
      expect(zoe['emails']).toEqual([
        { value: 'zoe@example.com', type: 'work', primary: true },
        { value: 'z.angstrom@example.com', type: 'other' },
      ]);
    } finally {
      await slapd.modify(`dn: uid=zoe,${PEOPLE}\nchangetype: modify\ndelete: mail\nmail: z.angstrom@example.com\n`);
    }
  });

  it('a changed attribute reaches the target; a person moved out of the base is deactivated', async () => {
    expect((await h.run()).code).toBe(0);
    const zoeId = String(h.sandbox.store.findUserByUserName('zoe@example.com')!['id']);
    const kenjiId = String(h.sandbox.store.findUserByUserName('kenji@example.com')!['id']);
    await slapd.modify(`dn: uid=zoe,${PEOPLE}\nchangetype: modify\nreplace: title\ntitle: Chief Scientist\n`);
    await slapd.modify(`dn: uid=kenji,${PEOPLE}\nchangetype: modrdn\nnewrdn: uid=kenji\ndeleteoldrdn: 1\nnewsuperior: ou=former,${BASE_DN}\n`);
    try {
      h.sandbox.clearRequests();
      const r = await h.run();
      expect(r.code, r.err + r.out).toBe(0);
      const engineering = h.sandbox.store.findGroupByDisplayName('engineering')!;
      // kenji leaves the group he is no longer a provisioned member of.
      expect(h.writes().map((w) => `${w.method} ${w.path}`).sort()).toEqual(
        [`PATCH /Users/${kenjiId}`, `PATCH /Users/${zoeId}`, `PATCH /Groups/${String(engineering['id'])}`].sort(),
      );
      expect((engineering['members'] as { value: string }[]).map((m) => m.value)).not.toContain(kenjiId);
      expect(h.sandbox.store.findUserByUserName('zoe@example.com')!['title']).toBe('Chief Scientist');
      expect(h.sandbox.store.findUserByUserName('kenji@example.com')!['active']).toBe(false);
      expect(activeUserNames(h)).toEqual(['jose@example.com', 'zoe@example.com']);
    } finally {
      // Put the directory back for the tests after this one.
      await slapd.modify(`dn: uid=zoe,${PEOPLE}\nchangetype: modify\nreplace: title\ntitle: CTO\n`);
      await slapd.modify(`dn: uid=kenji,ou=former,${BASE_DN}\nchangetype: modrdn\nnewrdn: uid=kenji\ndeleteoldrdn: 1\nnewsuperior: ${PEOPLE}\n`);
    }
  });
});

/**
 * A TCP relay in front of slapd. Once armed, it kills slapd (SIGKILL) when `killAfterBytes` of answer
 * have gone through, and then drops the client like the dead server's socket would.
 */
class KillingRelay {
  private server!: Server;
  private readonly sockets = new Set<Socket>();
  armed = false;
  killed = false;
  port = 0;

  constructor(
    private readonly slapd: Slapd,
    private readonly upstreamPort: number,
    private readonly killAfterBytes: number,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = new Socket();
      let relayed = 0;
      this.sockets.add(client).add(upstream);
      upstream.connect(this.upstreamPort, '127.0.0.1');
      client.on('data', (d: Buffer) => upstream.write(d));
      upstream.on('data', (d: Buffer) => {
        client.write(d);
        relayed += d.length;
        if (this.armed && !this.killed && relayed >= this.killAfterBytes) {
          this.killed = true;
          void this.slapd.kill();
        }
      });
      const closeBoth = () => {
        client.destroy();
        upstream.destroy();
      };
      upstream.on('close', closeBoth).on('error', closeBoth);
      client.on('close', closeBoth).on('error', closeBoth);
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

describe('slapd killed in the middle of a read', () => {
  let slapd: Slapd;
  let h: Harness;
  let relay: KillingRelay;
  beforeAll(async () => {
    slapd = await Slapd.start();
    await slapd.add(directoryLdif());
    await slapd.add(bulkPeopleLdif(300));
  });
  afterAll(async () => {
    await relay?.close();
    await h?.close();
    await slapd?.stop();
  });

  it('exits 4 with the source named, and writes nothing: no deactivation', async () => {
    h = await Harness.start();
    relay = new KillingRelay(slapd, Number(new URL(slapd.url).port), 20_000);
    await relay.start();
    writeLdapConfig(h, `ldap://127.0.0.1:${relay.port}`, 20);
    const first = await h.run();
    expect(first.code, first.err + first.out).toBe(0);
    expect(activeUserNames(h)).toHaveLength(303);

    relay.armed = true;
    h.sandbox.clearRequests();
    const r = await h.run();
    expect(relay.killed).toBe(true);
    expect(r.code).toBe(4);
    expect(r.err).toMatch(/\[SOURCE\] LDAP ldap:\/\/127\.0\.0\.1:\d+: search base "ou=people,dc=example,dc=com" .*(connection|closed)/i);
    expect(r.err).toContain('Nothing was written.');
    expect(r.err + r.out).not.toContain(READER_PASSWORD);
    expect(h.writes()).toEqual([]);
    expect(activeUserNames(h)).toHaveLength(303);
  });
});

describe("serve's change feed after an entry stamped in the future", () => {
  let slapd: Slapd;
  let h: Harness;
  let s: RunningService | undefined;
  directoryAndHarness((started, harness) => {
    [slapd, h] = [started, harness];
    writeLdapConfig(h, slapd.url, 100, '  changes: { mode: modifyTimestamp }', 'serve:\n  pollIntervalMs: 500\n  reconcileOnStart: false\n');
  });
  afterEach(async () => {
    await s?.stop();
    s = undefined;
  });

  it('syncs that entry, still finds a leaver marked after it, and /readyz names the entry', async () => {
    const first = await h.run();
    expect(first.code, first.err + first.out).toBe(0);
    const loaded = loadConfig(h.configFile);
    const feed = createChangeFeed(loaded.config.source, loaded.config.safety, new FileFeedTokenStore(loaded.stateDir))!;
    await (await feed.feed.poll())!.commit();
    s = await startTestService(h, { feeds: [feed] });

    // An import (or a server with a wrong clock) stamps a new person 2030: the feed's position
    // followed it, and every change after it was missed until 2030.
    await slapd.add(
      `dn: uid=future,${PEOPLE}\nobjectClass: inetOrgPerson\nuid: future\ncn: Fu Ture\nsn: Ture\nmail: future@example.com\n` +
        'createTimestamp: 20300101000000Z\nmodifyTimestamp: 20300101000000Z\n',
      { relax: true },
    );
    await expect.poll(() => h.sandbox.store.findUserByUserName('future@example.com')?.['active'], { timeout: 20_000 }).toBe(true);
    await slapd.modify(`dn: uid=kenji,${PEOPLE}\nchangetype: modify\nreplace: employeeType\nemployeeType: terminated\n`);
    await expect.poll(() => h.sandbox.store.findUserByUserName('kenji@example.com')?.['active'], { timeout: 20_000 }).toBe(false);

    const ready = await s.get('/readyz');
    expect(ready.status, ready.body).toBe(200);
    const warning = `feed source: 1 entry stamped ahead of this machine's clock: uid=future,${PEOPLE} (20300101000000Z); each is synced when it changes`;
    expect(JSON.parse(ready.body).warnings).toEqual([expect.stringContaining(warning)]);
    // Logged once, not at every poll.
    expect(s.lines.filter((l) => l.includes('stamped ahead of'))).toHaveLength(1);
  }, 60_000);
});


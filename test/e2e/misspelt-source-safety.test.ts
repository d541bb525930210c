/**
 * A misspelt setting of the LDAP source, as an operator makes one, through `run` against the
 * sandbox: every leaver read as active (the disabled-account attribute), every manager reference
 * cleared (the manager attribute), every group renamed to its DN (the group name attribute). Each
 * stops before any write (exit 3) with the safety check's reason, once the target holds a synced
 * directory; the first sync of that directory needs no override.
 */
import { writeFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { directoryAndHarness } from '../support/fixture-directory.js';
import type { Harness } from '../support/harness.js';
import { GROUPS, PEOPLE } from '../support/ldap-fixtures.js';
import { READER_DN, READER_PASSWORD, type Slapd } from '../support/slapd.js';

const ACTIVE = 24;
const LEAVERS = 30;
const TEAMS = 5;
const uid = (i: number) => `p${String(i).padStart(3, '0')}`;

/** 24 people (p000 manages the rest), 30 leavers marked terminated, 5 groups of the people. */
function directoryLdif(): string {
  const parts: string[] = [];
  for (let i = 0; i < ACTIVE; i++) {
    parts.push(
      `dn: uid=${uid(i)},${PEOPLE}\nobjectClass: inetOrgPerson\nuid: ${uid(i)}\ncn: Person ${i}\nsn: Person ${i}\nmail: ${uid(i)}@example.com\n` +
        (i > 0 ? `manager: uid=${uid(0)},${PEOPLE}\n` : ''),
    );
  }
  for (let i = 0; i < LEAVERS; i++) {
    parts.push(`dn: uid=l${i},${PEOPLE}\nobjectClass: inetOrgPerson\nuid: l${i}\ncn: Leaver ${i}\nsn: Leaver ${i}\nmail: l${i}@example.com\nemployeeType: terminated\n`);
  }
  for (let g = 0; g < TEAMS; g++) {
    const members = Array.from({ length: ACTIVE }, (_, i) => i).filter((i) => i % TEAMS === g);
    parts.push(`dn: cn=team-${g},${GROUPS}\nobjectClass: groupOfNames\ncn: team-${g}\n${members.map((i) => `member: uid=${uid(i)},${PEOPLE}`).join('\n')}\n`);
  }
  return parts.join('\n');
}

function writeConfig(h: Harness, url: string, over: { disabled?: string; manager?: string; groupName?: string } = {}): void {
  writeFileSync(
    h.configFile,
    `version: 1
state: { dir: state }
source:
  type: ldap
  url: ${url}
  startTls: false
  bind: { dn: "${READER_DN}", password: "\${env:TEST_LDAP_PASSWORD}" }
  users:
    base: "${PEOPLE}"
    attributes: { userName: mail }
    manager: ${over.manager ?? 'manager'}
    disabled: { attribute: ${over.disabled ?? 'employeeType'}, values: [terminated] }
  groups: { base: "${GROUPS}", nameAttribute: ${over.groupName ?? 'cn'} }
targets:
  app:
    url: ${h.sandbox.url}
    auth: { type: bearer, token: "\${env:TEST_SCIM_TOKEN}" }
`,
  );
  process.env['TEST_LDAP_PASSWORD'] = READER_PASSWORD;
}

describe('a misspelt source setting on a synced target', () => {
  let slapd: Slapd;
  let h: Harness;
  directoryAndHarness((started, harness) => {
    [slapd, h] = [started, harness];
    writeConfig(h, slapd.url);
  }, directoryLdif);
  beforeEach(async () => {
    // The first sync creates 24 accounts on an empty target: no managed accounts, nothing to judge by.
    const first = await h.run();
    expect(first.code, first.err + first.out).toBe(0);
    expect(h.sandbox.store.users()).toHaveLength(ACTIVE);
    h.sandbox.clearRequests();
  });

  it('a misspelt disabled-account attribute reads every leaver as active: exit 3, no account created', async () => {
    writeConfig(h, slapd.url, { disabled: 'employeType' });
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(3);
    expect(r.err).toMatch(
      /target app: 30 users would be created beside its 24 managed users \(125\.0%, limit 20%\), e\.g\. l\d+@example\.com: leavers read as active \(a misspelt disabled-account rule, a scope that lets everyone in, an attribute the reading account may not see\)\? If they are new, --override-safety once/,
    );
    expect(h.writes()).toEqual([]);
    expect(h.sandbox.store.users()).toHaveLength(ACTIVE);
  });

  it('a misspelt manager attribute clears every reference: exit 3, no reference cleared', async () => {
    writeConfig(h, slapd.url, { manager: 'manger' });
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(3);
    expect(r.err).toMatch(/target app: manager would change on 23 of 24 managed users \(95\.8%, limit 30%; 23 cleared\), e\.g\. p0\d\d@example\.com: "p000@example\.com" -> null/);
    expect(h.writes()).toEqual([]);
    const boss = String(h.sandbox.store.findUserByUserName('p000@example.com')!['id']);
    const managers = h.sandbox.store
      .users()
      .map((u) => (u['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'] as { manager?: { value: string } } | undefined)?.manager?.value);
    expect(managers.filter((m) => m === boss)).toHaveLength(ACTIVE - 1);
  });

  it('a misspelt group name attribute names every group by its DN: a warning per group, exit 3, no group renamed', async () => {
    writeConfig(h, slapd.url, { groupName: 'cnn' });
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(3);
    expect(r.out + r.err).toContain(`cn=team-0,${GROUPS}: no cnn (source.groups.nameAttribute): the group is named by its DN`);
    expect(r.err).toMatch(new RegExp(`target app: 5 of 5 managed groups would be renamed \\(100\\.0%, limit 10%\\), e\\.g\\. "team-\\d" -> "cn=team-\\d,${GROUPS}"`));
    expect(h.writes()).toEqual([]);
    expect(h.sandbox.store.groups().map((g) => g['displayName']).sort()).toEqual(['team-0', 'team-1', 'team-2', 'team-3', 'team-4']);
  });
});

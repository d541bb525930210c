/**
 * The LDAP source against a real slapd: paging past the server's size limit, the fixture's edge cases
 * (non-ASCII, several mails, no mail, disabled, manager DNs spelled differently), every group kind,
 * nesting and cycles, memberOf, TLS, and the failures that must fail the whole read.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/secret.js';
import { SourceError } from '../../src/errors.js';
import type { CanonicalGroup, DirectorySnapshot } from '../../src/model/canonical.js';
import { buildUserResource, compileUserMapping, mapUser } from '../../src/mapping/user-mapping.js';
import { LdapSource } from '../../src/sources/ldap/ldap-source.js';
import { bigGroupLdif, bulkPeopleLdif, directoryLdif, GROUPS, ldapSourceConfig, PEOPLE } from '../support/ldap-fixtures.js';
import { BASE_DN, LIMITED_DN, READER_PASSWORD, Slapd } from '../support/slapd.js';

const BULK = 2000;
let slapd: Slapd;

beforeAll(async () => {
  slapd = await Slapd.start({ tls: true, sizeLimit: 500 });
  await slapd.add(directoryLdif());
  await slapd.add(bulkPeopleLdif(BULK));
  await slapd.add(bigGroupLdif('everyone', BULK));
  // A referral object beside the people: a search from the suffix gets a continuation reference.
  await slapd.add(
    `dn: ou=remote,${BASE_DN}\nobjectClass: referral\nobjectClass: extensibleObject\nou: remote\nref: ldap://other.example.com/ou=remote,${BASE_DN}\n`,
    { manageDsaIt: true },
  );
});
afterAll(async () => {
  await slapd?.stop();
});

function read(over: Record<string, unknown> = {}, url = slapd.url): Promise<DirectorySnapshot> {
  return new LdapSource(ldapSourceConfig(url, over)).read();
}

async function readError(over: Record<string, unknown> = {}, url = slapd.url): Promise<SourceError> {
  const error = await read(over, url).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SourceError);
  return error as SourceError;
}

function byUserName(snapshot: DirectorySnapshot) {
  return new Map(snapshot.users.map((u) => [u.attributes['userName'] as string, u]));
}

function groupsByName(snapshot: DirectorySnapshot): Map<string, CanonicalGroup> {
  return new Map(snapshot.groups.map((g) => [g.displayName, g]));
}

/** Group members as userNames, for readable assertions. */
function memberNames(snapshot: DirectorySnapshot, group: CanonicalGroup | undefined): string[] {
  const names = new Map(snapshot.users.map((u) => [u.key, u.attributes['userName'] as string]));
  return (group?.memberKeys ?? []).map((k) => names.get(k) ?? `?${k}`).sort();
}

const groupsConfig = (over: Record<string, unknown> = {}) => ({ groups: { base: GROUPS, ...over } });

describe('users', () => {
  it('reads every person in pages past the server size limit of 500', async () => {
    const snapshot = await read();
    expect(snapshot.users).toHaveLength(BULK + 5);
    expect(snapshot.recordsRead).toBe(BULK + 5);
    expect(snapshot.issues).toEqual([]);
    expect(snapshot.source).toBe(`ldap:${slapd.url}/${PEOPLE}`);
    const keys = new Set(snapshot.users.map((u) => u.key));
    expect(keys.size).toBe(BULK + 5);
    for (const key of keys) expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('maps the fixture people: non-ASCII, several mails, no mail, disabled, managers by DN', async () => {
    const users = byUserName(await read({ users: { base: PEOPLE, disabled: { attribute: 'employeeType', values: ['Terminated'] }, attributes: { photo: 'jpegPhoto' } } }));
    const zoe = users.get('zoe')!;
    expect(zoe.active).toBe(true);
    expect(zoe.ref.location).toBe(`uid=zoe,${PEOPLE}`);
    expect(zoe.attributes).toMatchObject({
      givenName: 'Zoë',
      familyName: 'Ångström',
      displayName: 'Zoë Ångström',
      email: 'zoe@example.com',
      phone: '+33 1 23 45 67 89',
      title: 'CTO',
      department: 'Engineering',
      employeeNumber: '1001',
      mobile: null,
    });
    // A binary value (not UTF-8) travels as base64.
    expect(zoe.attributes['photo']).toBe(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0xfe, 0x80]).toString('base64'));
    expect(zoe.managerKey).toBeNull();
    expect(users.get('jose')!.attributes['email']).toEqual(['jose@example.com', 'j.mueller@example.com']);
    expect(users.get('jose')!.managerKey).toBe(zoe.key);
    // Written "UID=Zoe, OU=People, DC=Example, DC=com" in the entry.
    expect(users.get('kenji')!.managerKey).toBe(zoe.key);
    expect(users.get('kenji')!.attributes).toMatchObject({ givenName: '健', familyName: '渡辺', displayName: '渡辺 健' });
    expect(users.get('bob')!.attributes['email']).toBeNull();
    expect(users.get('bob')!.active).toBe(true);
    expect(users.get('carol')!.active).toBe(false);
    expect(users.has('olga')).toBe(false);
  });

  it('takes disabled people from a filter, and from an attribute being present', async () => {
    const byFilter = byUserName(await read({ users: { base: PEOPLE, disabled: { filter: '(|(employeeType=terminated)(uid=bob))' } } }));
    expect([...byFilter.values()].filter((u) => !u.active).map((u) => u.attributes['userName']).sort()).toEqual(['bob', 'carol']);
    const byPresence = byUserName(await read({ users: { base: PEOPLE, disabled: { attribute: 'employeeType' } } }));
    expect([...byPresence.values()].filter((u) => !u.active).map((u) => u.attributes['userName'])).toEqual(['carol']);
  });

  it('uses a configured key attribute and attribute map; an entry without the key is an issue naming its DN', async () => {
    const snapshot = await read({ users: { base: PEOPLE, key: { attribute: 'employeeNumber', format: 'string' }, attributes: { userName: 'mail', department: null } } });
    const zoe = snapshot.users.find((u) => u.ref.location === `uid=zoe,${PEOPLE}`)!;
    expect(zoe.key).toBe('1001');
    expect(zoe.attributes['userName']).toBe('zoe@example.com');
    expect(zoe.attributes).not.toHaveProperty('department');
    // Every fixture and bulk person has an employeeNumber: check the issue path with a key nobody has.
    const none = await read({ users: { base: PEOPLE, filter: '(|(uid=zoe)(uid=bob))', key: { attribute: 'carLicense', format: 'string' } } });
    expect(none.users).toEqual([]);
    expect(none.recordsRead).toBe(2);
    expect(none.issues.map((i) => [i.code, i.ref.location])).toEqual([
      ['LDAP_MISSING_KEY', `uid=zoe,${PEOPLE}`],
      ['LDAP_MISSING_KEY', `uid=bob,${PEOPLE}`],
    ]);
    expect(none.issues[0]!.message).toBe(`uid=zoe,${PEOPLE}: no carLicense: the entry has no key and cannot be synced`);
  });

  it('holds the second person of a duplicate userName like the CSV source, and keeps them in their groups', async () => {
    const snapshot = await read({
      users: { base: PEOPLE, filter: '(|(uid=zoe)(uid=jose))', attributes: { userName: 'departmentNumber' } },
      groups: { base: GROUPS, filter: '(cn=engineering)' },
    });
    expect(snapshot.users).toHaveLength(1);
    expect(snapshot.issues.map((i) => i.code)).toEqual(['LDAP_DUPLICATE_USERNAME']);
    expect(snapshot.heldKeys).toHaveLength(1);
    expect(snapshot.groups[0]!.memberKeys).toEqual([...snapshot.heldKeys, snapshot.users[0]!.key].sort());
  });
});

describe('what a target gets from the people read', () => {
  const ALIAS = 'urn:example:params:scim:schemas:extension:corp:2.0:User:aliasMail';

  it('every mail reaches emails with its type, one by index; cn is the display name when there is no displayName', async () => {
    // kenji's cn is written family name first ("渡辺 健"); composing givenName familyName would turn it round.
    await slapd.modify(`dn: uid=kenji,${PEOPLE}\nchangetype: modify\ndelete: displayName\n`);
    try {
      const snapshot = await read({ users: { base: PEOPLE, filter: '(|(uid=jose)(uid=kenji)(uid=zoe))' } });
      const mapping = compileUserMapping(
        { emails: { values: '{email | lower}', types: ['work', 'other'], when: 'always' }, [ALIAS]: '{email[1]}' },
        new Set(Object.keys(snapshot.users[0]!.attributes)),
      );
      const resources = new Map(snapshot.users.map((u) => [u.attributes['userName'], buildUserResource(mapping, mapUser(mapping, u), u.active)]));
      expect(resources.get('jose')!['emails']).toEqual([
        { value: 'jose@example.com', type: 'work', primary: true },
        { value: 'j.mueller@example.com', type: 'other' },
      ]);
      expect(resources.get('jose')![ALIAS.slice(0, ALIAS.lastIndexOf(':'))]).toEqual({ aliasMail: 'j.mueller@example.com' });
      expect(resources.get('zoe')!['emails']).toEqual([{ value: 'zoe@example.com', type: 'work', primary: true }]);
      expect(resources.get('zoe')![ALIAS.slice(0, ALIAS.lastIndexOf(':'))]).toBeUndefined();
      expect(resources.get('kenji')!['displayName']).toBe('渡辺 健');
      expect(resources.get('zoe')!['displayName']).toBe('Zoë Ångström');
    } finally {
      await slapd.modify(`dn: uid=kenji,${PEOPLE}\nchangetype: modify\nadd: displayName\ndisplayName: 渡辺 健\n`);
    }
  });
});

describe('groups', () => {
  it('direct: every group kind, nested groups as groupKeys, members outside the people dropped with a warning', async () => {
    const snapshot = await read(groupsConfig());
    const groups = groupsByName(snapshot);
    expect([...groups.keys()].sort()).toEqual(['admins', 'all-staff', 'devs', 'engineering', 'everyone', 'loop-a', 'loop-b']);
    expect(memberNames(snapshot, groups.get('engineering'))).toEqual(['jose', 'kenji', 'zoe']);
    expect(memberNames(snapshot, groups.get('all-staff'))).toEqual(['bob', 'carol']);
    expect(groups.get('all-staff')!.groupKeys).toEqual([groups.get('engineering')!.key]);
    expect(memberNames(snapshot, groups.get('admins'))).toEqual(['zoe']);
    expect(memberNames(snapshot, groups.get('devs'))).toEqual(['bob', 'jose']);
    expect(groups.get('everyone')!.memberKeys).toHaveLength(BULK);
    expect(groups.get('engineering')!.ref.location).toBe(`cn=engineering,${GROUPS}`);
    expect(snapshot.recordsRead).toBe(BULK + 5 + 7);
    expect(snapshot.warnings!.map((w) => w.message)).toEqual([
      `cn=engineering,${GROUPS}: 1 member dropped, not among the users read (outside source.users.base or its filter): uid=olga,ou=former,${BASE_DN}`,
      `cn=devs,${GROUPS}: 1 member dropped, not among the users read (outside source.users.base or its filter): memberUid=ghost`,
    ]);
    expect(snapshot.issues.map((i) => [i.code, i.ref.location])).toEqual([['LDAP_GROUP_CYCLE', `cn=loop-a,${GROUPS}`]]);
    expect(groups.get('loop-a')!.groupKeys).toEqual([groups.get('loop-b')!.key]);
  });

  it('expand: transitive members, a cycle reported and not looped on', async () => {
    const snapshot = await read(groupsConfig({ nested: 'expand' }));
    const groups = groupsByName(snapshot);
    expect(memberNames(snapshot, groups.get('all-staff'))).toEqual(['bob', 'carol', 'jose', 'kenji', 'zoe']);
    expect(groups.get('all-staff')!.groupKeys).toEqual([]);
    expect(memberNames(snapshot, groups.get('loop-a'))).toEqual(['bob', 'kenji']);
    expect(memberNames(snapshot, groups.get('loop-b'))).toEqual(['bob', 'kenji']);
    expect(snapshot.issues).toHaveLength(1);
    expect(snapshot.issues[0]!.message).toBe(
      `cn=loop-a,${GROUPS}: nested groups form a cycle (cn=loop-a,${GROUPS} -> cn=loop-b,${GROUPS} -> cn=loop-a,${GROUPS}); each group in it gets the members of all`,
    );
  });

  it('memberOf gives the same groupOfNames memberships as the member attributes', async () => {
    const fromMembers = await read(groupsConfig({ filter: '(objectClass=groupOfNames)' }));
    const fromMemberOf = await read(groupsConfig({ filter: '(objectClass=groupOfNames)', membership: 'memberOf' }));
    const summary = (s: DirectorySnapshot) => s.groups.map((g) => ({ key: g.key, name: g.displayName, members: memberNames(s, g) }));
    expect(summary(fromMemberOf)).toEqual(summary(fromMembers));
    expect(fromMemberOf.groups.find((g) => g.displayName === 'everyone')!.memberKeys).toHaveLength(BULK);
    // memberOf cannot see the member outside the people: nothing to warn about.
    expect(fromMemberOf.warnings).toEqual([]);
  });
});

describe('connections', () => {
  it('ldaps:// with the CA from a file', async () => {
    const snapshot = await read({ users: { base: PEOPLE, filter: '(uid=zoe)' }, tls: { caFile: slapd.caFile } }, slapd.ldapsUrl);
    expect(snapshot.users.map((u) => u.attributes['userName'])).toEqual(['zoe']);
  });

  it('ldap:// with StartTLS and the CA; the certificate is checked against the host name', async () => {
    const ok = await read({ startTls: true, users: { base: PEOPLE, filter: '(uid=zoe)' }, tls: { caFile: slapd.caFile } });
    expect(ok.users).toHaveLength(1);
    const wrongName = await readError({ startTls: true, users: { base: PEOPLE }, tls: { caFile: slapd.caFile, serverName: 'ldap.example.org' } });
    expect(wrongName.message).toMatch(/StartTLS failed: .*ldap\.example\.org/);
  });

  it('an untrusted certificate fails the read', async () => {
    const error = await readError({ users: { base: PEOPLE } }, slapd.ldapsUrl);
    expect(error.message).toMatch(/self[- ]signed|unable to verify|certificate/i);
  });

  it('a wrong password fails with the bind DN named and the password nowhere', async () => {
    const error = await readError({ bind: { dn: LIMITED_DN, password: new Secret('not-the-password-42', 'test') } });
    expect(error.message).toBe(`LDAP ${slapd.url}: bind as ${LIMITED_DN} failed: invalid credentials`);
    expect(JSON.stringify(error.toJSON())).not.toContain('not-the-password-42');
  });

  it('a refused connection says the connection failed, not the bind', async () => {
    const closed: Server = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const error = await readError({}, `ldap://127.0.0.1:${port}`);
    expect(error.message).toBe(`LDAP ldap://127.0.0.1:${port}: cannot connect to 127.0.0.1:${port} (ECONNREFUSED)`);
  });

  it('a server that never answers times out', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as { port: number }).port;
      const error = await readError({ timeoutMs: 200, connectTimeoutMs: 200 }, `ldap://127.0.0.1:${port}`);
      expect(error.message).toMatch(/bind as .* failed: .*timed out/);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });
});

describe('reads that must fail whole', () => {
  it('a size limit hit mid-read (after 1000 of 2005 entries)', async () => {
    const error = await readError({ bind: { dn: LIMITED_DN, password: new Secret(READER_PASSWORD, 'test') } });
    expect(error.message).toMatch(/search base "ou=people,dc=example,dc=com" .*size limit was hit \(sizeLimitExceeded, LDAP result 4.*\): the answer is incomplete after \d+ entries\. .*size\.prtotal=unlimited.*MaxPageSize/);
  });

  it('a referral the source does not follow; one listed as harmless is skipped', async () => {
    const error = await readError({ users: { base: BASE_DN } });
    expect(error.message).toContain('the server referred part of the answer to ldap://other.example.com/ou=remote,dc=example,dc=com');
    const snapshot = await read({ users: { base: BASE_DN }, ignoreReferrals: ['LDAP://other.example.com/'] });
    // The whole tree: the fixture people, olga under ou=former, the bulk.
    expect(snapshot.users).toHaveLength(BULK + 6);
  });

  it('a base that does not exist is named as the cause, not the search that met it first', async () => {
    const expected = `LDAP ${slapd.url}: the search base "ou=nobody,${BASE_DN}" does not exist (noSuchObject, LDAP result 32): check the configured base DN`;
    expect((await readError({ users: { base: `ou=nobody,${BASE_DN}` } })).message).toBe(expected);
    // With a disabled-accounts filter, that search runs first: the message is still about the base.
    expect((await readError({ users: { base: `ou=nobody,${BASE_DN}`, disabled: { filter: '(employeeType=Terminated)' } } })).message).toBe(expected);
  });
});

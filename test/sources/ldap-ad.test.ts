/**
 * What slapd cannot serve: Active Directory's objectGUID, userAccountControl, range retrieval of big
 * groups and the in-chain matching rule. The pure conversions are tested directly; the reading logic
 * through the LdapSearcher seam, with an in-memory directory that answers like AD (ranged member
 * attributes, binary GUIDs) and records every search it is asked.
 */
import { describe, expect, it } from 'vitest';
import { sourceSchema, type LdapSourceConfig } from '../../src/config/schema/index.js';
import { SourceError } from '../../src/errors.js';
import { formatKey, guidToString, uuidToString } from '../../src/sources/ldap/binary-key.js';
import type { LdapSearcher, SearchRequest } from '../../src/sources/ldap/connection.js';
import { normalizeDn } from '../../src/sources/ldap/dn.js';
import type { LdapEntry, LdapValue } from '../../src/sources/ldap/entry.js';
import { ldapSettings } from '../../src/sources/ldap/flavor-defaults.js';
import { resolveMembership } from '../../src/mapping/group-membership.js';
import type { CanonicalGroup } from '../../src/model/canonical.js';
import { IN_CHAIN_RULE } from '../../src/sources/ldap/groups.js';
import { readDirectory } from '../../src/sources/ldap/ldap-source.js';
import { completeRanges, parseRangeOption } from '../../src/sources/ldap/range.js';
import { uacDisabled } from '../../src/sources/ldap/user-entry.js';

const GUID_BYTES = Buffer.from([0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);

describe('objectGUID and other binary keys', () => {
  it('shows a GUID as AD does: first three fields little-endian, the rest in order', () => {
    expect(guidToString(GUID_BYTES)).toBe('00112233-4455-6677-8899-aabbccddeeff');
    expect(uuidToString(GUID_BYTES)).toBe('33221100-5544-7766-8899-aabbccddeeff');
    expect(formatKey(GUID_BYTES, 'hex')).toEqual({ key: '33221100554477668899aabbccddeeff' });
    expect(formatKey(GUID_BYTES, 'base64')).toEqual({ key: GUID_BYTES.toString('base64') });
  });

  it('refuses a value of the wrong length or an empty one', () => {
    expect(formatKey(GUID_BYTES.subarray(0, 15), 'guid')).toEqual({ error: 'expected 16 bytes for a guid, got 15' });
    expect(formatKey(Buffer.alloc(0), 'guid')).toEqual({ error: 'empty value' });
    expect(formatKey('   ', 'string')).toEqual({ error: 'empty value' });
    // A binary key read with format string: refused, not decoded lossily (two GUIDs would become one key).
    expect(formatKey(GUID_BYTES, 'string')).toEqual({ error: 'its value is bytes, not text: use format guid, uuid, hex or base64 for a binary key' });
  });

  it('recovers the bytes of a GUID that happened to arrive decoded as UTF-8 text', () => {
    const ascii = Buffer.from('0123456789abcdef', 'latin1');
    expect(formatKey(ascii.toString('utf8'), 'guid')).toEqual(formatKey(ascii, 'guid'));
  });
});

describe('userAccountControl', () => {
  it('is disabled exactly when bit 2 (ACCOUNTDISABLE) is set', () => {
    expect(uacDisabled('512')).toBe(false); // NORMAL_ACCOUNT
    expect(uacDisabled('514')).toBe(true); // NORMAL_ACCOUNT | ACCOUNTDISABLE
    expect(uacDisabled('66048')).toBe(false); // + DONT_EXPIRE_PASSWORD
    expect(uacDisabled('66050')).toBe(true);
    expect(uacDisabled('-2147483646')).toBe(true); // 0x80000002 read as signed
    expect(uacDisabled('abc')).toBeNull();
  });
});

describe('range retrieval', () => {
  it('parses range options, with other options kept', () => {
    expect(parseRangeOption('member;range=0-1499')).toEqual({ attribute: 'member', low: 0, high: 1499 });
    expect(parseRangeOption('Member;Range=1500-*')).toEqual({ attribute: 'member', low: 1500, high: null });
    expect(parseRangeOption('member;binary;range=0-9')).toEqual({ attribute: 'member;binary', low: 0, high: 9 });
    expect(parseRangeOption('member')).toBeNull();
  });

  const dns = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `CN=U${from + i},OU=People,DC=corp`);
  const entry = (dn: string, attributes: Record<string, LdapValue[]>): LdapEntry => ({ dn, attributes: new Map(Object.entries(attributes)) });

  it('asks for the rest until a range ends in *', async () => {
    const asked: string[] = [];
    const chunks: Record<string, LdapEntry> = {
      'member;range=1500-*': entry('CN=Big', { 'member;range=1500-2999': dns(1500, 3000) }),
      'member;range=3000-*': entry('CN=Big', { 'member;range=3000-*': dns(3000, 3500) }),
    };
    const done = await completeRanges(entry('CN=Big', { member: [], 'member;range=0-1499': dns(0, 1500), cn: ['Big'] }), async (dn, attribute) => {
      asked.push(`${dn} ${attribute}`);
      return chunks[attribute] ?? null;
    });
    expect(asked).toEqual(['CN=Big member;range=1500-*', 'CN=Big member;range=3000-*']);
    expect(done.attributes.get('member')).toEqual(dns(0, 3500));
    expect([...done.attributes.keys()].sort()).toEqual(['cn', 'member']);
  });

  it('makes no request for an entry without ranges', async () => {
    const plain = entry('CN=Small', { member: dns(0, 3) });
    expect(await completeRanges(plain, () => Promise.reject(new Error('no request expected')))).toBe(plain);
  });

  it('fails the read when the server stops answering the range', async () => {
    const start = entry('CN=Big', { 'member;range=0-1499': dns(0, 1500) });
    await expect(completeRanges(start, async () => entry('CN=Big', {}))).rejects.toThrow(SourceError);
    await expect(completeRanges(start, async () => entry('CN=Big', { 'member;range=9-*': [] }))).rejects.toThrow(
      'CN=Big: range retrieval of member stopped at 1500: the server answered range 9-*',
    );
  });
});

describe('DN normal form', () => {
  it('ignores case and spaces, reads escapes and hex-escaped UTF-8, orders multi-valued RDNs', () => {
    expect(normalizeDn('CN=José Müller, OU=People,DC=corp')).toBe(normalizeDn('cn=jos\\c3\\a9 m\\C3\\BCller,ou=people,dc=CORP'));
    expect(normalizeDn('cn=Doe\\, John,ou=x')).toBe(normalizeDn('CN=doe\\2C john, OU=X'));
    expect(normalizeDn('cn=Doe\\, John,ou=x')).not.toBe(normalizeDn('cn=Doe,cn=John,ou=x'));
    expect(normalizeDn('uid=a+cn=B,dc=x')).toBe(normalizeDn('cn=b+uid=A,dc=x'));
  });

  it('plain DNs (the quick path) get the same normal form as any other spelling of them', () => {
    expect(normalizeDn('uid=Bulk.0001,ou=People,dc=Example,dc=com')).toBe('uid=bulk.0001,ou=people,dc=example,dc=com');
    expect(normalizeDn('cn=Bulk Person 1,ou=People')).toBe(normalizeDn(' CN = Bulk Person 1 , OU=People '));
    expect(normalizeDn('CN=José,DC=x')).toBe(normalizeDn('cn=jos\\c3\\a9,dc=x'));
    // A raw '=' in a value is escaped in the normal form, whichever way it was written.
    expect(normalizeDn('cn=a=b,dc=x')).toBe(normalizeDn('cn=a\\=b,dc=x'));
    expect(normalizeDn('cn=a=b,dc=x')).toBe('cn=a\\=b,dc=x');
  });

  it('a DN written in its normal form comes back as it is; one space, capital or special character away, it does not', () => {
    const cases: [string, string][] = [
      ['uid=bulk000001,ou=people,dc=example,dc=com', 'uid=bulk000001,ou=people,dc=example,dc=com'],
      ['cn=a b\tc,ou=x', 'cn=a b\tc,ou=x'],
      ['cn=a\u0001b,dc=x', 'cn=a\u0001b,dc=x'],
      ['uid=a ,ou=b', 'uid=a,ou=b'],
      ['uid= a,ou=b', 'uid=a,ou=b'],
      ['uid=a, ou=b', 'uid=a,ou=b'],
      ['cn =a,dc=x', 'cn=a,dc=x'],
      [' uid=a', 'uid=a'],
      ['uid=a ', 'uid=a'],
      ['cn=a,dc=x\n', 'cn=a,dc=x'],
      ['cn=a\u000bb,dc=x', 'cn=a\u000bb,dc=x'],
      ['cn=a\u00a0,dc=x', 'cn=a,dc=x'],
      ['cn=Ann,ou=x', 'cn=ann,ou=x'],
      ['cn=a=b,dc=x', 'cn=a\\=b,dc=x'],
      ['cn=a#b,dc=x', 'cn=a\\#b,dc=x'],
      ['cn=#04,dc=x', 'cn=#04,dc=x'],
      ['cn=a\\,b,dc=x', 'cn=a\\,b,dc=x'],
      ['cn=a+uid=b,dc=x', 'cn=a+uid=b,dc=x'],
      ['ou=x;dc=y', 'ou=x,dc=y'],
      ['uid=,ou=x', 'uid=,ou=x'],
      ['uid=a,', 'uid=a,'],
      ['=a', '=a'],
      ['uid', 'uid'],
      ['', ''],
    ];
    expect(cases.map(([dn]) => [dn, normalizeDn(dn)])).toEqual(cases);
  });
});

describe('nesting cycles, as the source reports them', () => {
  const group = (key: string, memberKeys: string[], groupKeys: string[]): CanonicalGroup => ({ key, displayName: key.toUpperCase(), memberKeys, groupKeys, ref: { location: `cn=${key}` } });

  it('gives the keys of each cycle, and every group of a cycle the members of all', () => {
    const result = resolveMembership(
      [group('a', ['u4'], ['b']), group('b', ['u5'], ['c']), group('c', [], ['a', 'leaf']), group('leaf', ['u3'], []), group('self', ['u6'], ['self'])],
      'flatten',
    );
    expect(result.cycleKeys.map((c) => [...c].sort())).toEqual([['a', 'b', 'c'], ['self']]);
    expect(result.cycles).toHaveLength(2);
    for (const k of ['a', 'b', 'c']) expect([...result.members.get(k)!].sort()).toEqual(['u3', 'u4', 'u5']);
  });

  it('handles nesting deeper than the call stack would allow', () => {
    const depth = 100_000;
    const groups = Array.from({ length: depth }, (_, i) => group(`g${i}`, i + 1 < depth ? [] : ['deepest'], i + 1 < depth ? [`g${i + 1}`] : []));
    const result = resolveMembership(groups, 'flatten');
    expect([...result.members.get('g0')!]).toEqual(['deepest']);
    expect(result.cycleKeys).toEqual([]);
  });
});

/** An AD-like directory in memory: answers the searches the source makes, records them. */
class FakeAd implements LdapSearcher {
  readonly requests: SearchRequest[] = [];
  constructor(private readonly answer: (request: SearchRequest) => LdapEntry[]) {}
  async *search(request: SearchRequest): AsyncIterable<readonly LdapEntry[]> {
    this.requests.push(request);
    const entries = this.answer(request);
    for (let i = 0; i < entries.length; i += 2) yield entries.slice(i, i + 2);
  }
}

const guid = (n: number) => Buffer.from(Array.from({ length: 16 }, (_, i) => (i === 15 ? n : i * 16)));
const person = (cn: string, n: number, uac: string, extra: Record<string, LdapValue[]> = {}): LdapEntry => ({
  dn: `CN=${cn},OU=Staff,DC=corp,DC=example`,
  attributes: new Map<string, LdapValue[]>(
    Object.entries({ objectguid: [guid(n)], userprincipalname: [`${cn.toLowerCase()}@corp.example`], useraccountcontrol: [uac], mail: [`${cn.toLowerCase()}@example.com`], ...extra }),
  ),
});

function adConfig(groups?: Record<string, unknown>, users: Record<string, unknown> = {}): LdapSourceConfig {
  return sourceSchema.parse({
    type: 'ldap',
    url: 'ldaps://dc1.corp.example',
    flavor: 'ad',
    users: { base: 'OU=Staff,DC=corp,DC=example', ...users },
    ...(groups ? { groups: { base: 'OU=Groups,DC=corp,DC=example', ...groups } } : {}),
  }) as LdapSourceConfig;
}

describe('an AD directory through the seam', () => {
  const people = [
    person('Ann', 1, '512', { manager: ['cn=Ben, ou=Staff, dc=corp, dc=example'] }),
    person('Ben', 2, '514'),
    ...Array.from({ length: 1600 }, (_, i) => person(`Bulk${i}`, 3 + (i % 200), '66048', { objectguid: [Buffer.from(`bulk-${String(i).padStart(11, '0')}`)] })),
  ];
  const bulkDns = people.slice(2).map((p) => p.dn);
  const big: LdapEntry = {
    dn: 'CN=Everyone,OU=Groups,DC=corp,DC=example',
    attributes: new Map<string, LdapValue[]>([
      ['objectguid', [guid(250)]],
      ['cn', ['Everyone']],
      ['member', []],
      ['member;range=0-1499', [...bulkDns.slice(0, 1499), 'CN=Ann,OU=Staff,DC=corp,DC=example']],
    ]),
  };
  const small: LdapEntry = {
    dn: 'CN=Leads,OU=Groups,DC=corp,DC=example',
    attributes: new Map<string, LdapValue[]>([
      ['objectguid', [guid(251)]],
      ['cn', ['Leads']],
      ['member', ['CN=Ann,OU=Staff,DC=corp,DC=example', 'CN=Everyone,OU=Groups,DC=corp,DC=example']],
    ]),
  };
  const directory = (request: SearchRequest): LdapEntry[] => {
    if (request.scope === 'base' && request.attributes[0] === 'member;range=1500-*') {
      return [{ dn: request.base, attributes: new Map([['member;range=1500-*', [...bulkDns.slice(1499), 'CN=Ben,OU=Staff,DC=corp,DC=example']]]) }];
    }
    if (request.filter.includes(IN_CHAIN_RULE)) {
      return request.filter.includes('CN=Leads') ? people.map((p) => ({ dn: p.dn, attributes: new Map() })) : [people[0]!];
    }
    if (request.base.startsWith('OU=Groups')) return [big, small];
    return people;
  };

  it('reads users: GUID keys, disabled from userAccountControl, manager by DN, AD attribute names', async () => {
    const ad = new FakeAd(directory);
    const snapshot = await readDirectory(ad, ldapSettings(adConfig({ nested: 'direct' })), 'ad');
    const ann = snapshot.users[0]!;
    expect(ann.key).toBe(guidToString(guid(1)));
    expect(ann.attributes).toMatchObject({ userName: 'ann@corp.example', email: 'ann@example.com' });
    expect(ann.active).toBe(true);
    expect(snapshot.users[1]!.active).toBe(false);
    expect(ann.managerKey).toBe(guidToString(guid(2)));
    const userSearch = ad.requests[0]!;
    expect(userSearch.filter).toBe('(&(objectCategory=person)(objectClass=user))');
    expect(userSearch.binaryAttributes).toContain('objectGUID');
    expect(userSearch.attributes).toEqual(expect.arrayContaining(['objectGUID', 'userPrincipalName', 'userAccountControl', 'employeeID', 'manager']));
  });

  it('reads a group of more than 1500 members by range retrieval, and nesting as groupKeys', async () => {
    const ad = new FakeAd(directory);
    const snapshot = await readDirectory(ad, ldapSettings(adConfig({ nested: 'direct' })), 'ad');
    const everyone = snapshot.groups.find((g) => g.displayName === 'Everyone')!;
    expect(everyone.key).toBe(guidToString(guid(250)));
    expect(everyone.memberKeys).toHaveLength(1602);
    const leads = snapshot.groups.find((g) => g.displayName === 'Leads')!;
    expect(leads.memberKeys).toEqual([guidToString(guid(1))]);
    expect(leads.groupKeys).toEqual([everyone.key]);
    const ranged = ad.requests.filter((r) => r.scope === 'base');
    expect(ranged.map((r) => [r.base, r.attributes])).toEqual([[big.dn, ['member;range=1500-*']]]);
    expect(snapshot.warnings).toEqual([]);
  });

  it('in-chain: one server-side transitive search per group, member attributes not read', async () => {
    const ad = new FakeAd(directory);
    const snapshot = await readDirectory(ad, ldapSettings(adConfig({ nested: 'expand', inChain: true })), 'ad');
    const groupSearch = ad.requests.find((r) => r.base.startsWith('OU=Groups'))!;
    expect(groupSearch.attributes).not.toContain('member');
    const chained = ad.requests.filter((r) => r.filter.includes(IN_CHAIN_RULE));
    expect(chained.map((r) => r.filter)).toEqual([
      `(&(&(objectCategory=person)(objectClass=user))(memberOf:${IN_CHAIN_RULE}:=CN=Everyone,OU=Groups,DC=corp,DC=example))`,
      `(&(&(objectCategory=person)(objectClass=user))(memberOf:${IN_CHAIN_RULE}:=CN=Leads,OU=Groups,DC=corp,DC=example))`,
    ]);
    expect(chained.every((r) => r.base === 'OU=Staff,DC=corp,DC=example' && r.attributes[0] === '1.1')).toBe(true);
    expect(snapshot.groups.find((g) => g.displayName === 'Leads')!.memberKeys).toHaveLength(1602);
    expect(snapshot.groups.find((g) => g.displayName === 'Everyone')!.memberKeys).toEqual([guidToString(guid(1))]);
  });

  it('an entry whose GUID is not 16 bytes is an issue naming its DN; a bad or unreadable userAccountControl holds the person', async () => {
    const unreadable = person('Hidden', 10, '514');
    (unreadable.attributes as Map<string, LdapValue[]>).delete('useraccountcontrol');
    const broken = [person('Short', 1, '512', { objectguid: [Buffer.from([1, 2, 3])] }), person('Odd', 9, 'n/a'), unreadable];
    const snapshot = await readDirectory(new FakeAd(() => broken), ldapSettings(adConfig()), 'ad');
    expect(snapshot.users).toEqual([]);
    expect(snapshot.issues.map((i) => i.message)).toEqual([
      'CN=Short,OU=Staff,DC=corp,DC=example: objectGUID is not a guid key: expected 16 bytes for a guid, got 3',
      'CN=Odd,OU=Staff,DC=corp,DC=example: userAccountControl "n/a" is not a number',
      // An ACL that hides it must not make a disabled account read as active.
      'CN=Hidden,OU=Staff,DC=corp,DC=example: no userAccountControl (may the reading account read it?): whether the account is disabled is unknown',
    ]);
    expect(snapshot.heldKeys).toEqual([guidToString(guid(9)), guidToString(guid(10))]);
  });

  it('a disabled rule of its own (a leaver attribute) is added to userAccountControl, which only userAccountControl: false turns off', async () => {
    const staff = [person('Ann', 1, '512'), person('Ben', 2, '514'), person('Cid', 3, '512', { extensionattribute5: ['Leaver'] })];
    const leaverRule = { disabled: { attribute: 'extensionAttribute5', values: ['leaver'] } };
    const ad = new FakeAd(() => staff);
    const both = await readDirectory(ad, ldapSettings(adConfig(undefined, leaverRule)), 'ad');
    // Ben's account is disabled in AD: he stays a leaver though he has no leaver attribute.
    expect(both.users.map((u) => [u.key, u.active])).toEqual([
      [guidToString(guid(1)), true],
      [guidToString(guid(2)), false],
      [guidToString(guid(3)), false],
    ]);
    expect(ad.requests[0]!.attributes).toEqual(expect.arrayContaining(['userAccountControl', 'extensionAttribute5']));
    const off = await readDirectory(new FakeAd(() => staff), ldapSettings(adConfig(undefined, { disabled: { ...leaverRule.disabled, userAccountControl: false } })), 'ad');
    expect(off.users.map((u) => u.active)).toEqual([true, true, false]);
  });
});

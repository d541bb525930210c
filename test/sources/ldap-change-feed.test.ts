/**
 * The LDAP change feed. OpenLDAP against the real test slapd with the accesslog overlay (logold of
 * the key attribute): a modify, an add, a delete and a move out of the base each name the right key;
 * the stored position moves only in commit and a new feed resumes from it; without the accesslog,
 * deletions are not seen (the full cycle finds them). Active Directory through the scripted LDAP
 * server, which records every request: the root DSE and invocationID are read, uSNChanged passes,
 * tombstones through the show-deleted control, people moved out of the base, and a changed
 * invocationID asks for a full read.
 */
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourceSchema, type LdapSourceConfig } from '../../src/config/schema/index.js';
import { Secret } from '../../src/config/secret.js';
import { guidToString } from '../../src/sources/ldap/binary-key.js';
import { encodePosition } from '../../src/sources/ldap/change-position.js';
import type { LdapSearcher, SearchRequest } from '../../src/sources/ldap/connection.js';
import type { LdapEntry, LdapValue } from '../../src/sources/ldap/entry.js';
import { ldapSettings } from '../../src/sources/ldap/flavor-defaults.js';
import { formatGeneralizedTime, parseGeneralizedTime } from '../../src/sources/ldap/generalized-time.js';
import { LdapChangeFeed } from '../../src/sources/ldap/ldap-change-feed.js';
import { LdapSource } from '../../src/sources/ldap/ldap-source.js';
import { membersNamed } from '../../src/sources/ldap/membership-changes.js';
import { readTimedChanges } from '../../src/sources/ldap/timestamp-changes.js';
import { SHOW_DELETED_CONTROL } from '../../src/sources/ldap/usn-changes.js';
import { FileFeedTokenStore } from '../../src/state/feed-tokens.js';
import { GROUPS, ldapSourceConfig, PEOPLE } from '../support/ldap-fixtures.js';
import { doneMessage, entryMessage, referenceMessage, ScriptedLdap, type ReceivedSearch } from '../support/scripted-ldap.js';
import { ACCESS_LOG_BASE, BASE_DN, Slapd } from '../support/slapd.js';
import { tempDirs } from '../support/temp-dirs.js';

/** Every generalized time in a stored position that lies ahead of this machine's clock (a minute's slack).
 * Judged by value: the clock's own stamps can hold "2030" as digits (03:03:46 on 2026-12-02 does). */
function stampsAheadOfClock(position: string): string[] {
  const limit = new Date(Date.now() + 60_000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return [...position.matchAll(/\d{14}(?=[.Z])/g)].map((m) => m[0]).filter((stamp) => stamp > limit);
}

const tempDir = tempDirs('scim-sync-ldapfeed-');
const FORMER = `ou=former,${BASE_DN}`;

describe('GeneralizedTime', () => {
  it('reads whole seconds in any of the forms servers send, and writes the one filters take', () => {
    const t = Date.UTC(2026, 10, 30, 10, 15, 0) / 1000;
    expect(parseGeneralizedTime('20261130101500Z')).toBe(t);
    expect(parseGeneralizedTime('20261130101500.0Z')).toBe(t);
    expect(parseGeneralizedTime('20261130101500.727856Z')).toBe(t);
    expect(parseGeneralizedTime('20261130101500.123456Z#000000#000#000000')).toBe(t);
    expect(parseGeneralizedTime('20261130121500+0200')).toBe(t);
    expect(parseGeneralizedTime('2026113010Z')).toBe(t - 15 * 60);
    expect(parseGeneralizedTime('yesterday')).toBeNull();
    expect(formatGeneralizedTime(t)).toBe('20261130101500Z');
  });
});

/** Entries as a directory answers a time search, for the same-second rules; records each request. */
class TimedDirectory implements LdapSearcher {
  readonly requests: SearchRequest[] = [];
  constructor(public entries: LdapEntry[]) {}
  async *search(request: SearchRequest): AsyncIterable<readonly LdapEntry[]> {
    this.requests.push(request);
    yield this.entries;
  }
}

const timed = (key: string, modified: string, csn?: string): LdapEntry => ({
  dn: `uid=${key},${PEOPLE}`,
  attributes: new Map<string, LdapValue[]>([
    ['employeenumber', [key]],
    ['modifytimestamp', [modified]],
    ...(csn ? ([['entrycsn', [csn]]] as [string, LdapValue[]][]) : []),
  ]),
});

describe('changes in the same second as the position', () => {
  const users = ldapSettings(ldapSourceConfig('ldap://127.0.0.1:1', { users: { base: PEOPLE, key: { attribute: 'employeeNumber', format: 'string' } } })).users;
  const T = '20261130101500Z';
  const since = parseGeneralizedTime(T)!;
  /** The clock of these passes: a minute after T. */
  const NOW = since + 60;

  it('asks with >= from the position less the overlap, without the user filter, for the key and what tells a change apart', async () => {
    const directory = new TimedDirectory([]);
    await readTimedChanges(directory, users, { since, seen: {} }, 5, NOW);
    expect(directory.requests).toEqual([
      {
        base: PEOPLE,
        scope: 'sub',
        filter: '(|(modifyTimestamp>=20261130101455Z)(createTimestamp>=20261130101455Z))',
        attributes: ['employeeNumber', 'modifyTimestamp', 'createTimestamp', 'entryCSN'],
        binaryAttributes: [],
      },
    ]);
  });

  it('hands out again an entry changed a second time in the same second (entryCSN differs), and not one unchanged', async () => {
    const directory = new TimedDirectory([timed('1', T, '20261130101500.000001Z#000000#000#000000'), timed('2', T, '20261130101500.000002Z#000000#000#000000')]);
    const first = await readTimedChanges(directory, users, { since: since - 60, seen: {} }, 5, NOW);
    expect(first.keys).toEqual(['1', '2']);
    expect(first.window).toEqual({ since, seen: { '1': '20261130101500.000001Z#000000#000#000000', '2': '20261130101500.000002Z#000000#000#000000' } });

    directory.entries = [timed('1', T, '20261130101500.000009Z#000000#000#000000'), timed('2', T, '20261130101500.000002Z#000000#000#000000')];
    const second = await readTimedChanges(directory, users, first.window, 5, NOW);
    expect(second.keys).toEqual(['1']);
    expect(second.window.since).toBe(since);
  });

  it('without entryCSN (another server) compares modifyTimestamp; what falls out of the overlap is forgotten', async () => {
    const directory = new TimedDirectory([timed('1', '20261130101450Z'), timed('2', T)]);
    const result = await readTimedChanges(directory, users, { since: since - 10, seen: { '1': '20261130101450Z' } }, 5, NOW);
    expect(result.keys).toEqual(['2']);
    expect(result.window).toEqual({ since, seen: { '2': T } });
  });
});

describe('times ahead of the clock', () => {
  const users = ldapSettings(ldapSourceConfig('ldap://127.0.0.1:1', { users: { base: PEOPLE, key: { attribute: 'employeeNumber', format: 'string' } } })).users;
  const now = parseGeneralizedTime('20261130101500Z')!;

  it('never move the position; a server a little ahead is no warning, an entry stamped years ahead is', async () => {
    const directory = new TimedDirectory([timed('1', '20261130101459Z', 'csn1'), timed('2', '20261130101502Z', 'csn2'), timed('3', '20300101000000Z', 'csn3')]);
    const result = await readTimedChanges(directory, users, { since: now - 60, seen: {} }, 5, now);
    expect(result.keys).toEqual(['1', '2', '3']);
    expect(result.window).toEqual({ since: now - 1, seen: { '1': 'csn1', '2': 'csn2', '3': 'csn3' } });
    expect(result.ahead.map((s) => s.id)).toEqual(['3']);
    // The next pass, a minute later: what is unchanged is not handed out again, and the position follows the clock.
    const next = await readTimedChanges(directory, users, result.window, 5, now + 60);
    expect(next.keys).toEqual([]);
    expect(next.window).toEqual({ since: now + 2, seen: { '1': 'csn1', '2': 'csn2', '3': 'csn3' } });
  });
});

describe('membership in an accesslog record', () => {
  const record = (mods: string[], old?: string[]): LdapEntry => ({
    dn: 'reqStart=20261130101500.000001Z,cn=accesslog',
    attributes: new Map<string, LdapValue[]>([['reqmod', mods], ...(old ? ([['reqold', old]] as [string, LdapValue[]][]) : [])]),
  });
  const attributes = { byDn: new Set(['member', 'uniquemember']), byUid: 'memberuid' };

  it('names the values added and removed, by DN and by uid, and nothing for other attributes', () => {
    expect(membersNamed(record(['member:+ uid=a,ou=p', 'uniqueMember:- uid=b,ou=p', 'memberUid:+ carol', 'description:= x', 'modifyTimestamp:= 20261130101500Z']), attributes)).toEqual({
      dns: ['uid=a,ou=p', 'uid=b,ou=p'],
      uids: ['carol'],
    });
  });

  it('a replace or a removal of every value names who was there before from reqOld, or says it cannot', () => {
    expect(membersNamed(record(['member:= uid=c,ou=p'], ['member: uid=a,ou=p', 'member: uid=b,ou=p', 'cn: app']), attributes)).toEqual({ dns: ['uid=c,ou=p', 'uid=a,ou=p', 'uid=b,ou=p'], uids: [] });
    expect(membersNamed(record(['member:-']), attributes)).toEqual({
      dns: [],
      uids: [],
      unknown: 'the accesslog record replaces member without the values before (log them with olcAccessLogOld)',
    });
  });
});

describe('OpenLDAP: modifyTimestamp and the accesslog', () => {
  let slapd: Slapd;

  beforeAll(async () => {
    slapd = await Slapd.start({ accessLog: { oldAttributes: ['employeeNumber'] } });
  });
  afterAll(async () => {
    await slapd?.stop();
  });

  const person = (uid: string, employeeNumber: string, parent = PEOPLE) =>
    `dn: uid=${uid},${parent}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\nmail: ${uid}@example.com\nemployeeNumber: ${employeeNumber}\n`;

  function config(over: Record<string, unknown> = {}, changes: Record<string, unknown> = { accessLogBase: ACCESS_LOG_BASE }): LdapSourceConfig {
    return ldapSourceConfig(slapd.url, { users: { base: PEOPLE, key: { attribute: 'employeeNumber', format: 'string' } }, changes, ...over });
  }

  /** A feed whose first position is taken and committed, as after the first full cycle. */
  async function startedFeed(cfg: LdapSourceConfig, dir = tempDir()) {
    const tokens = new FileFeedTokenStore(dir);
    const feed = new LdapChangeFeed(cfg, tokens, 'people');
    const first = await feed.poll();
    expect(first).toMatchObject({ keys: [], full: 'no earlier position' });
    await first!.commit();
    return { feed, tokens, dir };
  }

  it('without a position: asks for a full read, and stores the position taken only on commit', async () => {
    const tokens = new FileFeedTokenStore(tempDir());
    const feed = new LdapChangeFeed(config(), tokens, 'people');
    expect(feed.description).toBe(`ldap:${slapd.url} changes (modifyTimestamp, accesslog)`);
    const batch = await feed.poll();
    expect(batch).toMatchObject({ keys: [], full: 'no earlier position' });
    expect(await tokens.get('people')).toBeUndefined();
    await batch!.commit();
    expect(await tokens.get('people')).toMatch(/"mode":"modifyTimestamp"/);
    expect(await feed.poll()).toBeNull();
  });

  it('a modify names the person; the position moves only on commit', async () => {
    await slapd.add(person('mod1', '2001'));
    const { feed, tokens } = await startedFeed(config());
    const before = await tokens.get('people');
    await slapd.modify(`dn: uid=mod1,${PEOPLE}\nchangetype: modify\nreplace: title\ntitle: Director\n`);

    const batch = await feed.poll();
    expect(batch?.keys).toEqual(['2001']);
    expect(batch?.full).toBeUndefined();
    expect(batch?.description).toMatch(/^1 entry changed, 0 entries named by the accesslog \(deleted, moved out or group membership\) since \d{14}Z$/);
    // Not committed: the same change is handed out again, with the same mark (the entry's entryCSN).
    expect(await tokens.get('people')).toBe(before);
    const again = await feed.poll();
    expect(again?.keys).toEqual(['2001']);
    expect(again?.marks?.get('2001')).toBe(batch?.marks?.get('2001'));
    expect(batch?.marks?.get('2001')).toBeTruthy();
    // Changed again before the commit: the mark moves.
    await slapd.modify(`dn: uid=mod1,${PEOPLE}\nchangetype: modify\nreplace: title\ntitle: Head\n`);
    const changedAgain = await feed.poll();
    expect(changedAgain?.marks?.get('2001')).not.toBe(batch?.marks?.get('2001'));

    await changedAgain!.commit();
    expect(await tokens.get('people')).not.toBe(before);
    expect(await feed.poll()).toBeNull();

    // A second change in what is most likely the same second: entryCSN tells it from the first.
    await slapd.modify(`dn: uid=mod1,${PEOPLE}\nchangetype: modify\nreplace: title\ntitle: VP\n`);
    expect((await feed.poll())?.keys).toEqual(['2001']);
  });

  it('an add names the new person', async () => {
    const { feed } = await startedFeed(config());
    await slapd.add(person('add1', '2101'));
    expect((await feed.poll())?.keys).toEqual(['2101']);
  });

  it('a delete names the person, from the accesslog', async () => {
    await slapd.add(person('del1', '2201'));
    const { feed } = await startedFeed(config());
    await slapd.modify(`dn: uid=del1,${PEOPLE}\nchangetype: delete\n`);
    const batch = await feed.poll();
    expect(batch?.keys).toEqual(['2201']);
    expect(batch?.full).toBeUndefined();
    expect(batch?.description).toMatch(/^0 entries changed, 1 entry named by the accesslog \(deleted, moved out or group membership\) since/);
  });

  it('a move out of the base names the person (the key from reqOld); a move within the base by the time search', async () => {
    await slapd.add([person('mv1', '2301'), person('mv2', '2302')].join('\n'));
    const { feed } = await startedFeed(config());
    await slapd.modify(`dn: uid=mv1,${PEOPLE}\nchangetype: modrdn\nnewrdn: uid=mv1\ndeleteoldrdn: 1\nnewsuperior: ${FORMER}\n`);
    await slapd.modify(`dn: uid=mv2,${PEOPLE}\nchangetype: modrdn\nnewrdn: uid=mv2b\ndeleteoldrdn: 1\n`);
    const batch = await feed.poll();
    expect([...batch!.keys].sort()).toEqual(['2301', '2302']);
    expect(batch?.full).toBeUndefined();
  });

  it('with the default key (entryUUID) a move out of the base is named by reqEntryUUID', async () => {
    await slapd.add(person('uuid1', '2401'));
    const cfg = config({ users: { base: PEOPLE } });
    const uuid = (await new LdapSource(cfg).read()).users.find((u) => u.attributes['userName'] === 'uuid1')!.key;
    const { feed } = await startedFeed(cfg);
    await slapd.modify(`dn: uid=uuid1,${PEOPLE}\nchangetype: modrdn\nnewrdn: uid=uuid1\ndeleteoldrdn: 1\nnewsuperior: ${FORMER}\n`);
    expect((await feed.poll())?.keys).toEqual([uuid]);
  });

  it('someone who stops matching the user filter is named: the search does not use it', async () => {
    await slapd.add(person('flt1', '2501'));
    const { feed } = await startedFeed(config({ users: { base: PEOPLE, filter: '(&(objectClass=inetOrgPerson)(!(employeeType=contractor)))', key: { attribute: 'employeeNumber', format: 'string' } } }));
    await slapd.modify(`dn: uid=flt1,${PEOPLE}\nchangetype: modify\nadd: employeeType\nemployeeType: contractor\n`);
    expect((await feed.poll())?.keys).toEqual(['2501']);
  });

  it('a move out of the base whose key the log does not hold is named from where the entry went', async () => {
    await slapd.add(person('where1', '2601'));
    // Keyed by mail, which the overlay does not log on a rename.
    const { feed } = await startedFeed(config({ users: { base: PEOPLE, key: { attribute: 'mail', format: 'string' } } }));
    await slapd.modify(`dn: uid=where1,${PEOPLE}\nchangetype: modrdn\nnewrdn: uid=where1\ndeleteoldrdn: 1\nnewsuperior: ${FORMER}\n`);
    const batch = await feed.poll();
    expect(batch?.keys).toEqual(['where1@example.com']);
    expect(batch?.full).toBeUndefined();
  });

  it('a move nobody can name any more, or an OU moved out with people in it, asks for a full read', async () => {
    await slapd.add([person('gone1', '2651'), `dn: ou=sales,${PEOPLE}\nobjectClass: organizationalUnit\nou: sales\n`, person('sales1', '2652', `ou=sales,${PEOPLE}`)].join('\n'));
    const { feed } = await startedFeed(config({ users: { base: PEOPLE, key: { attribute: 'mail', format: 'string' } } }));
    // Moved out, then deleted there before the poll: the log's rename record holds no mail, and the entry is gone.
    await slapd.modify(`dn: uid=gone1,${PEOPLE}\nchangetype: modrdn\nnewrdn: uid=gone1\ndeleteoldrdn: 1\nnewsuperior: ${FORMER}\n`);
    await slapd.modify(`dn: uid=gone1,${FORMER}\nchangetype: delete\n`);
    const batch = await feed.poll();
    expect(batch?.full).toBe(`move of uid=gone1,${PEOPLE} to uid=gone1,${FORMER}: the entry is no longer there to tell who it was or whether entries under it left too: full read`);
    await batch!.commit();
    expect(await feed.poll()).toBeNull();

    await slapd.modify(`dn: ou=sales,${PEOPLE}\nchangetype: modrdn\nnewrdn: ou=sales\ndeleteoldrdn: 1\nnewsuperior: ${FORMER}\n`);
    const moved = await feed.poll();
    expect(moved?.keys).toEqual([]);
    expect(moved?.full).toBe(`move of ou=sales,${PEOPLE} to ou=sales,${FORMER}: the entries under it left the base too and are not named: full read`);
  });

  it('joining or leaving a group names the person: the memberof overlay leaves their timestamps alone, the accesslog does not', async () => {
    await slapd.add([person('grp1', '2751'), person('grp2', '2752'), person('grp3', '2753')].join('\n'));
    await slapd.add(`dn: cn=app,${GROUPS}\nobjectClass: groupOfNames\ncn: app\nmember: uid=grp1,${PEOPLE}\n`);
    const { feed } = await startedFeed(config());
    await slapd.modify(`dn: cn=app,${GROUPS}\nchangetype: modify\nadd: member\nmember: uid=grp2,${PEOPLE}\n-\ndelete: member\nmember: uid=grp1,${PEOPLE}\n`);
    const batch = await feed.poll();
    expect([...batch!.keys].sort()).toEqual(['2751', '2752']);
    await batch!.commit();
    // A replace names who was there before (reqOld) and who is there now.
    await slapd.modify(`dn: cn=app,${GROUPS}\nchangetype: modify\nreplace: member\nmember: uid=grp3,${PEOPLE}\n`);
    expect([...(await feed.poll())!.keys].sort()).toEqual(['2752', '2753']);
    // Without the accesslog, nobody: the full cycle finds it.
    const { feed: blind } = await startedFeed(config({}, {}));
    await slapd.modify(`dn: cn=app,${GROUPS}\nchangetype: modify\nadd: member\nmember: uid=grp1,${PEOPLE}\n`);
    expect(await blind.poll()).toBeNull();
  });

  it('a new feed on the stored position (a restart) finds what changed while none ran', async () => {
    await slapd.add(person('rst1', '2701'));
    const { dir } = await startedFeed(config());
    await slapd.modify(`dn: uid=rst1,${PEOPLE}\nchangetype: modify\nreplace: title\ntitle: Returned\n`);
    await slapd.add(person('rst2', '2702'));
    await slapd.modify(`dn: uid=rst1,${PEOPLE}\nchangetype: delete\n`);
    const again = new LdapChangeFeed(config(), new FileFeedTokenStore(dir), 'people');
    const batch = await again.poll();
    expect([...batch!.keys].sort()).toEqual(['2701', '2702']);
    await batch!.commit();
    expect(await again.poll()).toBeNull();
  });

  it('without an accesslog, adds and changes are named and deletions are not (the full cycle finds them)', async () => {
    await slapd.add([person('nolog1', '2801'), person('nolog2', '2802')].join('\n'));
    const cfg = config({}, {});
    const { feed } = await startedFeed(cfg);
    expect(feed.description).toBe(`ldap:${slapd.url} changes (modifyTimestamp)`);
    await slapd.modify(`dn: uid=nolog1,${PEOPLE}\nchangetype: delete\n`);
    expect(await feed.poll()).toBeNull();
    await slapd.modify(`dn: uid=nolog2,${PEOPLE}\nchangetype: modify\nreplace: title\ntitle: Still here\n`);
    await slapd.add(person('nolog3', '2803'));
    const batch = await feed.poll();
    expect([...batch!.keys].sort()).toEqual(['2802', '2803']);
  });

  it('an entry stamped in the future is synced and named in a warning, and the changes after it are still found', async () => {
    const { feed, tokens } = await startedFeed(config());
    expect(feed.warnings()).toEqual([]);
    // An import, a replica or a wrong clock: the entry says it was written in 2030.
    await slapd.add(`${person('future1', '2901')}createTimestamp: 20300101000000Z\nmodifyTimestamp: 20300101000000Z\n`, { relax: true });
    const batch = await feed.poll();
    expect(batch?.keys).toEqual(['2901']);
    expect(feed.warnings()).toEqual([
      expect.stringMatching(
        new RegExp(
          `^1 entry stamped ahead of this machine's clock: uid=future1,${PEOPLE} \\(20300101000000Z\\); ` +
            "each is synced when it changes, but the position does not follow it: check its modifyTimestamp and createTimestamp, or the server's clock$",
        ),
      ),
    ]);
    await batch!.commit();
    expect(stampsAheadOfClock((await tokens.get('people'))!)).toEqual([]);
    // Handed out once: the next poll finds it again, unchanged, and the warning stays.
    expect(await feed.poll()).toBeNull();
    expect(feed.warnings()).toHaveLength(1);

    // A leaver marked after it: found (the position stayed at the clock, not in 2030).
    await slapd.add(person('after1', '2902'));
    await slapd.modify(`dn: uid=after1,${PEOPLE}\nchangetype: modify\nreplace: employeeType\nemployeeType: terminated\n`);
    const later = await feed.poll();
    expect(later?.keys).toEqual(['2902']);
    await later!.commit();

    // The entry's own next change is handed out; its createTimestamp still says 2030.
    await slapd.modify(`dn: uid=future1,${PEOPLE}\nchangetype: modify\nreplace: title\ntitle: Back\n`);
    expect((await feed.poll())?.keys).toEqual(['2901']);
    expect(feed.warnings()).toHaveLength(1);
  });

  it('a position stored ahead of the clock (by a version that let an entry move it there) asks for a full read', async () => {
    const { feed, tokens } = await startedFeed(config({}, {}));
    const stored = JSON.parse((await tokens.get('people'))!) as { entries: { since: string } };
    stored.entries.since = '20300101000000Z';
    await tokens.set('people', JSON.stringify(stored));
    const batch = await feed.poll();
    expect(batch?.full).toMatch(/^the stored position 20300101000000Z is ahead of this machine's clock \(\d{14}Z\): full read$/);
    await batch!.commit();
    expect(stampsAheadOfClock((await tokens.get('people'))!)).toEqual([]);
    expect(await feed.poll()).toBeNull();
  });

  it('a position stored for another mode, or unreadable, asks for a full read', async () => {
    const dir = tempDir();
    const tokens = new FileFeedTokenStore(dir);
    await tokens.set('people', encodePosition({ mode: 'usn', server: 'CN=NTDS Settings,CN=DC1', invocationId: 'x', usn: '5' }));
    const feed = new LdapChangeFeed(config(), tokens, 'people');
    expect((await feed.poll())?.full).toBe('the stored position is for usn, the feed now reads modifyTimestamp: full read');
    await tokens.set('people', '{"v":1,"mode":"modifyTimestamp"}');
    expect((await feed.poll())?.full).toBe('the stored position cannot be read: full read');
  });
});

// ---------------------------------------------------------------------------------------------------
// Active Directory, through the scripted server.

const DOMAIN = 'DC=corp,DC=example';
const STAFF = `OU=Staff,${DOMAIN}`;
const DELETED = `CN=Deleted Objects,${DOMAIN}`;
const dsServiceName = (dc: string) => `CN=NTDS Settings,CN=${dc},CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,${DOMAIN}`;
const guid = (n: number) => Buffer.from(Array.from({ length: 16 }, (_, i) => (i === 15 ? n : 0x10 + i)));

interface AdObject {
  dn: string;
  guid: Buffer;
  usn: number;
  person: boolean;
  deleted?: { lastKnownParent: string };
}

/** One domain controller's view: USNs, its identity, objects live and deleted. */
class FakeDc {
  usn = 1000;
  dc = 'DC1';
  invocation = guid(0xa1);
  readonly objects: AdObject[] = [];

  add(cn: string, n: number, parent = STAFF, person = true): AdObject {
    const object = { dn: `CN=${cn},${parent}`, guid: guid(n), usn: ++this.usn, person };
    this.objects.push(object);
    return object;
  }
  change(object: AdObject): void {
    object.usn = ++this.usn;
  }
  move(object: AdObject, parent: string): void {
    object.dn = `${object.dn.split(',')[0]},${parent}`;
    object.usn = ++this.usn;
  }
  /** An OU deleted as a tree: its people's last known parent is the OU's own tombstone. */
  removeTree(ou: string, n: number): void {
    const tombstone = `${ou.split(',')[0]}\\0ADEL:${guidToString(guid(n))},${DELETED}`;
    for (const object of this.objects.filter((o) => !o.deleted && o.dn.toLowerCase().endsWith(`,${ou.toLowerCase()}`))) {
      object.deleted = { lastKnownParent: tombstone };
      object.dn = `${object.dn.split(',')[0]}\\0ADEL:${guidToString(object.guid)},${DELETED}`;
      object.usn = ++this.usn;
    }
  }
  remove(object: AdObject): void {
    const parent = object.dn.slice(object.dn.indexOf(',') + 1);
    object.deleted = { lastKnownParent: parent };
    object.dn = `${object.dn.split(',')[0]}\\0ADEL:${guidToString(object.guid)},${DELETED}`;
    object.usn = ++this.usn;
  }

  answer(search: ReceivedSearch, socket: Socket): void {
    const id = search.id;
    const send = (entries: AdObject[], extra: Buffer[] = []) =>
      socket.write(
        Buffer.concat([
          ...entries.map((o) =>
            entryMessage(id, o.dn, [
              ['objectGUID', [o.guid]],
              ['uSNChanged', [String(o.usn)]],
              ...(o.deleted ? ([['lastKnownParent', [o.deleted.lastKnownParent]]] as const) : []),
            ]),
          ),
          ...extra,
          doneMessage(id),
        ]),
      );
    const from = Number(/uSNChanged>=(\d+)/i.exec(search.filter)?.[1] ?? Number.NaN);
    const under = (o: AdObject, base: string) => o.dn.toLowerCase().endsWith(`,${base.toLowerCase()}`);
    if (search.base === '') {
      socket.write(Buffer.concat([entryMessage(id, '', [['highestCommittedUSN', [String(this.usn)]], ['dsServiceName', [dsServiceName(this.dc)]]]), doneMessage(id)]));
    } else if (search.base === dsServiceName(this.dc)) {
      socket.write(Buffer.concat([entryMessage(id, search.base, [['invocationId', [this.invocation]]]), doneMessage(id)]));
    } else if (search.base === DELETED) {
      // Without the show-deleted control AD returns no deleted object.
      const shown = search.controls.some((c) => c.oid === SHOW_DELETED_CONTROL);
      send(shown ? this.objects.filter((o) => o.deleted && o.usn >= from) : []);
    } else if (search.base === STAFF) {
      send(this.objects.filter((o) => !o.deleted && under(o, STAFF) && o.usn >= from));
    } else if (search.base === DOMAIN) {
      send(
        this.objects.filter((o) => !o.deleted && o.person && o.usn >= from),
        [referenceMessage(id, [`ldap://ForestDnsZones.corp.example/DC=ForestDnsZones,${DOMAIN}`])],
      );
    } else {
      socket.write(doneMessage(id, 32));
    }
  }
}

describe('Active Directory: uSNChanged on one domain controller', () => {
  let server: ScriptedLdap;
  let ad: FakeDc;

  beforeAll(async () => {
    server = await ScriptedLdap.start((search, socket) => ad.answer(search, socket));
  });
  afterAll(async () => {
    await server?.stop();
  });

  function adConfig(changes: Record<string, unknown> = {}): LdapSourceConfig {
    return sourceSchema.parse({
      type: 'ldap',
      url: server.url,
      flavor: 'ad',
      startTls: false,
      bind: { dn: 'CN=scim-sync,OU=Services,DC=corp,DC=example', password: new Secret('pw-ad-1', 'test') },
      users: { base: STAFF },
      changes,
    }) as LdapSourceConfig;
  }

  /** The searches the feed sent since `from`, without the paging control (compared on its own). */
  const sent = (from: number) =>
    server.searches.slice(from).map(({ base, scope, filter, attributes, controls }) => ({ base, scope, filter, attributes, controls: controls.filter((c) => c.oid !== '1.2.840.113556.1.4.319') }));

  it('first poll: reads the root DSE and invocationID, asks for a full read, stores highestCommittedUSN on commit', async () => {
    ad = new FakeDc();
    ad.add('Ann', 1);
    const tokens = new FileFeedTokenStore(tempDir());
    const feed = new LdapChangeFeed(adConfig(), tokens, 'ad');
    expect(feed.description).toBe(`ldap:${server.url} changes (uSNChanged)`);
    const mark = server.searches.length;
    const batch = await feed.poll();
    expect(batch).toMatchObject({ keys: [], full: 'no earlier position' });
    expect(sent(mark)).toEqual([
      { base: '', scope: 0, filter: '(objectClass=*)', attributes: ['highestCommittedUSN', 'dsServiceName'], controls: [] },
      { base: dsServiceName('DC1'), scope: 0, filter: '(objectClass=*)', attributes: ['invocationId'], controls: [] },
    ]);
    // The root DSE is read without paging; other searches page.
    expect(server.searches[mark]!.pageSize).toBeNull();
    expect(server.searches[mark + 1]!.pageSize).toBe(500);
    expect(await tokens.get('ad')).toBeUndefined();
    await batch!.commit();
    expect(JSON.parse((await tokens.get('ad'))!)).toEqual({ v: 1, mode: 'usn', server: dsServiceName('DC1'), invocationId: guidToString(guid(0xa1)), usn: '1001' });
  });

  it('names the people of an OU under the base that was deleted as a tree (their last parent is a tombstone too)', async () => {
    ad = new FakeDc();
    ad.add('Ann', 1);
    const team = `OU=Team,${STAFF}`;
    ad.add('Eve', 5, team);
    ad.add('Fay', 6, team);
    const feed = new LdapChangeFeed(adConfig(), new FileFeedTokenStore(tempDir()), 'ad');
    await (await feed.poll())!.commit();
    ad.removeTree(team, 0x70);
    const batch = await feed.poll();
    expect([...batch!.keys].sort()).toEqual([5, 6].map((n) => guidToString(guid(n))).sort());
  });

  it('names changed entries, tombstones under the base and people moved out of it; the USN moves on commit', async () => {
    ad = new FakeDc();
    const ann = ad.add('Ann', 1);
    const ben = ad.add('Ben', 2);
    const cat = ad.add('Cat', 3);
    const pc = ad.add('PC1', 9, `OU=Computers,${DOMAIN}`, false);
    ad.add('Dan', 4, `OU=Admins,${DOMAIN}`);
    const tokens = new FileFeedTokenStore(tempDir());
    const feed = new LdapChangeFeed(adConfig(), tokens, 'ad');
    await (await feed.poll())!.commit();
    const stored = ad.usn;
    expect(await feed.poll()).toBeNull();

    ad.change(ann);
    ad.remove(ben);
    ad.move(cat, `OU=Disabled,${DOMAIN}`);
    ad.remove(pc);
    const mark = server.searches.length;
    const batch = await feed.poll();
    expect([...batch!.keys].sort()).toEqual([1, 2, 3].map((n) => guidToString(guid(n))).sort());
    expect(batch!.description).toBe(`1 entry changed, 1 entry deleted, 1 person changed outside the base since USN ${stored} on DC1`);
    const from = `(uSNChanged>=${stored + 1})`;
    expect(sent(mark)).toEqual([
      { base: '', scope: 0, filter: '(objectClass=*)', attributes: ['highestCommittedUSN', 'dsServiceName'], controls: [] },
      { base: dsServiceName('DC1'), scope: 0, filter: '(objectClass=*)', attributes: ['invocationId'], controls: [] },
      { base: STAFF, scope: 2, filter: from, attributes: ['objectGUID', 'uSNChanged'], controls: [] },
      {
        base: DELETED,
        scope: 1,
        filter: `(&(isDeleted=TRUE)${from})`,
        attributes: ['objectGUID', 'lastKnownParent', 'uSNChanged'],
        controls: [{ oid: SHOW_DELETED_CONTROL, critical: true }],
      },
      { base: DOMAIN, scope: 2, filter: `(&(&(objectCategory=person)(objectClass=user))${from})`, attributes: ['objectGUID', 'uSNChanged'], controls: [] },
    ]);
    // Each person marked with their uSNChanged, so the service can tell a change since the last poll.
    expect([...batch!.marks!.keys()].sort()).toEqual([...batch!.keys].sort());
    // Not committed: the next poll asks from the same USN, and marks the same people as before.
    const again = await feed.poll();
    expect([...again!.keys].sort()).toEqual([...batch!.keys].sort());
    expect(again!.marks).toEqual(batch!.marks);
    const handedAt = ad.usn;
    ad.change(ann);
    const later = await feed.poll();
    const annKey = guidToString(guid(1));
    expect(later!.marks!.get(annKey)).not.toBe(batch!.marks!.get(annKey));
    expect(later!.marks!.get(guidToString(guid(2)))).toBe(batch!.marks!.get(guidToString(guid(2))));
    await batch!.commit();
    expect(JSON.parse((await tokens.get('ad'))!).usn).toBe(String(handedAt));
    expect((await feed.poll())!.keys).toEqual([annKey]);
    await later!.commit();
    expect(await feed.poll()).toBeNull();
  });

  it('a changed invocationID (a restore) or another domain controller asks for a full read', async () => {
    ad = new FakeDc();
    ad.add('Ann', 1);
    const tokens = new FileFeedTokenStore(tempDir());
    const feed = new LdapChangeFeed(adConfig(), tokens, 'ad');
    await (await feed.poll())!.commit();

    ad.invocation = guid(0xb2);
    const restored = await feed.poll();
    expect(restored).toMatchObject({ keys: [], full: 'domain controller DC1 changed invocationID: full read' });
    await restored!.commit();
    expect(JSON.parse((await tokens.get('ad'))!).invocationId).toBe(guidToString(guid(0xb2)));
    expect(await feed.poll()).toBeNull();

    ad.dc = 'DC2';
    ad.invocation = guid(0xc3);
    expect((await feed.poll())?.full).toBe('domain controller DC2 (was DC1) changed invocationID: full read');
  });

  it('mode off reads nothing', async () => {
    const mark = server.searches.length;
    const feed = new LdapChangeFeed(adConfig({ mode: 'off' }), new FileFeedTokenStore(tempDir()), 'ad');
    expect(await feed.poll()).toBeNull();
    expect(server.searches.length).toBe(mark);
  });
});

describe('configuration', () => {
  it('changes is optional: an existing config reads as mode auto, no accesslog, 5 s overlap', () => {
    const parsed = ldapSourceConfig('ldap://127.0.0.1:389');
    expect(parsed.changes).toEqual({ mode: 'auto', overlapSeconds: 5 });
    expect(() => ldapSourceConfig('ldap://127.0.0.1:389', { changes: { mode: 'dirsync' } })).toThrow();
    expect(() => ldapSourceConfig('ldap://127.0.0.1:389', { changes: { pollSeconds: 5 } })).toThrow();
  });
});

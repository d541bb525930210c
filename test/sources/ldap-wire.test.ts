/**
 * Our reading of LDAP search answers (ber.ts, search-messages.ts, message-channel.ts): answers
 * encoded by ldapts's BER writer are decoded to the same entries however the bytes are split;
 * garbage, a notice of disconnection, a dropped or silent connection fail the read with the server,
 * base and filter named; and a search left early releases the server's paging state.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/secret.js';
import { SourceError } from '../../src/errors.js';
import { AttributeList, AttributeNames } from '../../src/sources/ldap/attribute-list.js';
import { LdapConnection, type SearchRequest } from '../../src/sources/ldap/connection.js';
import type { LdapEntry } from '../../src/sources/ldap/entry.js';
import { LdapSource } from '../../src/sources/ldap/ldap-source.js';
import { MessageChannel, type SearchAnswer } from '../../src/sources/ldap/message-channel.js';
import { ldapSourceConfig } from '../support/ldap-fixtures.js';
import { doneMessage, entryMessage, noticeOfDisconnection, ScriptedLdap, type Script } from '../support/scripted-ldap.js';

const NOT_UTF8 = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]);

/** A socket stand-in: what the test emits is what the channel reads. */
class FakeSocket extends EventEmitter {
  destroyed = false;
  write(): boolean {
    return true;
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

function channelOn(): { socket: FakeSocket; channel: MessageChannel } {
  const socket = new FakeSocket();
  return { socket, channel: new MessageChannel(socket as unknown as Socket) };
}

const options = () => ({ binary: new Set(['objectguid']), names: new AttributeNames() });

/** Plain data of an entry, for comparing. */
function plain(entry: LdapEntry): { dn: string; attributes: Record<string, (string | Buffer)[]> } {
  return { dn: entry.dn, attributes: Object.fromEntries([...entry.attributes].map(([n, v]) => [n, [...v]])) };
}

/** Sends a request through the channel; gives the message id it was given and the answer to come. */
function ask(channel: MessageChannel, timeoutMs = 5000): { id: number; answer: Promise<SearchAnswer> } {
  let id = -1;
  const answer = channel.request(
    (messageId) => {
      id = messageId;
      return Buffer.alloc(0);
    },
    options(),
    timeoutMs,
  );
  return { id, answer };
}

describe('decoding search answers', () => {
  const answer = (id: number) =>
    Buffer.concat([
      entryMessage(id, 'uid=zoë,ou=People,dc=example,dc=com', [
        ['UID', ['zoë']],
        ['mail', ['zoe@example.com', 'z@example.com']],
        ['jpegPhoto', [NOT_UTF8]],
        ['objectGUID', [Buffer.from('0123456789abcdef')]],
        ['userCertificate;binary', [Buffer.from('cert')]],
        ['description', ['a real \uFFFD stays text']],
      ]),
      ...['ann', 'bob'].map((uid) =>
        entryMessage(id, `uid=${uid},ou=People,dc=example,dc=com`, [
          ['uid', [uid]],
          ['title', []],
          ['MAIL', [`${uid}@example.com`]],
          ['mail', ['second@example.com']],
        ]),
      ),
      doneMessage(id, 0, { cookie: 'next-page', critical: true }),
    ]);

  it('gives the same entries, values and cookie whether the bytes come whole, one at a time or in pieces', async () => {
    const results: SearchAnswer[] = [];
    // 100: a piece ends one message, holds the next whole and starts a third (only the straddling message is joined).
    for (const pieceSize of [Infinity, 1, 7, 100]) {
      const { socket, channel } = channelOn();
      const { id, answer: pending } = ask(channel);
      const bytes = answer(id);
      for (let i = 0; i < bytes.length; i += Math.min(pieceSize, bytes.length)) socket.emit('data', bytes.subarray(i, i + pieceSize));
      results.push(await pending);
    }
    const [whole, ...split] = results;
    expect(whole!.entries.map(plain)).toEqual([
      {
        dn: 'uid=zoë,ou=People,dc=example,dc=com',
        attributes: {
          uid: ['zoë'],
          mail: ['zoe@example.com', 'z@example.com'],
          // Not UTF-8: kept as the bytes; asked for as binary, or ;binary: bytes however they read.
          jpegphoto: [NOT_UTF8],
          objectguid: [Buffer.from('0123456789abcdef')],
          'usercertificate;binary': [Buffer.from('cert')],
          description: ['a real \uFFFD stays text'],
        },
      },
      // The server's spelling does not matter, a name it repeats is gathered, an empty one reads as no values.
      // (bob names them as ann did: the names are not read again, and still gathered.)
      { dn: 'uid=ann,ou=People,dc=example,dc=com', attributes: { uid: ['ann'], title: [], mail: ['ann@example.com', 'second@example.com'] } },
      { dn: 'uid=bob,ou=People,dc=example,dc=com', attributes: { uid: ['bob'], title: [], mail: ['bob@example.com', 'second@example.com'] } },
    ]);
    expect(whole!.cookie).toEqual(Buffer.from('next-page'));
    expect(whole!.result).toMatchObject({ resultCode: 0 });
    for (const other of split) expect(other.entries.map(plain)).toEqual(whole!.entries.map(plain));
  });

  it('an entry keeps its names when the next entry names its attributes differently', async () => {
    const { socket, channel } = channelOn();
    const { id, answer: pending } = ask(channel);
    socket.emit(
      'data',
      Buffer.concat([
        entryMessage(id, 'cn=a', [['cn', ['a']], ['sn', ['A']]]),
        entryMessage(id, 'cn=b', [['cn', ['b']], ['mail', ['b@x']], ['title', ['T']]]),
        entryMessage(id, 'cn=c', [['cn', ['c']]]),
        doneMessage(id),
      ]),
    );
    const { entries, cookie } = await pending;
    expect(entries.map(plain).map((e) => e.attributes)).toEqual([{ cn: ['a'], sn: ['A'] }, { cn: ['b'], mail: ['b@x'], title: ['T'] }, { cn: ['c'] }]);
    expect(entries[0]!.attributes).toBeInstanceOf(AttributeList);
    // No paging control in the answer: the server did not page, the answer is complete.
    expect(cookie).toBeNull();
  });

  it('entries naming their attributes in several ways, alternating, each keep their own names, bytes and ranges; one layout shares one array of names', async () => {
    // Long enough for a length in two bytes (0x81 0xNN) and a message in three (0x82 ...).
    const long = 'd'.repeat(300);
    const guid = Buffer.from('0123456789abcdef');
    const full = (uid: string) => [['uid', [uid]], ['displayName', [`Dr ${uid}`]], ['mail', [`${uid}@a`, `${uid}@b`]], ['objectGUID', [guid]], ['description', [long]]] as const;
    const noDisplayName = (uid: string) => [['uid', [uid]], ['mail', [`${uid}@a`]], ['objectGUID', [guid]], ['description', [long]]] as const;
    // The same name twice (gathered) and a range option (AD range retrieval).
    const odd = (uid: string) => [['uid', [uid]], ['MAIL', [`${uid}@a`]], ['mail', [`${uid}@b`]], ['member;range=0-1', ['cn=x', 'cn=y']]] as const;
    const layouts = [full('a'), noDisplayName('b'), full('c'), odd('d'), noDisplayName('e'), [], full('f'), [['title', []], ['uid', ['g']]] as const, full('h'), odd('i')];
    const expected = layouts.map((attributes) => {
      const gathered: Record<string, (string | Buffer)[]> = {};
      for (const [name, values] of attributes) (gathered[name.toLowerCase()] ??= []).push(...values);
      return gathered;
    });
    for (const pieceSize of [Infinity, 1, 13]) {
      const { socket, channel } = channelOn();
      const { id, answer: pending } = ask(channel);
      const bytes = Buffer.concat([...layouts.map((attributes, i) => entryMessage(id, `cn=${i}`, attributes)), doneMessage(id)]);
      for (let i = 0; i < bytes.length; i += Math.min(pieceSize, bytes.length)) socket.emit('data', bytes.subarray(i, i + pieceSize));
      const { entries } = await pending;
      expect(entries.map(plain).map((e) => e.attributes)).toEqual(expected);
      const lists = entries.map((e) => e.attributes as AttributeList);
      // objectGUID stays bytes in both layouts that hold it, at different places.
      expect(lists[0]!.get('objectguid')).toEqual([guid]);
      expect(lists[1]!.get('objectguid')).toEqual([guid]);
      expect(lists.map((l) => l.ranged)).toEqual([false, false, false, true, false, false, false, false, false, true]);
      // Entries of one layout share its names; other layouts have their own.
      expect(lists[2]!.names).toBe(lists[0]!.names);
      expect(lists[8]!.names).toBe(lists[0]!.names);
      expect(lists[4]!.names).toBe(lists[1]!.names);
      expect(lists[1]!.names).not.toBe(lists[0]!.names);
      expect(lists[1]!.names).toEqual(['uid', 'mail', 'objectguid', 'description']);
      expect(lists[5]!.names).toEqual([]);
    }
  });

  it('a server naming its attributes differently in every entry (more layouts than are kept) is still read right', async () => {
    const { socket, channel } = channelOn();
    const { id, answer: pending } = ask(channel);
    const count = 2500;
    socket.emit('data', Buffer.concat([...Array.from({ length: count }, (_, i) => entryMessage(id, `cn=${i}`, [['cn', [`${i}`]], [`x${i}`, [`v${i}`]], ['sn', ['s']]])), doneMessage(id)]));
    const { entries } = await pending;
    expect(entries).toHaveLength(count);
    for (const i of [0, 1023, 1024, 1025, 2047, 2048, count - 1]) expect(plain(entries[i]!).attributes).toEqual({ cn: [`${i}`], [`x${i}`]: [`v${i}`], sn: ['s'] });
  });

  it('answers to two overlapping requests are kept apart by message id', async () => {
    const { socket, channel } = channelOn();
    const first = ask(channel);
    const second = ask(channel);
    socket.emit('data', Buffer.concat([entryMessage(first.id, 'cn=1', []), entryMessage(second.id, 'cn=2', []), doneMessage(second.id), doneMessage(first.id)]));
    expect((await first.answer).entries.map((e) => e.dn)).toEqual(['cn=1']);
    expect((await second.answer).entries.map((e) => e.dn)).toEqual(['cn=2']);
  });

  it('garbage fails every waiting request and closes the connection; so does a truncated element', async () => {
    for (const bytes of [Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'), Buffer.from([0x30, 0x05, 0x02, 0x01, 0x07, 0x64, 0x09])]) {
      const { socket, channel } = channelOn();
      const { answer: pending } = ask(channel);
      socket.emit('data', bytes);
      await expect(pending).rejects.toThrow(/not valid LDAP/);
      expect(socket.destroyed).toBe(true);
      await expect(ask(channel).answer).rejects.toThrow(/not valid LDAP/);
    }
  });
});

describe('searches against a scripted server', () => {
  let server: ScriptedLdap | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  /** Two people per page, three pages; `misbehave` may replace the answer to a page (0-based). */
  const pages = (misbehave?: (page: number, search: Parameters<Script>[0], socket: Parameters<Script>[1]) => boolean): Script => (search, socket) => {
    const page = search.cookie === '' ? 0 : Number(search.cookie.replace('page-', ''));
    if (misbehave?.(page, search, socket)) return;
    const people = [2 * page, 2 * page + 1].map((n) =>
      entryMessage(search.id, `uid=p${n},ou=People,dc=example,dc=com`, [
        ['entryUUID', [`00000000-0000-0000-0000-00000000000${n}`]],
        ['uid', [`p${n}`]],
      ]),
    );
    socket.write(Buffer.concat([...people, doneMessage(search.id, 0, { cookie: page < 2 ? `page-${page + 1}` : '' })]));
  };

  const config = (over: Record<string, unknown> = {}) => ldapSourceConfig(server!.url, { pageSize: 2, users: { base: 'ou=People,dc=example,dc=com' }, ...over });

  async function readError(over: Record<string, unknown> = {}): Promise<SourceError> {
    const error = await new LdapSource(config(over)).read().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SourceError);
    return error as SourceError;
  }

  it('people whose entries name their attributes in different ways, alternating, are each mapped from their own', async () => {
    const person = (search: Parameters<Script>[0], n: number) =>
      entryMessage(search.id, `uid=p${n},ou=People,dc=example,dc=com`, [
        ['entryUUID', [`00000000-0000-0000-0000-00000000000${n}`]],
        ['uid', [`p${n}`]],
        // Every other person has no displayName (the names after it change places); every third has a second mail (the same names).
        ...(n % 2 === 0 ? [['displayName', [`P ${n}`]] as const] : []),
        ['mail', n % 3 === 0 ? [`p${n}@a`, `p${n}@b`] : [`p${n}@a`]],
        ['title', [`T${n}`]],
      ]);
    server = await ScriptedLdap.start((search, socket) => socket.write(Buffer.concat([...[0, 1, 2, 3, 4, 5].map((n) => person(search, n)), doneMessage(search.id, 0, { cookie: '' })])));
    const snapshot = await new LdapSource(config()).read();
    expect(snapshot.users.map((u) => [u.attributes['userName'], u.attributes['displayName'], u.attributes['email'], u.attributes['title']])).toEqual(
      [0, 1, 2, 3, 4, 5].map((n) => [`p${n}`, n % 2 === 0 ? `P ${n}` : null, n % 3 === 0 ? [`p${n}@a`, `p${n}@b`] : `p${n}@a`, `T${n}`]),
    );
  });

  it('pages through, asking for each next page with the cookie before handing the last one on', async () => {
    server = await ScriptedLdap.start(pages());
    const snapshot = await new LdapSource(config()).read();
    expect(snapshot.users.map((u) => u.attributes['userName'])).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5']);
    expect(server.searches.map((s) => [s.pageSize, s.cookie])).toEqual([
      [2, ''],
      [2, 'page-1'],
      [2, 'page-2'],
    ]);
  });

  it('garbage in the middle of the read fails it whole, naming the server, base and filter', async () => {
    server = await ScriptedLdap.start(pages((page, _s, socket) => page === 1 && socket.write('HTTP/1.1 400 Bad Request\r\n\r\n')));
    const error = await readError();
    expect(error.message).toBe(
      `LDAP ${server.url}: search base "ou=People,dc=example,dc=com" filter (objectClass=inetOrgPerson): ` +
        'the server sent a message that is not valid LDAP (a message starts with 0x48, not a SEQUENCE) after 2 entries',
    );
    // A length no entry could have is refused at once, not waited for.
    await server.stop();
    server = await ScriptedLdap.start(pages((page, _s, socket) => page === 1 && socket.write(Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff]))));
    expect((await readError()).message).toMatch(/not valid LDAP \(a message claims 2147483653 bytes, more than the 536870912 .*\) after 2 entries$/);
  });

  it('a notice of disconnection fails the read with what the server said', async () => {
    server = await ScriptedLdap.start(pages((page, _s, socket) => page === 2 && socket.write(noticeOfDisconnection('server shutting down'))));
    const error = await readError();
    expect(error.message).toMatch(/the server is closing the connection: server shutting down after 4 entries$/);
  });

  it('a connection dropped mid-page fails the read', async () => {
    server = await ScriptedLdap.start(
      pages((page, search, socket) => {
        if (page !== 1) return false;
        socket.end(entryMessage(search.id, 'uid=p2,ou=People,dc=example,dc=com', [['uid', ['p2']]]));
        return true;
      }),
    );
    const error = await readError();
    expect(error.message).toMatch(/the connection to the server was lost after 2 entries$/);
  });

  it('a server that stops paging mid-read (a page without the paged-results control) fails the read, not a shorter directory', async () => {
    server = await ScriptedLdap.start(
      pages((page, search, socket) => {
        if (page !== 1) return false;
        socket.write(Buffer.concat([entryMessage(search.id, 'uid=p2,ou=People,dc=example,dc=com', [['entryUUID', ['00000000-0000-0000-0000-000000000002']], ['uid', ['p2']]]), doneMessage(search.id, 0)]));
        return true;
      }),
    );
    expect((await readError()).message).toMatch(/the server stopped paging after 3 entries \(a page came back without the paged-results control\): the answer is incomplete/);
    // A server that does not page at all answers once, without the control: that is the whole answer.
    await server.stop();
    server = await ScriptedLdap.start((search, socket) =>
      socket.write(Buffer.concat([entryMessage(search.id, 'uid=p0,ou=People,dc=example,dc=com', [['entryUUID', ['00000000-0000-0000-0000-000000000000']], ['uid', ['p0']]]), doneMessage(search.id, 0)])),
    );
    expect((await new LdapSource(config()).read()).users.map((u) => u.attributes['userName'])).toEqual(['p0']);
  });

  it('a server that goes silent mid-read times out', async () => {
    server = await ScriptedLdap.start(pages((page) => page === 1));
    const error = await readError({ timeoutMs: 300 });
    expect(error.message).toMatch(/no complete answer within 300 ms after 2 entries$/);
  });

  it('a search left after its first page releases the paging state with a size-0 request', async () => {
    server = await ScriptedLdap.start(pages());
    const connection = await LdapConnection.open(config());
    try {
      const request: SearchRequest = { base: 'ou=People,dc=example,dc=com', scope: 'sub', filter: '(uid=*)', attributes: ['uid'] };
      for await (const page of connection.search(request)) {
        expect(page).toHaveLength(2);
        break;
      }
      // The next page was already asked for; its cookie is handed back with size 0.
      expect(server.searches.map((s) => [s.pageSize, s.cookie])).toEqual([
        [2, ''],
        [2, 'page-1'],
        [0, 'page-2'],
      ]);
      // The connection is still good for the next search.
      let count = 0;
      for await (const page of connection.search(request)) count += page.length;
      expect(count).toBe(6);
    } finally {
      await connection.close();
    }
  });

  /**
   * People as `pages()` gives them, p5 with a second mail asked for by range retrieval (a base
   * search made while the last page is handled), and one group of p0 under ou=Groups.
   */
  const peopleAndGroups = (rangeAnswer: (search: Parameters<Script>[0]) => Buffer[]): Script => {
    const people = pages((page, search, socket) => {
      if (page !== 2 || search.scope !== 2) return false;
      socket.write(
        Buffer.concat([
          entryMessage(search.id, 'uid=p4,ou=People,dc=example,dc=com', [['entryUUID', ['00000000-0000-0000-0000-000000000004']], ['uid', ['p4']]]),
          entryMessage(search.id, 'uid=p5,ou=People,dc=example,dc=com', [['entryUUID', ['00000000-0000-0000-0000-000000000005']], ['uid', ['p5']], ['mail;range=0-0', ['p5@example.com']]]),
          doneMessage(search.id, 0, { cookie: '' }),
        ]),
      );
      return true;
    });
    return (search, socket) => {
      if (search.base.startsWith('ou=Groups')) {
        socket.write(
          Buffer.concat([
            entryMessage(search.id, 'cn=g,ou=Groups,dc=example,dc=com', [['entryUUID', ['10000000-0000-0000-0000-000000000000']], ['cn', ['g']], ['member', ['uid=p0,ou=People,dc=example,dc=com']]]),
            doneMessage(search.id),
          ]),
        );
      } else if (search.scope === 0) socket.write(Buffer.concat(rangeAnswer(search)));
      else people(search, socket);
    };
  };
  const withGroups = () => ({ groups: { base: 'ou=Groups,dc=example,dc=com', filter: '(objectClass=groupOfNames)' } });

  it('the group search is sent as the last people page is answered, before that page is handled', async () => {
    server = await ScriptedLdap.start(
      peopleAndGroups((search) => [entryMessage(search.id, search.base, [['mail;range=1-*', ['p5.second@example.com']]]), doneMessage(search.id)]),
    );
    const snapshot = await new LdapSource(config(withGroups())).read();
    // The range retrieval of p5's mails happens while the last page is handled: the group search is already out.
    expect(server.searches.map((s) => [s.base, s.cookie])).toEqual([
      ['ou=People,dc=example,dc=com', ''],
      ['ou=People,dc=example,dc=com', 'page-1'],
      ['ou=People,dc=example,dc=com', 'page-2'],
      ['ou=Groups,dc=example,dc=com', ''],
      ['uid=p5,ou=People,dc=example,dc=com', ''],
    ]);
    expect(snapshot.users).toHaveLength(6);
    expect(snapshot.groups.map((g) => [g.displayName, g.memberKeys])).toEqual([['g', ['00000000-0000-0000-0000-000000000000']]]);
  });

  it('a read that fails on the last people page after the group search went out fails whole', async () => {
    // The range retrieval is answered without the attribute: the read cannot be complete.
    server = await ScriptedLdap.start(peopleAndGroups((search) => [entryMessage(search.id, search.base, []), doneMessage(search.id)]));
    const error = await readError(withGroups());
    expect(error.message).toBe('uid=p5,ou=People,dc=example,dc=com: range retrieval of mail stopped at 1: the server answered without the attribute');
    expect(server.searches.map((s) => s.base)).toContain('ou=Groups,dc=example,dc=com');
  });

  it('the bind password never appears in an error', async () => {
    server = await ScriptedLdap.start(pages((page, _s, socket) => page === 0 && socket.write(Buffer.from('garbage'))));
    const error = await readError({ bind: { dn: 'cn=reader,dc=example,dc=com', password: new Secret('s3cret-pw-77', 'test') } });
    expect(JSON.stringify(error.toJSON()) + error.message).not.toContain('s3cret-pw-77');
  });
});

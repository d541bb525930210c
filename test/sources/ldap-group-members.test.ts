/**
 * OpenLDAP leaves out attributes the reading account may not read. A groupOfNames (or
 * groupOfUniqueNames) must have a member: sent without one, its members were hidden, not removed,
 * and the group is held rather than read as empty (which would remove everyone from it in every app).
 */
import { describe, expect, it } from 'vitest';
import { sourceSchema, type LdapSourceConfig } from '../../src/config/schema/index.js';
import type { LdapSearcher, SearchRequest } from '../../src/sources/ldap/connection.js';
import type { LdapEntry, LdapValue } from '../../src/sources/ldap/entry.js';
import { ldapSettings } from '../../src/sources/ldap/flavor-defaults.js';
import { readDirectory } from '../../src/sources/ldap/ldap-source.js';

class Directory implements LdapSearcher {
  readonly requests: SearchRequest[] = [];
  constructor(private readonly answer: (request: SearchRequest) => LdapEntry[]) {}
  async *search(request: SearchRequest): AsyncIterable<readonly LdapEntry[]> {
    this.requests.push(request);
    yield this.answer(request);
  }
}

const entry = (dn: string, attributes: Record<string, LdapValue[]>): LdapEntry => ({ dn, attributes: new Map(Object.entries(attributes)) });
const PEOPLE = 'ou=people,dc=example,dc=com';
const person = (uid: string) => entry(`uid=${uid},${PEOPLE}`, { entryuuid: [`00000000-0000-0000-0000-0000000000${uid.slice(-2)}`], uid: [uid], mail: [`${uid}@example.com`] });

const config = sourceSchema.parse({
  type: 'ldap',
  url: 'ldap://127.0.0.1:389',
  users: { base: PEOPLE },
  groups: { base: 'ou=groups,dc=example,dc=com' },
}) as LdapSourceConfig;

describe('a group whose members were not sent', () => {
  it('a groupOfNames without member is held with an issue; an empty posixGroup is just empty', async () => {
    const directory = new Directory((request) =>
      request.base === PEOPLE
        ? [person('u01'), person('u02')]
        : [
            entry('cn=admins,ou=groups,dc=example,dc=com', { entryuuid: ['aaaaaaaa-0000-0000-0000-000000000001'], cn: ['admins'], objectclass: ['top', 'groupOfNames'] }),
            entry('cn=staff,ou=groups,dc=example,dc=com', { entryuuid: ['aaaaaaaa-0000-0000-0000-000000000002'], cn: ['staff'], objectclass: ['groupOfNames'], member: [`uid=u01,${PEOPLE}`] }),
            entry('cn=lab,ou=groups,dc=example,dc=com', { entryuuid: ['aaaaaaaa-0000-0000-0000-000000000003'], cn: ['lab'], objectclass: ['posixGroup'] }),
          ],
    );
    const snapshot = await readDirectory(directory, ldapSettings(config), 'ldap');
    const groupSearch = directory.requests.find((r) => r.base.startsWith('ou=groups'))!;
    expect(groupSearch.attributes).toContain('objectClass');
    expect(snapshot.groups.map((g) => [g.displayName, g.memberKeys.length])).toEqual([
      ['staff', 1],
      ['lab', 0],
    ]);
    expect(snapshot.issues.map((i) => [i.code, i.message])).toEqual([
      [
        'LDAP_MEMBERS_UNREADABLE',
        'cn=admins,ou=groups,dc=example,dc=com: no member was sent, though every groupOfNames has one (may the reading account read it?): the group is held, its members left as they are in every app',
      ],
    ]);
    expect(snapshot.heldKeys).toContain('aaaaaaaa-0000-0000-0000-000000000001');
  });
});

/** LDIF for the LDAP tests and the benchmark: the hand-written fixture and generated bulk people. */
import { readFileSync } from 'node:fs';
import { sourceSchema, type LdapSourceConfig } from '../../src/config/schema/index.js';
import { Secret } from '../../src/config/secret.js';
import { BASE_DN, READER_DN, READER_PASSWORD } from './slapd.js';

export const PEOPLE = `ou=people,${BASE_DN}`;
export const GROUPS = `ou=groups,${BASE_DN}`;

export function directoryLdif(): string {
  return readFileSync(new URL('../fixtures/ldap/directory.ldif', import.meta.url), 'utf8');
}

export function bulkUid(i: number): string {
  return `bulk${String(i).padStart(6, '0')}`;
}

/** `count` inetOrgPersons bulk000000.. with the attributes the default mapping reads. */
export function bulkPeopleLdif(count: number, from = 0): string {
  const parts: string[] = [];
  for (let i = from; i < from + count; i++) {
    const uid = bulkUid(i);
    parts.push(
      `dn: uid=${uid},${PEOPLE}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: Bulk Person ${i}\ngivenName: Bulk\nsn: Person ${i}\n` +
        `mail: ${uid}@example.com\ntitle: Engineer\ndepartmentNumber: Dept ${i % 50}\nemployeeNumber: ${100000 + i}\n` +
        `telephoneNumber: +1 555 ${String(i).padStart(7, '0')}\n`,
    );
  }
  return parts.join('\n');
}

/** A groupOfNames holding bulk people 0..count-1. */
export function bigGroupLdif(name: string, count: number): string {
  const members = Array.from({ length: count }, (_, i) => `member: uid=${bulkUid(i)},${PEOPLE}`).join('\n');
  return `dn: cn=${name},${GROUPS}\nobjectClass: groupOfNames\ncn: ${name}\n${members}\n`;
}

/** A validated LDAP source config for the test slapd, bound as the reader; `over` is merged on top. */
export function ldapSourceConfig(url: string, over: Record<string, unknown> = {}): LdapSourceConfig {
  return sourceSchema.parse({
    type: 'ldap',
    url,
    startTls: false,
    bind: { dn: READER_DN, password: new Secret(READER_PASSWORD, 'test') },
    pageSize: 300,
    users: { base: PEOPLE, disabled: { attribute: 'employeeType', values: ['terminated'] } },
    ...over,
  }) as LdapSourceConfig;
}

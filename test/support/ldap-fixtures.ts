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

const GIVEN = ['Anna', 'Bernd', 'Chloé', 'Dmitri', 'Eve', 'Farah', 'Giulia', 'Hiro', 'Ines', 'Jonas'];
const FAMILY = ['Schmidt', 'Okafor', 'Lefèvre', 'Ivanova', 'Nguyen', 'Haddad', 'Rossi', 'Tanaka', 'García', 'Berg'];
const CJK = [['伟', '王'], ['芳', '李'], ['娜', '张'], ['敏', '刘']] as const;
const DEPARTMENTS = 50;
/** Each person's manager is a person this many times lower in number: a tree about five levels deep. */
const SPAN = 8;

/**
 * `count` people as a directory holds them: a manager DN (a tree under bulk000000), displayName (but
 * every tenth person, with a Chinese name, has only cn), cn, two or three mails, title, department,
 * phone; and the groups: one per department, three large ones (everyone, half, the managers) and a
 * group of the department groups (nesting).
 */
export function realisticDirectoryLdif(count: number): string {
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    const uid = bulkUid(i);
    const cjk = i % 10 === 9 ? CJK[i % CJK.length]! : null;
    const given = cjk ? cjk[0] : GIVEN[i % GIVEN.length]!;
    const family = cjk ? cjk[1] : FAMILY[Math.floor(i / GIVEN.length) % FAMILY.length]!;
    const cn = cjk ? `${family}${given}${i}` : `${given} ${family} ${i}`;
    const mails = [`${uid}@example.com`, `${uid}.alias@example.com`, ...(i % 2 === 0 ? [`${uid}@corp.example.net`] : [])];
    parts.push(
      `dn: uid=${uid},${PEOPLE}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${cn}\ngivenName: ${given}\nsn: ${family}\n` +
        (cjk ? '' : `displayName: ${given} ${family} (${i})\n`) +
        mails.map((m) => `mail: ${m}\n`).join('') +
        `title: ${['Engineer', 'Senior Engineer', 'Analyst', 'Manager', 'Director'][i % 5]}\ndepartmentNumber: Dept ${i % DEPARTMENTS}\n` +
        `employeeNumber: ${100000 + i}\ntelephoneNumber: +1 555 ${String(i).padStart(7, '0')}\n` +
        (i > 0 ? `manager: uid=${bulkUid(Math.floor((i - 1) / SPAN))},${PEOPLE}\n` : ''),
    );
  }
  const group = (name: string, members: readonly string[]) => `dn: cn=${name},${GROUPS}\nobjectClass: groupOfNames\ncn: ${name}\n${members.map((m) => `member: ${m}`).join('\n')}\n`;
  const person = (i: number) => `uid=${bulkUid(i)},${PEOPLE}`;
  const range = (n: number, pick: (i: number) => boolean) => Array.from({ length: n }, (_, i) => i).filter(pick).map(person);
  for (let d = 0; d < DEPARTMENTS && d < count; d++) parts.push(group(`dept-${d}`, range(count, (i) => i % DEPARTMENTS === d)));
  parts.push(group('everyone', range(count, () => true)));
  parts.push(group('half', range(count, (i) => i % 2 === 0)));
  parts.push(group('managers', range(Math.ceil(count / SPAN), () => true)));
  parts.push(group('all-departments', Array.from({ length: Math.min(DEPARTMENTS, count) }, (_, d) => `cn=dept-${d},${GROUPS}`)));
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

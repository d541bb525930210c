/**
 * One person from LDAP (explain, provision, and the service's change-driven reads): the search is
 * narrowed to that person's key, the manager is resolved by a base search of the manager's entry,
 * and the person's own group memberships come with them: a person in sync plans nothing (no manager
 * cleared, no membership dropped), and a change to them is one PATCH.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Harness } from '../support/harness.js';
import { GROUPS, PEOPLE, realisticDirectoryLdif } from '../support/ldap-fixtures.js';
import { READER_DN, READER_PASSWORD, Slapd } from '../support/slapd.js';

let slapd: Slapd;
let h: Harness;
beforeAll(async () => {
  slapd = await Slapd.start();
  await slapd.add(realisticDirectoryLdif(40));
  h = await Harness.start();
  writeFileSync(
    h.configFile,
    `version: 1
state: { dir: state }
source:
  type: ldap
  url: ${slapd.url}
  startTls: false
  bind: { dn: "${READER_DN}", password: "\${env:TEST_LDAP_PASSWORD}" }
  users: { base: "${PEOPLE}", attributes: { userName: mail, title: title } }
  groups: { base: "${GROUPS}" }
safety: { maxDeactivatePercent: 100 }
targets:
  app:
    url: ${h.sandbox.url}
    auth: { type: bearer, token: "\${env:TEST_SCIM_TOKEN}" }
`,
  );
  process.env['TEST_LDAP_PASSWORD'] = READER_PASSWORD;
  const first = await h.run();
  if (first.code !== 0) throw new Error(first.err + first.out);
});
afterAll(async () => {
  await h?.close();
  await slapd?.stop();
});

const account = (uid: string) => h.sandbox.store.users().find((u) => String((u['emails'] as { value: string }[] | undefined)?.[0]?.value ?? u['userName']).startsWith(`${uid}@`))!;

it('explains a person in sync, manager and groups included, as nothing to do', async () => {
  const person = account('bulk000017');
  const manager = (person['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'] as { manager?: { value: string } } | undefined)?.manager?.value;
  expect(manager).toBe(account('bulk000002')['id']);
  const r = await h.cli('explain', '--config', h.configFile, '--user', String(person['externalId']), '--json');
  expect(r.code, r.err).toBe(0);
  const doc = JSON.parse(r.out) as { targets: { operations: unknown[] }[] };
  expect(doc.targets[0]!.operations).toEqual([]);
});

it('provisions a change to one person with one PATCH, reading only them', async () => {
  await slapd.modify(`dn: uid=bulk000021,${PEOPLE}\nchangetype: modify\nreplace: title\ntitle: Principal\n`);
  h.sandbox.clearRequests();
  const person = account('bulk000021');
  const r = await h.cli('provision', '--config', h.configFile, '--user', String(person['externalId']));
  expect(r.code, r.err + r.out).toBe(0);
  expect(h.writes().map((w) => `${w.method} ${w.path}`)).toEqual([`PATCH /Users/${String(person['id'])}`]);
  expect(account('bulk000021')['title']).toBe('Principal');
});

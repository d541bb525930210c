/**
 * Whether a source's read waits on nothing but a local file (SourceDirectory.local): a plan reads
 * a target's listed pages after such a read, not during it (make-plan.ts, early-listing.ts).
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createSource } from '../../src/sources/create-source.js';
import { tempDirs } from '../support/temp-dirs.js';

const newDir = tempDirs('locality-');

const env = { APP_TOKEN: 'app-token-0123456789abcdef', LDAP_PW: 'ldap-password-0123456789', GOOGLE_KEY: 'google-service-account-key-0123456789' };
const targets = `
targets:
  app: { url: "https://app.example/scim/v2", auth: { type: bearer, token: "\${env:APP_TOKEN}" } }
`;
const hr = '{ type: csv, path: hr.csv, key: employee_id }';
const ldap = '{ type: ldap, url: "ldaps://dc.example.com", bind: { dn: "cn=reader", password: "${env:LDAP_PW}" }, users: { base: "ou=people,dc=example,dc=com" } }';
const google = '{ type: google, credentials: "${env:GOOGLE_KEY}", subject: admin@example.com }';

function sourceOf(yaml: string) {
  return createSource(parseConfig(`${yaml}${targets}`, join(newDir(), 'org.yaml'), env).config.source);
}

it('a CSV read is local; an LDAP or Google read waits on a server', () => {
  expect(sourceOf(`source: ${hr}\n`).local).toBe(true);
  expect(sourceOf(`source: ${ldap}\n`).local).toBe(false);
  expect(sourceOf(`source: ${google}\n`).local).toBe(false);
});

it('a joined read is local only when every source joined is', () => {
  const joined = (second: string) => `sources:\n  hr: ${hr}\n  other: ${second}\njoin:\n  primary: hr\n  secondaries: { other: { on: [employee_id, employeeNumber] } }\n`;
  expect(sourceOf(joined('{ type: csv, path: badges.csv, key: employeeNumber }')).local).toBe(true);
  expect(sourceOf(joined(ldap)).local).toBe(false);
});

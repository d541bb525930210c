/**
 * Templates and scope clauses against what the source offers (issue #10): a typo is a config error
 * with the nearest name; defaults are not checked. The CSV offer is its header (read through the
 * source's own decoding), LDAP's its attribute map, Google's a fixed set.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { attributeProblems } from '../../src/mapping/check-attributes.js';
import { parseConfig } from '../../src/config/load.js';
import { nearestName } from '../../src/config/nearest-name.js';
import { createSource } from '../../src/sources/create-source.js';

function config(source: string, target: string) {
  return parseConfig(
    `source: ${source}
targets:
  app:
    url: https://app.example/scim/v2
    auth: { type: bearer, token: "\${env:T}" }
${target}`,
    join(mkdtempSync(join(tmpdir(), 'attrs-')), 'org.yaml'),
    { T: 'token-12345678' },
  ).config;
}

describe('nearest name', () => {
  it('suggests the closest name within a typo, ignoring case', () => {
    expect(nearestName('jobtitle', ['title', 'job_title', 'department'])).toBe('job_title');
    expect(nearestName('Departmnet', ['title', 'department'])).toBe('department');
    expect(nearestName('givneName', ['givenName', 'familyName'])).toBe('givenName');
    expect(nearestName('salary', ['title', 'department'])).toBeUndefined();
  });
});

describe('attribute problems', () => {
  it('names each template, scope clause and role that names an attribute the source lacks, with the nearest name', () => {
    const c = config(
      '{ type: csv, path: people.csv, key: id }',
      `    mapping:
      title: "{jobtitle}"
      displayName: { value: "{first} {last}", default: "{mail | lower}" }
      nickName: "{first}"
      phoneNumbers[type eq "work"].value: null
    scope:
      - { dept: { eq: Sales } }
    roles:
      - { value: "{Role}" }
`,
    );
    const offered = new Set(['id', 'first', 'last', 'email', 'job_title', 'department', 'role']);
    expect(attributeProblems(c, offered, 'csv:people.csv')).toEqual([
      'targets.app.mapping.title: "{jobtitle}" names attribute jobtitle, which the source (csv:people.csv) does not have; did you mean job_title?',
      'targets.app.mapping.displayName.default: "{mail | lower}" names attribute mail, which the source (csv:people.csv) does not have; did you mean email?',
      'targets.app.scope[0].dept: the clause names attribute dept, which the source (csv:people.csv) does not have',
      'targets.app.roles[0].value: "{Role}" names attribute Role, which the source (csv:people.csv) does not have; did you mean role?',
    ]);
  });

  it('leaves the default mapping alone, and passes a config whose templates all resolve', () => {
    const c = config('{ type: csv, path: people.csv, key: id }', '    mapping: { userName: "{email | lower}" }\n');
    expect(attributeProblems(c, new Set(['id', 'email']), 'csv:people.csv')).toEqual([]);
  });

  it('a canonical name written in another case than the default mappings read (columns: { username: email }) is a problem; a header column is not', () => {
    const c = config('{ type: csv, path: people.csv, key: id, columns: { username: email, GivenName: first, costcenter: cc } }', '');
    expect(attributeProblems(c, new Set(['id', 'email', 'first', 'cc', 'username', 'GivenName', 'costcenter', 'Department']), 'csv:people.csv')).toEqual([
      'source.columns.username: the default mappings read userName, not username; did you mean userName? (attribute names are case-sensitive)',
      'source.columns.GivenName: the default mappings read givenName, not GivenName; did you mean givenName? (attribute names are case-sensitive)',
      'source.columns.costcenter: the default mappings read costCenter, not costcenter; did you mean costCenter? (attribute names are case-sensitive)',
    ]);
    // A name a mapping reads is meant as written.
    const used = config('{ type: csv, path: people.csv, key: id, columns: { Email: mail } }', `    mapping: { userName: "{Email}", 'emails[type eq "work"].value': "{Email}" }\n`);
    expect(attributeProblems(used, new Set(['id', 'mail', 'Email']), 'csv:people.csv')).toEqual([]);
    const ldap = config('{ type: ldap, url: "ldap://127.0.0.1:1", users: { base: "dc=x", attributes: { Title: title } } }', '');
    expect(attributeProblems(ldap, new Set(['userName', 'Title']), 'ldap')).toEqual([
      'source.users.attributes.Title: the default mappings read title, not Title; did you mean title? (attribute names are case-sensitive)',
    ]);
  });

  it('reads what each source offers: the CSV header (and canonical names), the LDAP attribute map, the Google set', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'attrs-'));
    writeFileSync(join(dir, 'people.csv'), Buffer.from('\uFEFFid;Prénom;mail\n1;Léa;l@x.com\n', 'utf16le'));
    const csv = parseConfig('source: { type: csv, path: people.csv, key: id, delimiter: ";", columns: { givenName: Prénom } }\ntargets: { a: { url: "http://127.0.0.1:1/scim", auth: { type: none } } }\n', join(dir, 'org.yaml')).config;
    expect(await createSource(csv.source).offeredAttributes()).toEqual(new Set(['id', 'Prénom', 'mail', 'givenName']));

    const ldap = config('{ type: ldap, url: "ldap://127.0.0.1:1", users: { base: "dc=x", attributes: { title: null, badge: employeeBadge } } }', '').source;
    const ldapOffer = await createSource(ldap).offeredAttributes();
    expect(ldapOffer.has('badge')).toBe(true);
    expect(ldapOffer.has('title')).toBe(false);
    expect(ldapOffer.has('userName')).toBe(true);

    const google = config('{ type: google, credentials: "${env:T}", subject: admin@x.com }', '').source;
    expect(await createSource(google).offeredAttributes()).toContain('orgUnitPath');
  });

  it('a CSV that cannot be read fails the header read as a source error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'attrs-'));
    const csv = parseConfig('source: { type: csv, path: people.csv, key: id, encoding: utf-8 }\ntargets: { a: { url: "http://127.0.0.1:1/scim", auth: { type: none } } }\n', join(dir, 'org.yaml')).config;
    mkdirSync(join(dir, 'people.csv'));
    await expect(createSource(csv.source).offeredAttributes()).rejects.toThrow(`cannot read the header of CSV ${join(dir, 'people.csv')}: EISDIR`);
  });
});

/** The ldap source in org.yaml: defaults, secrets, paths relative to the config file, errors with paths. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { Secret } from '../../src/config/secret.js';
import { ConfigError } from '../../src/errors.js';
import { FilterParser } from 'ldapts';
import { ldapFilterProblem } from '../../src/config/schema/ldap-filter.js';
import { FLAVOR_DEFAULTS, ldapSettings } from '../../src/sources/ldap/flavor-defaults.js';

const targets = `
targets:
  app:
    url: https://scim.example/v2
    auth: { type: bearer, token: "\${env:TOKEN}" }
`;

function load(source: string) {
  return parseConfig(`${source}${targets}`, '/etc/scim-sync/org.yaml', { TOKEN: 'scim-token-1', LDAP_PW: 'ldap-password-1' });
}

describe('ldap source config', () => {
  it('fills defaults, wraps the bind password in a Secret and resolves the CA file next to the config', () => {
    const { config, warnings } = load(`
source:
  type: ldap
  url: ldap://dc1.corp.example
  flavor: ad
  tls: { caFile: certs/corp-ca.pem }
  bind: { dn: "CN=scim-sync,OU=Service,DC=corp,DC=example", password: "\${env:LDAP_PW}" }
  users: { base: "OU=Staff,DC=corp,DC=example", attributes: { userName: sAMAccountName, country: null } }
  groups: { base: "OU=Groups,DC=corp,DC=example" }
`);
    expect(warnings).toEqual([]);
    const source = config.source;
    if (source.type !== 'ldap') throw new Error('expected an ldap source');
    expect(source.tls.caFile).toBe('/etc/scim-sync/certs/corp-ca.pem');
    expect(source.bind!.password).toBeInstanceOf(Secret);
    expect(source.bind!.password.reveal()).toBe('ldap-password-1');
    expect(source).toMatchObject({ startTls: true, pageSize: 500, timeoutMs: 60_000, connectTimeoutMs: 10_000, ignoreReferrals: [] });
    const settings = ldapSettings(source);
    expect(settings.users.key).toEqual({ attribute: 'objectGUID', format: 'guid' });
    expect(settings.users.filter).toBe('(&(objectCategory=person)(objectClass=user))');
    expect(settings.users.disabled).toEqual({ userAccountControl: true });
    expect(settings.users.attributes.get('userName')).toBe('sAMAccountName');
    expect(settings.users.attributes.has('country')).toBe(false);
    expect(settings.groups).toMatchObject({ filter: '(objectClass=group)', key: { attribute: 'objectGUID', format: 'guid' }, nested: 'direct', membership: 'group' });
  });

  it('warns when a password would cross the network in clear text', () => {
    const { warnings } = load(`
source:
  type: ldap
  url: ldap://ldap.example.com
  startTls: false
  bind: { dn: "cn=reader,dc=example,dc=com", password: "\${env:LDAP_PW}" }
  users: { base: "dc=example,dc=com" }
`);
    expect(warnings).toEqual(['source.startTls: false on ldap:// sends the bind password unencrypted; use ldaps:// or StartTLS']);
  });

  it('names every wrong option by its path', () => {
    let problems: readonly string[] = [];
    try {
      load(`
source:
  type: ldap
  url: https://ldap.example.com
  pageSize: 0
  users: { scope: deep, key: { attribute: objectGUID, format: guid-ish } }
`);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      problems = (error as ConfigError).problems;
    }
    expect(problems.map((p) => p.split(' ')[0])).toEqual(
      expect.arrayContaining(['source.url', 'source.pageSize', 'source.users.base', 'source.users.scope', 'source.users.key.format']),
    );
  });

  it('refuses a bind DN with an empty password: the server could take it for an anonymous bind', () => {
    let problems: readonly string[] = [];
    try {
      parseConfig(
        `
source:
  type: ldap
  url: ldaps://ldap.example.com
  bind: { dn: "cn=reader,dc=example,dc=com", password: "\${env:LDAP_PW}" }
  users: { base: "dc=example,dc=com" }
${targets}`,
        '/etc/scim-sync/org.yaml',
        { TOKEN: 'scim-token-1', LDAP_PW: '' },
      );
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      problems = (error as ConfigError).problems;
    }
    expect(problems).toEqual(['source.bind.password: environment variable LDAP_PW is empty (set but empty)']);
  });
});

describe('LDAP filters in the config', () => {
  const valid = [
    ...Object.values(FLAVOR_DEFAULTS).flatMap((f) => [f.userFilter, f.groupFilter]),
    '(employeeType=terminated)',
    '(!(cn=loop-*))',
    '(cn=*)',
    '(cn=a*b*c)',
    '(cn=*end)',
    '(mail~=x@example.com)',
    '(uidNumber>=1000)',
    '(title=R\\28D\\29 \\2a)',
    '(userAccountControl:1.2.840.113556.1.4.803:=2)',
    '(memberOf:1.2.840.113556.1.4.1941:=CN=Staff,DC=corp)',
    '(cn:dn:2.4.6.8.10:=Jane)',
    '(:dn:caseExactMatch:=x)',
    '(ou:DN:=Sales)',
    '(ms_custom-attr1=x)',
    '(cn=Müller)',
    '(&(a=b)(|(c=d)(!(e=f))))',
  ];
  it.each(valid)('takes %s, as ldapts does', (filter) => {
    expect(ldapFilterProblem(filter)).toBeNull();
    expect(() => FilterParser.parseString(filter)).not.toThrow();
  });

  it.each([
    ['employeeType=terminated', 'expected "(" (every filter and sub-filter is written in parentheses, e.g. (employeeType=terminated)) at character 1, found "e"'],
    ['(&(a=b)', 'expected ")" at character 8, found the end'],
    ['(a=b))', 'expected the end of the filter (several filters are joined with (&...) or (|...)) at character 6, found ")"'],
    ['(a=b)(c=d)', 'expected the end of the filter (several filters are joined with (&...) or (|...)) at character 6, found "("'],
    ['(&)', 'expected "(" after "&" (at least one sub-filter) at character 3, found ")"'],
    ['(=b)', 'expected an attribute name at character 2, found "="'],
    ['(a)', 'expected =, ~=, >= or <= at character 3, found ")"'],
    ['(a=b(c)', 'a "(" in a value must be written \\28 at character 5, found "("'],
    ['(a>=*)', 'a "*" here must be written \\2a at character 5, found "*"'],
    ['(a=\\zz)', '"\\" must start an escape of two hex digits (\\5c for a backslash) at character 4, found "\\"'],
    ['(:=x)', 'an extensible match without an attribute needs a matching rule at character 2, found ":"'],
    ['(a:1..2:=x)', 'expected a matching rule (a name or an OID) at character 4, found "1"'],
    // ldapts sends neither an attribute option nor a numeric OID as a name: every read would fail.
    ['(userCertificate;binary=*)', 'expected =, ~=, >= or <= at character 17, found ";"'],
  ])('refuses %s', (filter, problem) => {
    expect(ldapFilterProblem(filter)).toBe(`not an LDAP filter: ${problem}`);
  });
});


/** The ldap source in org.yaml: defaults, secrets, paths relative to the config file, errors with paths. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { Secret } from '../../src/config/secret.js';
import { ConfigError } from '../../src/errors.js';
import { ldapSettings } from '../../src/sources/ldap/flavor-defaults.js';

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

/** `sources:` with `join:`: the shape is checked at load, every cross-reference with its path and line. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { configProblems } from '../support/config-problems.js';

const targets = `
targets:
  app:
    url: https://app.example/scim/v2
    auth: { type: bearer, token: "\${env:APP_TOKEN}" }
`;
const env = { APP_TOKEN: 'app-token-0123456789abcdef', LDAP_PW: 'ldap-password-0123456789' };
const sources = `
sources:
  hr: { type: csv, path: hr.csv, key: employee_id }
  ldap:
    type: ldap
    url: ldaps://dc.example.com
    bind: { dn: "cn=reader", password: "\${env:LDAP_PW}" }
    users: { base: "ou=people,dc=example,dc=com" }
`;

const problems = (text: string) => configProblems(() => parseConfig(text, '/etc/scim-sync/org.yaml', env));
const load = (text: string) => parseConfig(text, '/etc/scim-sync/org.yaml', env);

describe('joined sources in the config', () => {
  it('loads as one joined source: paths resolved per source, defaults filled, the password a Secret', () => {
    const { config } = load(`${sources}
join:
  primary: hr
  secondaries: { ldap: { on: [employee_id, employeeNumber] } }
  precedence: { title: [ldap, hr] }
${targets}`);
    const source = config.source;
    if (source.type !== 'joined') throw new Error('expected joined sources');
    expect(source.join).toEqual({ primary: 'hr', secondaries: { ldap: { on: ['employee_id', 'employeeNumber'], maxMissingPercent: 50 } }, precedence: { title: ['ldap', 'hr'] }, keyCase: 'ignore' });
    expect(source.sources['hr']).toMatchObject({ type: 'csv', path: '/etc/scim-sync/hr.csv' });
    const ldap = source.sources['ldap'];
    expect(ldap?.type === 'ldap' && ldap.bind?.password.reveal()).toBe(env.LDAP_PW);
    expect(JSON.stringify(config)).not.toContain(env.LDAP_PW);
  });

  it('source: keeps working alone', () => {
    expect(load(`source: { type: csv, path: people.csv, key: id }\n${targets}`).config.source.type).toBe('csv');
  });

  it.each([
    ['both source: and sources:', `source: { type: csv, path: p.csv, key: id }\n${sources}join: { primary: hr, secondaries: { ldap: { on: [a, b] } } }\n`, ['sources (line 3): write either source: (one source) or sources: with join: (several joined), not both']],
    ['neither', '', ['source (line 2): required: source: (one source), or sources: with join: (several joined)']],
    ['sources: without join:', sources, ['join (line 2): required with sources: which source is the primary, and what each other is joined on']],
    ['join: with source:', 'source: { type: csv, path: p.csv, key: id }\njoin: { primary: hr, secondaries: { x: { on: [a, b] } } }\n', ['join (line 2): join: joins the sources of sources:; with one source: write no join:']],
  ])('%s: one clear problem', (_what, text, expected) => {
    expect(problems(`${text}${targets}`)).toEqual(expected);
  });

  it('every name join: gives must be a source, with the nearest name; every source joined once', () => {
    const found = problems(`${sources}  extra: { type: csv, path: x.csv, key: id }
join:
  primary: hrr
  secondaries:
    ldap: { on: [employee_id, employeeNumber] }
    ldpa: { on: [employee_id, employeeNumber] }
  precedence: { title: [ldap, google, ldap] }
  groups: [ldap, hr, nope]
${targets}`);
    expect(found).toEqual([
      'join.primary (line 11): no source "hrr" in sources:; did you mean hr? (sources: hr, ldap, extra)',
      'join.secondaries.ldpa (line 14): no source "ldpa" in sources:; did you mean ldap? (sources: hr, ldap, extra)',
      'sources.hr (line 3): not joined: name it in join.secondaries with the attributes it is joined on, or remove it',
      'sources.extra (line 9): not joined: name it in join.secondaries with the attributes it is joined on, or remove it',
      'join.precedence.title[1] (line 15): no source "google" in sources: (sources: hr, ldap, extra)',
      'join.precedence.title[2] (line 15): ldap is listed twice',
      'join.groups[2] (line 16): no source "nope" in sources: (sources: hr, ldap, extra)',
    ]);
  });

  it('the primary cannot be its own secondary; one source alone is not a join; on: is a pair', () => {
    expect(problems(`sources:\n  hr: { type: csv, path: hr.csv, key: id }\njoin:\n  primary: hr\n  secondaries: { hr: { on: [a] } }\n${targets}`)).toEqual([
      expect.stringMatching(/^join\.secondaries\.hr\.on/),
    ]);
    expect(problems(`sources:\n  hr: { type: csv, path: hr.csv, key: id }\njoin:\n  primary: hr\n  secondaries: { hr: { on: [a, b] } }\n${targets}`)).toEqual([
      'sources (line 1): sources: joins two or more sources; write one source as source:',
      'join.secondaries.hr (line 5): hr is the primary: it cannot also be joined to itself',
    ]);
  });

  it('a source inside sources: is checked as source: is, at its own path', () => {
    expect(problems(`sources:\n  hr: { type: csv, path: hr.csv }\n  b: { type: csv, path: b.csv, key: id }\njoin: { primary: hr, secondaries: { b: { on: [x, y] } } }\n${targets}`)).toEqual([
      expect.stringMatching(/^sources\.hr\.key \(line 2\): /),
    ]);
  });
  it('an unknown key inside a source of sources: is named with the nearest allowed key', () => {
    expect(problems(`sources:\n  hr: { type: csv, pth: hr.csv, key: id }\n  b: { type: csv, path: b.csv, key: id }\njoin: { primary: hr, secondaries: { b: { on: [x, y] } } }\n${targets}`)).toContain(
      'sources.hr.pth (line 2): unknown key; did you mean path?',
    );
  });
});

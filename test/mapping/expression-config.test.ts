/**
 * Expressions where a config puts them: mapping values and their defaults, `values`, roles and
 * scope conditions, with the config's lookup tables; their mistakes at the config path of the
 * text they are in; the attributes they read checked against the source.
 */
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { attributeProblems } from '../../src/mapping/check-attributes.js';
import { checkMappings } from '../../src/mapping/check-mappings.js';
import { expressionOptions } from '../../src/mapping/expression-options.js';
import { compileScope, explainScope } from '../../src/mapping/scope.js';
import { buildUserResource, compileUserMapping, mapUser } from '../../src/mapping/user-mapping.js';
import type { CanonicalUser } from '../../src/model/canonical.js';

function config(target: string, top = '') {
  return parseConfig(
    `source: { type: csv, path: people.csv, key: id }
targets:
  app:
    url: https://app.example/scim/v2
    auth: { type: bearer, token: "\${env:T}" }
${target}
${top}`,
    join(tmpdir(), 'org.yaml'),
    { T: 'token-12345678' },
  ).config;
}

function problemsOf(check: () => void): string[] {
  try {
    check();
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

const user = (attributes: CanonicalUser['attributes']): CanonicalUser => ({ key: 'K1', active: true, attributes, ref: { location: 'test' } });

describe('expressions in a config', () => {
  const c = config(
    `    mapping:
      userName: '=ToLower(givenName & "." & familyName) & "@corp.example"'
      displayName: { value: '=Trim(nickName)', default: ['=PCase(givenName) & " " & ToUpper(familyName)'] }
      enterprise:costCenter: '=Lookup(department, "costCenters", "CC-000")'
      emails: { values: '=Split(mail, ";")', types: [work, other] }
      urn:example:params:scim:schemas:extension:acme:2.0:User:startDate: '=FormatDateTime(start, "dd.MM.yyyy", "iso", "Europe/Berlin")'
      urn:example:params:scim:schemas:extension:acme:2.0:User:contractor: '=IIF(type == "C", true, false)'
    roles:
      - { value: '=Lookup(department, "roles")' }
    scope:
      - 'department != "Board" and DateDiff("d", Now(), Coalesce(ends, "2999-01-01")) >= 0'
      - { title: { eq: CEO } }
`,
    `lookups:
  costCenters: { Sales: CC-100 }
  roles: { sales: seller }
`,
  );
  const options = expressionOptions(c, new Date('2024-06-01T00:00:00Z'));
  const target = c.targets['app']!;

  it('compiles, maps and scopes a person', () => {
    expect(() => checkMappings(c)).not.toThrow();
    const mapping = compileUserMapping(target.mapping, new Set(['givenName']), { roles: target.roles }, options);
    const zoe = user({ givenName: 'zoë', familyName: 'Ng', department: 'sales', mail: 'z@x.com;zoe@home.example', start: '01.02.2024', type: 'C', ends: '2024-12-31' });
    const body = buildUserResource(mapping, mapUser(mapping, zoe), true);
    expect(body).toMatchObject({
      userName: 'zoë.ng@corp.example',
      displayName: 'Zoë NG',
      emails: [{ value: 'z@x.com', type: 'work', primary: true }, { value: 'zoe@home.example', type: 'other' }],
      roles: [{ value: 'seller' }],
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { costCenter: 'CC-100' },
      'urn:example:params:scim:schemas:extension:acme:2.0:User': { startDate: '2024-02-01T00:00:00+01:00', contractor: true },
    });
    const inScope = compileScope(target.scope, options);
    expect(inScope(zoe)).toBe('in');
    expect(inScope(user({ department: 'Sales', ends: '2024-05-31' }))).toBe('out');
    expect(inScope(user({ department: 'Board' }))).toBe('out');
    expect(inScope(user({ department: 'Board', title: 'ceo' }))).toBe('in');
    expect(inScope(user({ department: 'Sales' }))).toBe('in');
  });

  it('explains a condition as one clause: the attributes it reads and their values', () => {
    const explained = explainScope(target.scope, user({ department: 'Sales', ends: '2024-05-31' }), options);
    expect(explained.inScope).toBe(false);
    expect(explained.filters[0]).toEqual({
      passed: false,
      clauses: [
        {
          attribute: 'department, ends',
          test: 'department != "Board" and DateDiff("d", Now(), Coalesce(ends, "2999-01-01")) >= 0',
          values: ['Sales', '2024-05-31'],
          passed: false,
        },
      ],
    });
  });

  it('checks the attributes expressions and conditions read against the source', () => {
    const offered = new Set(['id', 'givenName', 'familyName', 'nickName', 'department', 'mail', 'start', 'type', 'ends', 'title']);
    expect(attributeProblems(c, offered, 'csv:people.csv')).toEqual([]);
    offered.delete('ends');
    offered.delete('start');
    expect(attributeProblems(c, new Set([...offered, 'starts']), 'csv:people.csv')).toEqual([
      'targets.app.mapping.urn:example:params:scim:schemas:extension:acme:2.0:User:startDate: "=FormatDateTime(start, \\"dd.MM.yyyy\\", \\"iso\\", \\"Europe/Berlin\\")" names attribute start, which the source (csv:people.csv) does not have; did you mean starts?',
      'targets.app.scope[0]: "department != \\"Board\\" and DateDiff(\\"d\\", Now(), Coalesce(ends, \\"2999-01-01\\")) >= 0" names attribute ends, which the source (csv:people.csv) does not have',
    ]);
  });

  it('reports each mistake at the config path of its text, with its column', () => {
    const broken = config(
      `    mapping:
      title: { value: '=ToUpper(title)', default: ['=Left(title)', '{title | shout}'] }
      nickName: '=Split(givenName, " ")'
      emails: { values: '=Join(",", a, b)' }
      displayName: { value: '=Coalesce(a)', default: '=SelectUniqueValue(a, b)' }
    roles:
      - { value: '=IsPresent(x)' }
    scope:
      - 'ToLower(department)'
      - '=Lookup(x, "none") == "y"'
`,
    );
    expect(problemsOf(() => checkMappings(broken))).toEqual([
      // In the order the mapping merges its rules: the defaults' attributes first.
      'targets.app.mapping.displayName.default: column 2 (at "SelectUniqueValue(a, b)"): SelectUniqueValue can only be the whole value of a mapping rule (it picks among values the target holds)',
      'targets.app.mapping.nickName: "=Split(givenName, " ")" gives a list: map a multi-valued attribute whole with "values", or Join the list',
      'targets.app.mapping.title.default[0]: column 2 (at "Left(title)"): Left takes 2 arguments (Left(text, count)), not 1',
      'targets.app.mapping.emails.values: "=Join(",", a, b)" must read exactly one attribute to give one value per source value, or give a list (Split)',
      'targets.app.roles: "=IsPresent(x)" gives a condition: a role\'s value is text',
      'targets.app.scope[0]: column 1 (at "ToLower(department)"): a scope condition must be true or false, not a value (compare it: department == "Sales", or test it: IsPresent(email))',
      'targets.app.scope[1]: column 12 (at ""none") == "y""): no lookup table "none" (the config has no lookups)',
    ]);
  });
});

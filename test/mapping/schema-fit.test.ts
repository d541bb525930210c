/**
 * A mapping fitted to the target's /Schemas (issue #16): attributes the target lacks, readOnly,
 * shapes that do not fit, types converted or refused per person, required attributes.
 */
import { describe, expect, it } from 'vitest';
import { compileScope } from '../../src/mapping/scope.js';
import { fitToSchemas } from '../../src/mapping/schema-fit.js';
import { buildUserResource, compileUserMapping, mapUser } from '../../src/mapping/user-mapping.js';
import type { CanonicalUser } from '../../src/model/canonical.js';
import { parseSchemas } from '../../src/model/scim-schema.js';
import type { ServerResource } from '../../src/model/scim.js';
import { diffUsers } from '../../src/planning/user-diff.js';
import type { TargetSettings } from '../../src/planning/target-settings.js';

const ACME = 'urn:example:params:scim:schemas:extension:acme:2.0:User';
const attr = (name: string, over: Record<string, unknown> = {}) => ({ name, type: 'string', multiValued: false, required: false, mutability: 'readWrite', ...over });
const schemas = parseSchemas({
  Resources: [
    {
      id: 'urn:ietf:params:scim:schemas:core:2.0:User',
      attributes: [
        attr('userName', { required: true }),
        attr('title', { mutability: 'READONLY' }),
        attr('nickName', { mutability: 'immutable' }),
        attr('displayName'),
        attr('name', { type: 'complex', subAttributes: [attr('givenName'), attr('familyName')] }),
        attr('emails', { type: 'complex', multiValued: true, subAttributes: [attr('value'), attr('type')] }),
        attr('locale'),
      ],
    },
    {
      id: ACME,
      attributes: [
        attr('contractor', { type: 'boolean' }),
        attr('clearance', { type: 'integer' }),
        attr('rate', { type: 'decimal' }),
        attr('startDate', { type: 'dateTime' }),
        attr('costCode', { required: true }),
        attr('badge', { mutability: 'readOnly' }),
        attr('note'),
      ],
    },
    { id: 'not a schema' },
  ],
});

const attributes = new Set(['userName', 'givenName', 'familyName', 'title', 'nickName', 'email', 'kind', 'level', 'rate', 'start', 'cost', 'badge']);
const compiled = compileUserMapping(
  {
    title: '{title}',
    nickName: '{nickName}',
    'name.middleName': '{givenName}',
    locale: { value: '=IIF(IsPresent(kind), true, false)', when: 'always' },
    'emails.value': '{email}',
    'name[type eq "x"].value': '{email}',
    timezone: '{title}',
    [`${ACME}:contractor`]: '=IIF(kind == "c", "Yes", Coalesce(kind, "no"))',
    [`${ACME}:clearance`]: '{level}',
    [`${ACME}:rate`]: '{rate}',
    [`${ACME}:startDate`]: '{start}',
    [`${ACME}:costCode`]: '{cost}',
    [`${ACME}:badge`]: '{badge}',
    [`${ACME}:note`]: '=DateDiff("d", "2024-01-01", "2024-01-31")',
  },
  attributes,
);
const fit = fitToSchemas(compiled, schemas);
const person = (attrs: Record<string, string>): CanonicalUser => ({ key: 'K1', active: true, attributes: attrs, ref: { location: 'people.csv', line: 2 } });

describe('fitting a mapping to the target schema', () => {
  it('drops what the target lacks or cannot take, and says so', () => {
    // In the order the mapping merges its rules: the defaults' attributes first.
    expect(fit.notes).toEqual([
      'mapping.name.middleName is not sent: name has no sub-attribute middleName in the target\'s schema',
      'mapping.nickName is set when an account is created, never changed after: the target\'s schema makes it immutable',
      'mapping.title is not sent: the target\'s schema makes title readOnly',
      'mapping.timezone is not sent: the target\'s schema has no attribute timezone in the core User schema',
      'mapping.emails.value is not sent: emails is multi-valued there: map a typed entry (emails[type eq "work"].value) or the whole attribute with values (the target\'s schema)',
      'mapping.name[type eq "x"].value is not sent: name is single-valued there, not a list of typed entries (the target\'s schema)',
      `mapping.${ACME}:badge is not sent: the target's schema makes badge readOnly`,
    ]);
    const kept = fit.mapping.rules.map((r) => r.path.key);
    expect(kept).not.toContain('title');
    expect(kept).not.toContain(`${ACME}:badge`);
    expect(fit.mapping.rules.find((r) => r.path.key === 'nickName')?.createOnly).toBe(true);
  });

  it('converts values to the attribute types where that is exact, and leaves the rest unsent for the person', () => {
    const good = mapUser(fit.mapping, person({ userName: 'a', kind: 'c', level: '3', rate: '1.5', start: '2024-01-31', cost: 'E1' }));
    const body = buildUserResource(fit.mapping, good, true);
    expect(body['locale']).toBe('true');
    expect(body[ACME]).toEqual({ contractor: true, clearance: 3, rate: 1.5, startDate: '2024-01-31T00:00:00Z', costCode: 'E1', note: '30' });
    expect(good.unsent).toBeUndefined();

    const bad = mapUser(fit.mapping, person({ userName: 'a', kind: 'maybe', level: 'three', start: '31.01.2024', cost: 'E1' }));
    expect(bad.unsent?.map((u) => u.reason)).toEqual([
      `${ACME}:contractor "maybe" is not a boolean (the target's type for it)`,
      `${ACME}:clearance "three" is not an integer (the target's type for it)`,
      `${ACME}:startDate "31.01.2024" is not a dateTime (e.g. 2024-01-31T09:00:00Z) (the target's type for it)`,
    ]);
    expect(buildUserResource(fit.mapping, bad, true)[ACME]).toEqual({ costCode: 'E1', note: '30' });
  });

  it('keeps an unsent value as the account has it, and creates nobody without a required value', () => {
    const settings: TargetSettings = { operations: { create: true, update: true, deactivate: true }, deprovision: 'deactivate', adopt: 'none', updateMethod: 'patch' };
    const plan = (people: CanonicalUser[], actual: ServerResource[] = [], links = new Map<string, { id: string; hash: string }>()) =>
      diffUsers({ snapshot: { source: 't', users: people, groups: [], issues: [], heldKeys: [], recordsRead: people.length }, mapping: fit.mapping, inScope: compileScope(undefined), actual, links, settings });
    const missing = plan([person({ userName: 'a', kind: 'c' })]);
    expect(missing.users).toEqual([]);
    expect(missing.warnings).toEqual([`people.csv:2: K1: not created: ${ACME}:costCode is required by the target and has no value`]);

    const account = { ...buildUserResource(fit.mapping, mapUser(fit.mapping, person({ userName: 'a', kind: 'c', level: '2', cost: 'E1' })), true), id: 'a1' } as unknown as ServerResource;
    const later = plan([person({ userName: 'a', kind: 'c', level: 'two' })], [account], new Map([['K1', { id: 'a1', hash: 'h' }]]));
    expect(later.users).toEqual([]);
    expect(later.warnings).toEqual([
      `people.csv:2: K1: ${ACME}:clearance "two" is not an integer (the target's type for it): not sent, the account keeps its value`,
      `people.csv:2: K1: ${ACME}:costCode is required by the target and has no value: not sent, the account keeps its value`,
    ]);
  });

  it('names required attributes no rule sets, and checks nothing without /Schemas', () => {
    const bare = fitToSchemas(compileUserMapping({ [`${ACME}:note`]: '{title}' }, new Set(['userName'])), schemas);
    expect(bare.notes).toEqual([`the target's schema requires costCode (${ACME}), which no mapping rule sets: it may refuse every create`]);
    expect(fitToSchemas(compiled, null)).toEqual({ mapping: compiled, notes: [] });
  });
});

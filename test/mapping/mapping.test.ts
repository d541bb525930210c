import { describe, expect, it } from 'vitest';
import { compileScope, explainScope } from '../../src/mapping/scope.js';
import type { ScopeFilter } from '../../src/config/schema/index.js';
import { compileTemplate } from '../../src/mapping/template.js';
import { compileValue } from '../../src/mapping/compiled-value.js';
import { buildUserResource, compileUserMapping, mapUser, mapUserOrFailure, RuleFailed } from '../../src/mapping/user-mapping.js';
import { ConfigError } from '../../src/errors.js';
import type { CanonicalUser } from '../../src/model/canonical.js';
import { buildPatch, buildPut, diffUser } from '../../src/planning/user-changes.js';
import type { ScimResource } from '../../src/model/scim.js';

const user = (attributes: CanonicalUser['attributes'], active = true): CanonicalUser => ({ key: 'K1', active, attributes, ref: { location: 'test' } });

describe('templates', () => {
  it('substitutes, transforms, collapses empties and yields null when nothing is known', () => {
    const t = compileTemplate('{givenName} {familyName | upper}');
    expect(t.evaluate({ givenName: 'Zoë', familyName: 'Ng' })).toBe('Zoë NG');
    expect(t.evaluate({ givenName: null, familyName: 'Ng' })).toBe('NG');
    expect(t.evaluate({})).toBeNull();
    expect(compileTemplate('{name | ascii | lower}').evaluate({ name: 'Åsa Núñez' })).toBe('asa nunez');
    expect(compileTemplate('{mail | localpart}@corp.example').evaluate({ mail: 'a.b@x.com' })).toBe('a.b@corp.example');
    expect(compileTemplate('{{literal}} {x}').evaluate({ x: '1' })).toBe('{literal} 1');
    expect(compileTemplate('{emails}').evaluate({ emails: ['first@x', 'second@x'] })).toBe('first@x');
    expect(() => compileTemplate('{x | nope}')).toThrow('unknown function "nope"');
    expect(() => compileTemplate('{x')).toThrow('unclosed');
  });

  it('give what the expression they are shorthand for gives: trimmed, and nothing when only white space is left', () => {
    const template = compileValue('{givenName} {familyName}');
    const expression = compileValue('=givenName & " " & familyName');
    const people = [
      { givenName: 'Ann', familyName: 'Lee' },
      { givenName: 'Ann', familyName: null },
      { givenName: null, familyName: 'Lee' },
      { givenName: null, familyName: null },
      { givenName: ' ', familyName: '' },
      { givenName: ' Ann ', familyName: null },
    ];
    const want = ['Ann Lee', 'Ann', 'Lee', null, null, 'Ann'];
    expect(people.map((p) => template.evaluate(p))).toEqual(want);
    expect(people.map((p) => expression.evaluate(p))).toEqual(want);
    // The same for one attribute read as it is, and for each value of a multi-valued one.
    expect([compileValue('{title}').evaluate({ title: '  ' }), compileValue('=title').evaluate({ title: ' CEO ' })]).toEqual([null, 'CEO']);
    expect(compileValue('=mail').evaluateEach({ mail: [' a@x ', '  ', 'a@x'] })).toEqual(['a@x']);
    expect(compileValue('{mail}').evaluateEach({ mail: [' a@x ', '  ', 'a@x'] })).toEqual(['a@x']);
  });
});

describe('scope', () => {
  it('ORs filters and ANDs clauses, ignoring case, any value of a multi-valued attribute', () => {
    const inScope = compileScope([{ department: { eq: 'engineering' }, country: { in: ['DE', 'FR'] } }, { title: { startsWith: 'vp' } }, { tags: { contains: 'admin' } }]);
    expect(inScope(user({ department: 'Engineering', country: 'de' }))).toBe('in');
    expect(inScope(user({ department: 'Engineering', country: 'US' }))).toBe('out');
    expect(inScope(user({ title: 'VP Sales' }))).toBe('in');
    expect(inScope(user({ tags: ['x', 'SysAdmin'] }))).toBe('in');
    expect(inScope(user({}))).toBe('out');
    expect(compileScope(undefined)(user({}))).toBe('in');
    expect(compileScope([{ manager: { present: false } }])(user({ manager: null }))).toBe('in');
  });
});

describe('scope explained', () => {
  const filters: ScopeFilter[] = [{ department: { eq: 'engineering' }, country: { in: ['DE', 'FR'] } }, { title: { startsWith: 'vp' } }];
  it('gives every clause its verdict, with the same answer as the predicate', () => {
    const people = [user({ department: 'Engineering', country: 'de' }), user({ department: 'Engineering', country: 'US' }), user({ title: 'VP Sales' }), user({})];
    for (const p of people) expect(explainScope(filters, p).inScope).toBe(compileScope(filters)(p) === 'in');
    expect(explainScope(filters, people[1]!)).toEqual({
      inScope: false,
      filters: [
        {
          passed: false,
          clauses: [
            { attribute: 'department', test: 'eq "engineering"', values: ['Engineering'], passed: true },
            { attribute: 'country', test: 'in ["DE","FR"]', values: ['US'], passed: false },
          ],
        },
        { passed: false, clauses: [{ attribute: 'title', test: 'startsWith "vp"', values: [], passed: false }] },
      ],
    });
    expect(explainScope(undefined, user({}))).toEqual({ inScope: true, filters: [] });
  });
});

describe('user mapping that does not compile', () => {
  it('throws one ConfigError listing every problem at its path under the target', () => {
    let thrown: unknown;
    try {
      compileUserMapping({ active: 'true', title: '{x | shout}' }, new Set(['givenName']), { entitlements: [{ value: '{' }] });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).problems).toEqual([
      'mapping.active: managed by scim-sync itself, cannot be mapped',
      'mapping.title: unknown function "shout" (known: lower, upper, trim, ascii, nospace, localpart)',
      'mapping.userName: no rule yields a userName',
      'entitlements: unclosed "{" at position 1',
    ]);
  });
});

describe('user mapping and changes', () => {
  const attrs = new Set(['userName', 'givenName', 'familyName', 'email', 'department', 'mobile']);
  const mapping = compileUserMapping({ 'phoneNumbers[type eq "mobile"].value': '{mobile}', nickName: { value: '{givenName}', when: 'create' } }, attrs);
  const person = user({ userName: 'zoe@x.com', givenName: 'Zoë', familyName: 'Ng', email: 'zoe@x.com', department: 'R&D', mobile: '+49 1' });

  it('drops default rules the source cannot feed and builds the create body', () => {
    const keys = mapping.rules.map((r) => r.path.key);
    expect(keys).not.toContain('title');
    expect(keys).toContain('phoneNumbers[type eq "mobile"].value');
    const body = buildUserResource(mapping, mapUser(mapping, person), true);
    expect(body).toEqual({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
      externalId: 'K1',
      userName: 'zoe@x.com',
      name: { givenName: 'Zoë', familyName: 'Ng' },
      displayName: 'Zoë Ng',
      nickName: 'Zoë',
      emails: [{ type: 'work', primary: true, value: 'zoe@x.com' }],
      phoneNumbers: [{ type: 'mobile', primary: true, value: '+49 1' }],
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'R&D' },
      active: true,
    });
  });

  it('patches only what differs, keeps other email types, and ignores create-only attributes', () => {
    const desired = mapUser(mapping, person);
    const actual = {
      ...buildUserResource(mapping, desired, true),
      id: 'abc',
      nickName: 'changed in the app',
      emails: [{ type: 'work', value: 'old@x.com', primary: true }, { type: 'home', value: 'me@home.example' }],
      name: { givenName: 'Zoe', familyName: 'Ng', formatted: 'Zoe Ng' },
    } as unknown as ScimResource;
    const diff = diffUser(mapping, desired, actual, true);
    expect(diff.changes).toEqual([
      { path: 'name.givenName', from: 'Zoe', to: 'Zoë' },
      { path: 'emails[type eq "work"].value', from: 'old@x.com', to: 'zoe@x.com' },
    ]);
    expect(buildPatch(mapping, desired, actual, diff)).toEqual([
      { op: 'replace', path: 'name.givenName', value: 'Zoë' },
      { op: 'replace', path: 'emails', value: [{ type: 'work', primary: true, value: 'zoe@x.com' }, { type: 'home', value: 'me@home.example', primary: false }] },
    ]);
    const put = buildPut(mapping, desired, actual, true);
    expect(put['nickName']).toBe('changed in the app');
    expect(put['name']).toEqual({ givenName: 'Zoë', familyName: 'Ng', formatted: 'Zoe Ng' });
    expect(put['meta']).toBeUndefined();
  });

  it('removes an attribute the source no longer has', () => {
    const desired = mapUser(mapping, user({ ...person.attributes, department: null }));
    const actual = { ...buildUserResource(mapping, mapUser(mapping, person), true), id: 'abc' } as unknown as ScimResource;
    const diff = diffUser(mapping, desired, actual, true);
    expect(buildPatch(mapping, desired, actual, diff)).toEqual([{ op: 'remove', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department' }]);
  });
});

describe('multi-valued source attributes', () => {
  it('a template reads a value by index; evaluateEach gives one result per value', () => {
    const mails = { email: ['A@x.com', 'b@x.com', 'a@x.com'] };
    expect(compileTemplate('{email[1]}').evaluate(mails)).toBe('b@x.com');
    expect(compileTemplate('{email[0] | lower} / {email[2]}').evaluate(mails)).toBe('a@x.com / a@x.com');
    expect(compileTemplate('{email[3]}').evaluate(mails)).toBeNull();
    expect(compileTemplate('{email[1]}').evaluate({ email: 'only@x.com' })).toBeNull();
    // Repeats left out once transformed.
    expect(compileTemplate('{email | lower}').evaluateEach(mails)).toEqual(['a@x.com', 'b@x.com']);
    expect(() => compileTemplate('{email} {name}').evaluateEach({})).toThrow('must read exactly one attribute, without an index');
  });

  it('evaluateEach over 400,000 values of one person keeps each once, in order, in one pass (a scan of the kept ones for each was quadratic: past the test timeout)', () => {
    const many = Array.from({ length: 400_000 }, (_, i) => `G${i % 300_000}`);
    const out = compileTemplate('{memberOf | lower}').evaluateEach({ memberOf: many });
    expect(out).toHaveLength(300_000);
    expect(out.slice(0, 2)).toEqual(['g0', 'g1']);
    expect(out[299_999]).toBe('g299999');
  });

  it('a whole mapping and a typed rule on the same attribute, or a values template over two attributes, are config errors', () => {
    const whole = { values: '{email}', types: ['work'], when: 'always' as const };
    expect(() => compileUserMapping({ emails: whole, 'emails[type eq "home"].value': '{home}' }, new Set(['userName']))).toThrow(
      'emails[type eq "home"].value: emails is mapped whole, so it cannot also be mapped by type; keep one of the two',
    );
    expect(() => compileUserMapping({ emails: { ...whole, values: '{a}{b}' } }, new Set(['userName']))).toThrow('mapping.emails.values: "{a}{b}" must read exactly one attribute');
    expect(() => compileUserMapping({ 'emails.value': whole }, new Set(['userName']))).toThrow('emails.value: "values" maps a multi-valued attribute whole');
  });

  it('the entries compare as a set: order, case and extra sub-attributes are no change, a new value is', () => {
    const mapping = compileUserMapping({ emails: { values: '{email}', types: ['work', 'other'], when: 'always' } }, new Set(['userName', 'email']));
    const desired = mapUser(mapping, user({ userName: 'a', email: ['a@x.com', 'b@x.com'] }));
    const account = (emails: unknown) => ({ id: '1', userName: 'a', externalId: 'K1', active: true, emails }) as unknown as ScimResource;
    const same = account([{ value: 'B@x.com', type: 'other', display: 'B' }, { value: 'a@x.com', type: 'work', primary: true }]);
    expect(diffUser(mapping, desired, same, true).changes).toEqual([]);
    const fewer = account([{ value: 'a@x.com', type: 'work', primary: true }]);
    const diff = diffUser(mapping, desired, fewer, true);
    expect(buildPatch(mapping, desired, fewer, diff)).toEqual([
      { op: 'replace', path: 'emails', value: [{ value: 'a@x.com', type: 'work', primary: true }, { value: 'b@x.com', type: 'other' }] },
    ]);
  });
});

describe('scope: a value that does not read', () => {
  const README = 'In(department, "Sales", "Engineering") and DateDiff("d", Now(), Coalesce(endDate, "2999-12-31")) >= 0';
  const now = new Date('2026-06-15T10:00:00Z');
  const scope = compileScope([README], { now });

  it('an end date nobody can read leaves the verdict unknown, naming the rule, the attribute and the value; an absent one is read as before', () => {
    expect(scope(user({ department: 'Sales', endDate: '31.12.2027' }))).toEqual({
      unknown: `scope[0] '${README}' could not read endDate "31.12.2027" as an ISO date (yyyy-MM-dd)`,
    });
    expect(scope(user({ department: 'Sales', endDate: '2028-02-30' }))).toMatchObject({ unknown: expect.stringContaining('endDate "2028-02-30" as an ISO date') });
    expect(scope(user({ department: 'Sales' }))).toBe('in');
    expect(scope(user({ department: 'Sales', endDate: '' }))).toBe('in');
    expect(scope(user({ department: 'Sales', endDate: '2027-12-31' }))).toBe('in');
    expect(scope(user({ department: 'Sales', endDate: '2020-01-01' }))).toBe('out');
    // The date was never needed: the department decides.
    expect(scope(user({ department: 'HR', endDate: '31.12.2027' }))).toBe('out');
  });

  it('a number nobody can read alike; a clear "in" from another filter stands', () => {
    const level = compileScope(['level >= 5']);
    expect(level(user({ level: 'five' }))).toEqual({ unknown: `scope[0] 'level >= 5' could not read level "five" as a number` });
    expect(level(user({ level: '7' }))).toBe('in');
    expect(level(user({ level: '3' }))).toBe('out');
    expect(level(user({}))).toBe('out');
    const either = compileScope(['level >= 5', { title: { startsWith: 'VP' } }]);
    expect(either(user({ level: 'five', title: 'VP Sales' }))).toBe('in');
    expect(either(user({ level: 'five', title: 'Engineer' }))).toMatchObject({ unknown: expect.stringContaining('level "five"') });
  });

  it('a true verdict that rests on a value nobody can read is unknown too; one that does not rest on it stands', () => {
    // Turned round: "five" is not >= 5 only because it is no number, so "not" must not make them in.
    expect(compileScope(['not (level >= 5)'])(user({ level: 'five' }))).toEqual({ unknown: `scope[0] 'not (level >= 5)' could not read level "five" as a number` });
    expect(compileScope(['not (level >= 5)'])(user({ level: '3' }))).toBe('in');
    // True on the other side of "or", whichever side comes first: the unreadable side decides nothing.
    expect(compileScope(['level >= 5 or title == "VP"'])(user({ level: 'five', title: 'VP' }))).toBe('in');
    expect(compileScope(['title == "VP" or level >= 5'])(user({ level: 'five', title: 'VP' }))).toBe('in');
    expect(compileScope(['level >= 5 or title == "VP"'])(user({ level: 'five', title: 'Engineer' }))).toMatchObject({ unknown: expect.stringContaining('level "five"') });
    // Coalesce over two formats: the one that reads decides.
    const dated = compileScope(['DateDiff("d", Coalesce(FormatDateTime(end, "d.M.yyyy", "yyyy-MM-dd"), FormatDateTime(end, "yyyy-MM-dd", "yyyy-MM-dd")), "2026-01-01") <= 0']);
    expect(dated(user({ end: '2027-03-01' }))).toBe('in');
    expect(dated(user({ end: '1.3.2025' }))).toBe('out');
    expect(dated(user({ end: '2027-02-30' }))).toMatchObject({ unknown: expect.stringContaining('end "2027-02-30"') });
  });

  it('quotes no value of a masked attribute (one that feeds an attribute audit.redactAttributes lists)', () => {
    const masked = compileScope([README], { now, masked: new Set(['endDate']) });
    expect(masked(user({ department: 'Sales', endDate: '31.12.2027' }))).toEqual({
      unknown: `scope[0] '${README}' could not read endDate [redacted] as an ISO date (yyyy-MM-dd)`,
    });
    const long = compileScope(['level >= 5'])(user({ level: 'x'.repeat(100) }));
    expect(long).toEqual({ unknown: `scope[0] 'level >= 5' could not read level "${'x'.repeat(40)}…" as a number` });
  });

  it('explain says so, and mapping values keep giving null for such a value', () => {
    const explained = explainScope([README], user({ department: 'Sales', endDate: '31.12.2027' }), { now });
    expect(explained).toMatchObject({ inScope: false, unknown: expect.stringContaining('endDate "31.12.2027"') });
    const mapping = compileUserMapping({ userName: '{userName}', title: '=FormatDateTime(endDate, "date", "dd.MM.yyyy")' }, new Set(['userName', 'endDate']));
    expect(mapUser(mapping, user({ userName: 'a@x', endDate: '31.12.2027' })).values[mapping.indexOf.get('title')!]).toBeNull();
  });
});

describe('a mapping value that cannot be read', () => {
  const mapping = compileUserMapping(
    {
      userName: '{mail}',
      nickName: '=FormatDateTime(start, "d.M.yyyy", "yyyy-MM-dd")',
      title: { value: '=FormatDateTime(start, "d.M.yyyy", "yyyy-MM-dd")', default: '{role}', when: 'always' },
      'urn:x:senior': '=level >= 5',
    },
    new Set(['mail', 'start', 'role', 'level']),
    {},
    { masked: new Set(['level']) },
  );
  const at = (path: string) => mapping.indexOf.get(path)!;
  const account: ScimResource = { schemas: [], id: 's1', userName: 'a@x.com', externalId: 'K1', nickName: '2024-01-02', 'urn:x:senior': true };

  it('keeps the account\'s value and says why, never clearing it; an absent value still clears', () => {
    const read = mapUser(mapping, user({ mail: 'a@x.com', start: '2.1.2024', level: '7' }));
    expect(read.values[at('nickName')]).toBe('2024-01-02');
    expect(read.unsent).toBeUndefined();

    const odd = mapUser(mapping, user({ mail: 'a@x.com', start: '2024-02-01', role: 'Lead', level: 'five' }));
    expect(odd.values[at('nickName')]).toBeNull();
    expect(odd.unsent).toEqual([
      { index: at('nickName'), reason: 'nickName could not read start "2024-02-01" as a date in the format "d.M.yyyy"', required: false },
      // A condition that is false only because it met an unreadable value is unknown too; a masked attribute is not quoted.
      { index: at('urn:x:senior'), reason: 'urn:x:senior could not read level [redacted] as a number', required: false },
    ]);
    // A default that gives a value is taken, as Coalesce would.
    expect(odd.values[at('title')]).toBe('Lead');
    expect(diffUser(mapping, odd, account, true).changes.map((c) => c.path)).toEqual(['title']);

    const gone = mapUser(mapping, user({ mail: 'a@x.com', start: null, level: '7' }));
    expect(gone.unsent).toBeUndefined();
    expect(diffUser(mapping, gone, account, true).changes).toContainEqual(expect.objectContaining({ path: 'nickName', to: null }));
  });

  it('text or a verdict built around a value that did not read is not sent either; one that reads is', () => {
    const around = compileUserMapping(
      {
        userName: '{mail}',
        title: '="since " & FormatDateTime(start, "d.M.yyyy", "yyyy-MM-dd")',
        'urn:x:junior': '=not (level >= 5)',
        displayName: '=Coalesce(nick, "none")',
        // Two formats: the one that reads makes the value, the other's miss does not hold it back.
        nickName: '=Coalesce(FormatDateTime(start, "d.M.yyyy", "yyyy-MM-dd"), FormatDateTime(start, "yyyy-MM-dd", "yyyy-MM-dd"))',
      },
      new Set(['mail', 'start', 'level', 'nick']),
    );
    const at = (path: string) => around.indexOf.get(path)!;
    const odd = mapUser(around, user({ mail: 'a@x.com', start: '2024-02-01', level: 'five' }));
    expect(odd.values[at('title')]).toBeNull();
    expect(odd.values[at('urn:x:junior')]).toBeNull();
    expect(odd.unsent).toEqual([
      { index: at('title'), reason: 'title could not read start "2024-02-01" as a date in the format "d.M.yyyy"', required: false },
      { index: at('urn:x:junior'), reason: 'urn:x:junior could not read level "five" as a number', required: false },
    ]);
    // An expression with nothing to misread is sent as computed.
    expect(odd.values[at('displayName')]).toBe('none');
    expect(odd.values[at('nickName')]).toBe('2024-02-01');
    const account: ScimResource = { schemas: [], id: 's1', userName: 'a@x.com', externalId: 'K1', title: 'since 2024-01-02', 'urn:x:junior': false, nickName: '2024-02-01' };
    expect(diffUser(around, odd, account, true).changes.map((c) => c.path)).toEqual(['displayName']);

    const read = mapUser(around, user({ mail: 'a@x.com', start: '2.1.2024', level: '3' }));
    expect(read.unsent).toBeUndefined();
    expect(read.values[at('title')]).toBe('since 2024-01-02');
    expect(read.values[at('urn:x:junior')]).toBe(true);
    expect(read.values[at('nickName')]).toBe('2024-01-02');
    const neither = mapUser(around, user({ mail: 'a@x.com', start: '2024-02-30' }));
    expect(neither.values[at('nickName')]).toBeNull();
    expect(new Set(neither.unsent?.map((u) => u.index))).toEqual(new Set([at('title'), at('nickName')]));
  });

  it('a role chosen past a value that did not read holds the person rather than grant it', () => {
    const roles = compileUserMapping({ userName: '{mail}' }, new Set(['mail', 'level']), { roles: [{ value: '=IIF(level < 5, "basic", "admin")' }] });
    expect(mapUser(roles, user({ mail: 'a@x.com', level: '7' })).sets).toEqual([[{ value: 'admin' }]]);
    expect(mapUser(roles, user({ mail: 'a@x.com', level: '3' })).sets).toEqual([[{ value: 'basic' }]]);
    const odd = mapUserOrFailure(roles, user({ mail: 'a@x.com', level: 'five' }));
    expect(odd).toBeInstanceOf(RuleFailed);
    expect((odd as RuleFailed).message).toBe(`roles could not be computed: '=IIF(level < 5, "basic", "admin")' could not read level "five" as a number`);
  });
});

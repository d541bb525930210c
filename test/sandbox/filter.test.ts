import { beforeEach, describe, expect, it } from 'vitest';
import { ScimError } from '../../src/sandbox/index.js';
import { parseFilter, parsePatchPath } from '../../src/sandbox/filter-parser.js';
import { SCHEMA_ENTERPRISE_USER, SCHEMA_USER, useSandbox } from './helpers.js';
import type { Body } from './helpers.js';

const t = useSandbox();
const TRICKY = 'a"b\\c';

let alice: Body, bob: Body, tricky: Body, andre: Body;

beforeEach(async () => {
  const ext = (department: string) => ({ schemas: [SCHEMA_USER, SCHEMA_ENTERPRISE_USER], [SCHEMA_ENTERPRISE_USER]: { department } });
  alice = await t.client.createUser('alice@example.com', {
    ...ext('Eng'),
    externalId: 'E1',
    title: 'Engineer',
    active: true,
    name: { familyName: 'Smith', givenName: 'Alice' },
    emails: [{ value: 'alice@work.com', type: 'work' }, { value: 'alice@home.net', type: 'home' }],
  });
  bob = await t.client.createUser('bob@example.com', {
    ...ext('Sales'),
    externalId: 'e1',
    title: 'Manager',
    active: false,
    name: { familyName: 'Jones' },
    emails: [{ value: 'bob@WORK.com', type: 'work' }],
  });
  tricky = await t.client.createUser(TRICKY, { externalId: 'E3', active: true });
  andre = await t.client.createUser('andré', { active: true });
});

async function names(filter: string): Promise<string[]> {
  const res = await t.client.filter('Users', filter);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.totalResults).toBe(res.body.Resources.length);
  return res.body.Resources.map((r: Body) => r.userName);
}

async function invalid(filter: string, detail: RegExp): Promise<void> {
  const res = await t.client.filter('Users', filter);
  expect(res.status).toBe(400);
  expect(res.body.scimType).toBe('invalidFilter');
  expect(res.body.detail).toMatch(detail);
}

describe('operators', () => {
  it('eq compares userName case-insensitively and externalId/id exactly', async () => {
    expect(await names('userName eq "ALICE@example.com"')).toEqual(['alice@example.com']);
    expect(await names('externalId eq "e1"')).toEqual(['bob@example.com']);
    expect(await names('externalId eq "E1"')).toEqual(['alice@example.com']);
    expect(await names(`id eq "${bob.id}"`)).toEqual(['bob@example.com']);
    expect(await names(`id eq "${bob.id.toUpperCase()}"`)).toEqual([]);
  });

  it('ne matches resources without the attribute', async () => {
    expect(await names('title ne "engineer"')).toEqual(['bob@example.com', TRICKY, 'andré']);
  });

  it('co, sw, ew', async () => {
    expect(await names('userName co "EXAMPLE"')).toEqual(['alice@example.com', 'bob@example.com']);
    expect(await names('userName sw "B"')).toEqual(['bob@example.com']);
    expect(await names('userName ew ".COM"')).toEqual(['alice@example.com', 'bob@example.com']);
  });

  it('pr', async () => {
    expect(await names('title pr')).toEqual(['alice@example.com', 'bob@example.com']);
    expect(await names('emails pr')).toEqual(['alice@example.com', 'bob@example.com']);
  });

  it('gt, ge, lt, le on strings and dateTimes', async () => {
    expect(await names('userName lt "B"')).toEqual(['alice@example.com', TRICKY, 'andré']);
    expect(await names('userName ge "bob@example.com"')).toEqual(['bob@example.com']);
    expect(await names('userName gt "bob@example.com"')).toEqual([]);
    expect(await names('userName le "alice@example.com"')).toEqual(['alice@example.com', TRICKY]);
    expect(await names('meta.lastModified gt "2000-01-01T00:00:00Z"')).toHaveLength(4);
    expect(await names('meta.created lt "2000-01-01T00:00:00Z"')).toEqual([]);
  });

  it('booleans: eq only, with true/false', async () => {
    expect(await names('active eq false')).toEqual(['bob@example.com']);
    await invalid('active gt true', /"gt" is not defined for the boolean attribute active/);
    await invalid('active eq "false"', /boolean/);
  });

  it('eq null asks for unassigned', async () => {
    expect(await names('title eq null')).toEqual([TRICKY, 'andré']);
  });
});

describe('logic', () => {
  it('and binds tighter than or', async () => {
    expect(await names('userName sw "a\\"" or userName sw "bob" and title pr')).toEqual(['bob@example.com', TRICKY]);
    expect(await names('(userName sw "a\\"" or userName sw "bob") and title pr')).toEqual(['bob@example.com']);
  });

  it('not (...) binds tighter than and', async () => {
    expect(await names('not (title pr)')).toEqual([TRICKY, 'andré']);
    expect(await names('not (active eq true) and userName sw "b"')).toEqual(['bob@example.com']);
    expect(await names('not (userName eq "andré" or title pr)')).toEqual([TRICKY]);
  });

  it('or over indexed attributes keeps creation order', async () => {
    expect(await names('userName eq "andré" or externalId eq "E1"')).toEqual(['alice@example.com', 'andré']);
    expect(await names(`userName eq "alice@example.com" and id eq "${bob.id}"`)).toEqual([]);
  });

  it('keywords and attribute names are case-insensitive', async () => {
    expect(await names('USERNAME EQ "alice@example.com" AND Title Pr')).toEqual(['alice@example.com']);
  });
});

describe('paths', () => {
  it('value paths filter the values of a multi-valued attribute', async () => {
    expect(await names('emails[type eq "work" and value co "@work"]')).toEqual(['alice@example.com', 'bob@example.com']);
    expect(await names('emails[type eq "home"]')).toEqual(['alice@example.com']);
    expect(await names('emails[type eq "home"] and active eq false')).toEqual([]);
  });

  it('sub-attributes, and a complex attribute compared through its value', async () => {
    expect(await names('name.familyName eq "smith"')).toEqual(['alice@example.com']);
    expect(await names('emails.value ew ".NET"')).toEqual(['alice@example.com']);
    expect(await names('emails eq "bob@work.com"')).toEqual(['bob@example.com']);
  });

  it('extension attributes, qualified or not', async () => {
    expect(await names(`${SCHEMA_ENTERPRISE_USER}:department eq "eng"`)).toEqual(['alice@example.com']);
    expect(await names('department eq "Sales"')).toEqual(['bob@example.com']);
    expect(await names(`${SCHEMA_USER}:userName eq "andré"`)).toEqual(['andré']);
  });

  it('string values with escaped quotes, backslashes and \\u escapes', async () => {
    expect(await names('userName eq "a\\"b\\\\c"')).toEqual([TRICKY]);
    expect(await names('userName eq "andr\\u00e9"')).toEqual(['andré']);
    expect(tricky.userName).toBe(TRICKY);
    expect(andre.userName).toBe('andré');
  });

  it('group filters: members eq, and the AWS-style id and members pair', async () => {
    const admins = await t.client.createGroup('Admins', [alice.id]);
    await t.client.createGroup('Sales', [bob.id]);
    const byMember = await t.client.filter('Groups', `members eq "${alice.id}"`);
    expect(byMember.body.Resources.map((g: Body) => g.displayName)).toEqual(['Admins']);
    const pair = await t.client.filter('Groups', `id eq "${admins.id}" and members eq "${bob.id}"`);
    expect(pair.body.totalResults).toBe(0);
    const byName = await t.client.filter('Groups', 'displayName eq "admins"');
    expect(byName.body.Resources.map((g: Body) => g.id)).toEqual([admins.id]);
  });

  it('users by group membership through the derived groups attribute', async () => {
    const admins = await t.client.createGroup('Admins', [alice.id, andre.id]);
    expect(await names(`groups.value eq "${admins.id}"`)).toEqual(['alice@example.com', 'andré']);
  });
});

describe('errors', () => {
  it('malformed filters name the position', async () => {
    await invalid('userName eq', /position 12: expected a value/);
    await invalid('userName xx "a"', /position 10: unknown operator "xx"/);
    await invalid('(userName eq "a"', /position 17: expected "\)"/);
    await invalid('userName eq "a', /position 13: unterminated string/);
    await invalid('userName eq "a" title pr', /position 17: expected "and", "or" or the end/);
    await invalid('not title pr', /position 5: expected "\(" after "not"/);
    await invalid('emails[type eq "work"', /expected "\]"/);
  });

  it('unknown attributes and type mismatches are invalidFilter', async () => {
    await invalid('favouriteColour eq "blue"', /unknown attribute "favouriteColour"/);
    await invalid('userName eq 5', /compare it with a quoted string/);
    await invalid('name eq "x"', /name is complex/);
  });

  it('behaviour.filterOperators limits the operators', async () => {
    t.sandbox.behaviour.filterOperators = ['eq', 'and'];
    expect(await names('userName eq "bob@example.com" and externalId eq "e1"')).toEqual(['bob@example.com']);
    await invalid('userName co "a"', /operator "co" is not supported by this server \(supported: eq, and\)/);
    await invalid('userName eq "a" or userName eq "b"', /"or"/);
  });
});

describe('parser', () => {
  it('builds the precedence tree', () => {
    expect(parseFilter('a eq 1 or b eq 2 and not (c pr)')).toEqual({
      kind: 'logical',
      op: 'or',
      left: { kind: 'compare', path: 'a', op: 'eq', value: 1, at: 0 },
      right: {
        kind: 'logical',
        op: 'and',
        left: { kind: 'compare', path: 'b', op: 'eq', value: 2, at: 10 },
        right: { kind: 'not', filter: { kind: 'present', path: 'c', at: 26 } },
      },
    });
  });

  it('reads literals', () => {
    const value = (f: string): unknown => (parseFilter(f) as { value: unknown }).value;
    expect(value('x eq true')).toBe(true);
    expect(value('x eq False')).toBe(false);
    expect(value('x eq null')).toBeNull();
    expect(value('x eq -1.5e2')).toBe(-150);
    expect(value('x eq "\\t\\/"')).toBe('\t/');
  });

  it('parses PATCH paths', () => {
    expect(parsePatchPath('emails[type eq "work"].value')).toMatchObject({ path: 'emails', sub: 'value', filter: { kind: 'compare', path: 'type' } });
    expect(parsePatchPath(`${SCHEMA_ENTERPRISE_USER}:manager.value`)).toEqual({ path: `${SCHEMA_ENTERPRISE_USER}:manager.value` });
    expect(() => parsePatchPath('emails[type eq "work"]x')).toThrow(ScimError);
    expect(() => parsePatchPath('emails[type eq "work"')).toThrow(/invalid path at position 22/);
  });
});

describe('filter size', () => {
  it('a filter of thousands of terms or parentheses is a 400 invalidFilter that says why, not a stack overflow', async () => {
    const { parseFilter } = await import('../../src/sandbox/filter-parser.js');
    const many = Array.from({ length: 8_000 }, (_, i) => `userName eq "u${i}"`).join(' or ');
    const deep = `${'('.repeat(5_000)}userName pr${')'.repeat(5_000)}`;
    for (const filter of [many, deep]) {
      expect(() => parseFilter(filter)).toThrow(expect.objectContaining({ status: 400, scimType: 'invalidFilter', message: expect.stringMatching(/more than 4000 tokens/) }));
    }
    // A long one a client might send still parses.
    expect(() => parseFilter(Array.from({ length: 900 }, (_, i) => `userName eq "u${i}"`).join(' or '))).not.toThrow();
  });
});

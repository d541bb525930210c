/**
 * Expressions end to end (issue #16): mapping values computed from the source with a lookup table,
 * a scope condition whose change deactivates exactly the people who left it, and a mistake in an
 * expression stopping `validate` with the target, the attribute and the column.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, person, type Person } from '../support/harness.js';
import { SCHEMA_ENTERPRISE_USER, SCHEMA_PATCH_OP } from '../../src/model/scim.js';

let h: Harness;
afterEach(async () => {
  await h.close();
});

const LOOKUPS = `lookups:
  costCenters: { Eng: CC-200, Sales: CC-100 }
`;

describe('expression mappings', () => {
  it('computes userName, costCenter (Lookup) and title (IIF) per person, and a second run sends nothing', async () => {
    h = await Harness.start({
      top: LOOKUPS,
      target: `    mapping:
      userName: '=ToLower(Join(".", NormalizeDiacritics(givenName), StripSpaces(familyName))) & "@corp.example"'
      enterprise:costCenter: '=Lookup(department, "costCenters", "CC-000")'
      title: { value: '=IIF(department == "sales", "Account " & title, title)' }
`,
    });
    h.writePeople([person(1, { first: 'Zoë', last: 'van Berg', department: 'Sales', title: 'Manager' }), person(2, { first: 'Åsa', last: 'Lind', department: 'HR' })]);
    const r = await h.run();
    expect(r.code, r.err).toBe(0);
    const zoe = h.sandbox.store.findUserByUserName('zoe.vanberg@corp.example')!;
    expect(zoe['title']).toBe('Account Manager');
    expect(zoe[SCHEMA_ENTERPRISE_USER]).toMatchObject({ costCenter: 'CC-100', department: 'Sales' });
    const asa = h.sandbox.store.findUserByUserName('asa.lind@corp.example')!;
    expect(asa['title']).toBe('Engineer');
    expect(asa[SCHEMA_ENTERPRISE_USER]).toMatchObject({ costCenter: 'CC-000' });

    h.sandbox.clearRequests();
    const again = await h.run();
    expect(again.code, again.err).toBe(0);
    expect(h.writes()).toEqual([]);
  });

  it('"&" gives what the template it stands for gives: no value for a person without either name, no trailing space with one', async () => {
    h = await Harness.start({ target: `    mapping:\n      displayName: '=givenName & " " & familyName'\n      nickName: '{givenName} {familyName}'\n` });
    h.writePeople([person(1, { first: 'Ann', last: 'Lee' }), person(2, { first: 'Bo', last: '' }), person(3, { first: '', last: 'Cho' }), person(4, { first: '', last: '' })]);
    const r = await h.run();
    expect(r.code, `${r.err}\n${r.out}`).toBe(0);
    const names = Object.fromEntries(h.sandbox.store.users().map((u) => [u['externalId'], [u['displayName'] ?? null, u['nickName'] ?? null]]));
    expect(names).toEqual({ E1001: ['Ann Lee', 'Ann Lee'], E1002: ['Bo', 'Bo'], E1003: ['Cho', 'Cho'], E1004: [null, null] });
  });

  it('a unix time no date can hold gives no value, with a time zone too: that person is created without it, and everyone else as usual', async () => {
    h = await Harness.start({ target: `    mapping:\n      nickName: '=FormatDateTime(title, "unix", "iso", "Europe/Berlin")'\n` });
    h.writePeople([person(1, { title: '1706702400' }), person(2, { title: '99999999999999999' }), person(3, { title: '1706702400' })]);
    const r = await h.run();
    expect(r.code, `${r.err}\n${r.out}`).toBe(0);
    const nickNames = Object.fromEntries(h.sandbox.store.users().map((u) => [u['externalId'], u['nickName'] ?? null]));
    expect(nickNames).toEqual({ E1001: '2024-01-31T13:00:00+01:00', E1002: null, E1003: '2024-01-31T13:00:00+01:00' });
  });

  it('a mistake in an expression stops validate, naming the target, the attribute and the column', async () => {
    h = await Harness.start({
      top: LOOKUPS,
      target: `    mapping:
      userName: '=ToLower(Lef(givenName, 1) & familyName)'
      enterprise:costCenter: { value: '=Lookup(department, "costCenter")' }
    scope:
      - 'department == "Eng" and title'
`,
    });
    h.writePeople([person(1)]);
    const r = await h.cli('validate', '--config', h.configFile);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toContain('targets.app.mapping.userName: column 10 (at "Lef(givenName, 1) & fami…"): unknown function Lef; did you mean Left?');
    expect(r.err).toContain(
      `targets.app.mapping.enterprise:costCenter.value: column 21 (at ""costCenter")"): no lookup table "costCenter" (the config's lookups: costCenters)`,
    );
    expect(r.err).toContain('targets.app.scope[0]: column 25 (at "title"): each side of "and" must be a condition (true or false), not an attribute');
    expect(r.err).not.toContain('no rule yields a userName');
    expect(h.writes()).toEqual([]);
  });
});

describe('SelectUniqueValue', () => {
  const UNIQUE = `    mapping:
      userName: '=SelectUniqueValue(ToLower(givenName & "." & familyName) & "@corp.example", ToLower(givenName & "." & familyName) & "2@corp.example", ToLower(givenName & "." & familyName) & "3@corp.example")'
`;
  const namesakes = [person(1, { first: 'Ann', last: 'Lee' }), person(2, { first: 'Bo', last: 'Ek' }), person(3, { first: 'Ann', last: 'Lee' })];
  const userNames = () => Object.fromEntries(h.sandbox.store.users().map((u) => [u['externalId'], u['userName']]));

  it('gives two new people with the same name distinct userNames in one run, and the same ones in the next', async () => {
    h = await Harness.start({ target: UNIQUE });
    h.writePeople(namesakes);
    const first = await h.run();
    expect(first.code, first.err).toBe(0);
    expect(userNames()).toEqual({ E1001: 'ann.lee@corp.example', E1002: 'bo.ek@corp.example', E1003: 'ann.lee2@corp.example' });

    // Next run, the namesakes listed the other way round: nothing changes.
    h.writePeople([namesakes[2]!, namesakes[1]!, namesakes[0]!]);
    h.sandbox.clearRequests();
    const second = await h.run();
    expect(second.code, second.err).toBe(0);
    expect(h.writes()).toEqual([]);
    expect(userNames()).toEqual({ E1001: 'ann.lee@corp.example', E1002: 'bo.ek@corp.example', E1003: 'ann.lee2@corp.example' });
  });

  it('provisioning one namesake on its own looks the candidates up and takes the first free one', async () => {
    h = await Harness.start({ target: UNIQUE });
    h.writePeople(namesakes);
    expect((await h.run()).code).toBe(0);
    h.writePeople([...namesakes, person(4, { first: 'Ann', last: 'Lee' })]);
    h.sandbox.clearRequests();
    const r = await h.cli('provision', '--config', h.configFile, '--user', 'E1004');
    expect(r.code, r.err).toBe(0);
    expect(userNames()['E1004']).toBe('ann.lee3@corp.example');
    expect(h.writes().map((w) => w.method)).toEqual(['POST']);
  });
});

describe('scope conditions', () => {
  const people: Person[] = [
    ...Array.from({ length: 4 }, (_, i) => person(i + 1, { department: 'Eng' })),
    ...Array.from({ length: 3 }, (_, i) => person(i + 11, { department: 'Sales' })),
    ...Array.from({ length: 2 }, (_, i) => person(i + 21, { department: 'HR' })),
  ];

  it('changing a condition deactivates exactly the people who left scope', async () => {
    const scoped = (condition: string) => `    scope:\n      - '${condition}'\n`;
    h = await Harness.start({ target: scoped('In(department, "eng", "sales") and IsPresent(email)'), safety: '  alwaysAllowDeactivations: 10' });
    h.writePeople(people);
    const first = await h.run();
    expect(first.code, first.err).toBe(0);
    expect(h.sandbox.store.users().map((u) => u['userName']).sort()).toEqual(
      ['user1', 'user2', 'user3', 'user4', 'user11', 'user12', 'user13'].map((u) => `${u}@example.com`).sort(),
    );

    h.writeConfig(scoped('department == "Sales"'), '  alwaysAllowDeactivations: 10');
    h.sandbox.clearRequests();
    const second = await h.run();
    expect(second.code, second.err).toBe(0);
    const writes = h.writes();
    expect(writes).toHaveLength(4);
    for (const w of writes) {
      expect(w.method).toBe('PATCH');
      expect(w.body).toEqual({ schemas: [SCHEMA_PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] });
    }
    const inactive = h.sandbox.store.users().filter((u) => u['active'] === false).map((u) => u['userName']);
    expect(inactive.sort()).toEqual(['user1@example.com', 'user2@example.com', 'user3@example.com', 'user4@example.com']);
    expect(second.out).toMatch(/out-of-scope|out of scope/);
  });
  it('an end date nobody can read keeps that person as they are, with a warning; clear verdicts are planned in the same run', async () => {
    // The README's scope, with the end date in the title column.
    const scope = `    scope:\n      - 'In(department, "Eng") and DateDiff("d", Now(), Coalesce(title, "2999-12-31")) >= 0'\n`;
    h = await Harness.start({ target: scope, safety: '  alwaysAllowDeactivations: 10' });
    const staff = [1, 2, 3, 4].map((n) => person(n, { title: '' }));
    h.writePeople(staff);
    const first = await h.run();
    expect(first.code, first.err).toBe(0);
    expect(h.sandbox.store.users()).toHaveLength(4);

    h.writePeople([person(1, { title: '' }), person(2, { title: '31.12.2027' }), person(3, { title: '2028-02-30' }), person(4, { title: '2020-01-01' }), person(5, { title: '' })]);
    h.sandbox.clearRequests();
    const second = await h.run();
    const active = Object.fromEntries(h.sandbox.store.users().map((u) => [u['externalId'], u['active']]));
    expect(active).toEqual({ E1001: true, E1002: true, E1003: true, E1004: false, E1005: true });
    expect(second.out).toContain('E1002 is held: scope[0]');
    expect(second.out).toContain('could not read title "31.12.2027" as an ISO date');
    expect(second.out).toContain('title "2028-02-30"');
    // People 2 and 3 are held, not written: the title the source gives them is not sent either.
    expect(h.writes().map((w) => [w.method, w.path])).toEqual([
      ['POST', '/Users'],
      ['PATCH', expect.stringContaining('/Users/')],
    ]);
    expect(second.code, second.err).toBe(0);
  });
});

/** The join of several sources' reads, as tables: who exists, whose values win, what is reported and what is held. */
import { describe, expect, it } from 'vitest';
import type { CanonicalGroup, CanonicalUser, DirectorySnapshot, SourceValue } from '../../src/model/canonical.js';
import { SourceError } from '../../src/errors.js';
import { joinSnapshots, SAMPLE_KEYS, type JoinSpec } from '../../src/sources/join/join-snapshots.js';

function person(key: string, attributes: Record<string, SourceValue>, extra: Partial<CanonicalUser> = {}): CanonicalUser {
  return { key, active: true, attributes, ref: { location: `rec-${key}` }, ...extra };
}

function group(key: string, memberKeys: string[]): CanonicalGroup {
  return { key, displayName: key, memberKeys, ref: { location: `grp-${key}` } };
}

function snapshot(source: string, users: readonly CanonicalUser[], more: Partial<DirectorySnapshot> = {}): DirectorySnapshot {
  return { source, users, groups: [], issues: [], heldKeys: [], recordsRead: users.length, ...more };
}

const spec = (over: Partial<JoinSpec> = {}): JoinSpec => ({
  primary: 'hr',
  secondaries: [{ name: 'ldap', on: ['employee_id', 'employeeNumber'], maxMissingPercent: 100 }],
  precedence: {},
  groups: ['hr'],
  keyCase: 'ignore',
  ...over,
});

const hr = snapshot('csv:hr.csv', [
  person('E1', { employee_id: 'E1', userName: 'ann@hr', title: 'Engineer', department: '' }),
  person('E2', { employee_id: ' e2 ', userName: 'bo@hr', title: 'Analyst' }),
  person('E3', { employee_id: 'E3', userName: 'cy@hr', title: 'Clerk' }),
]);
const ldap = snapshot('ldap:dir', [
  person('uuid-1', { employeeNumber: 'E1', userName: 'ann@corp', title: 'Senior Engineer', department: 'R&D', phone: '+1 555' }, { managerKey: 'uuid-2' }),
  person('uuid-2', { employeeNumber: 'E2', userName: 'bo@corp', title: null }),
  person('uuid-9', { employeeNumber: 'X9', userName: 'svc@corp' }),
]);

const run = (s: JoinSpec, parts: Record<string, DirectorySnapshot>) => joinSnapshots(s, new Map(Object.entries(parts)), { description: 'joined' });

const byKey = (snap: DirectorySnapshot) => new Map(snap.users.map((u) => [u.key, u]));

describe('joining a secondary to the primary', () => {
  it('the primary decides who exists; values by default precedence (primary first, then the secondary where the primary is empty)', () => {
    const joined = run(spec(), { hr, ldap });
    expect(joined.users.map((u) => u.key)).toEqual(['E1', 'E2', 'E3']);
    const e1 = byKey(joined).get('E1')!;
    // hr has title and userName: hr wins; hr's department is empty: ldap's; phone only ldap has.
    expect(e1.attributes).toMatchObject({ userName: 'ann@hr', title: 'Engineer', department: 'R&D', phone: '+1 555', employeeNumber: 'E1' });
    expect(e1.ref).toEqual({ location: 'rec-E1' });
    // The secondary's manager key, mapped to the primary person it is joined to (" e2 " matches "E2": trimmed, case ignored).
    expect(e1.managerKey).toBe('E2');
  });

  it.each([
    { precedence: { title: ['hr', 'ldap'] }, e1: 'Engineer', e2: 'Analyst' },
    { precedence: { title: ['ldap', 'hr'] }, e1: 'Senior Engineer', e2: 'Analyst' }, // ldap's empty title for E2: hr's
    { precedence: { title: ['ldap'] }, e1: 'Senior Engineer', e2: 'Analyst' }, // the primary is the last resort, listed or not
  ])('precedence $precedence.title: E1 $e1, E2 $e2', ({ precedence, e1, e2 }) => {
    const users = byKey(run(spec({ precedence }), { hr, ldap }));
    expect(users.get('E1')!.attributes['title']).toBe(e1);
    expect(users.get('E2')!.attributes['title']).toBe(e2);
  });

  it('keyCase exact: spacing is trimmed, case is not forgiven', () => {
    const joined = run(spec({ keyCase: 'exact' }), { hr, ldap });
    // " e2 " trims to "e2", which exact case does not match to "E2".
    expect(byKey(joined).get('E2')!.attributes['userName']).toBe('bo@hr');
    expect(byKey(joined).get('E2')!.attributes['employeeNumber']).toBeUndefined();
    expect(joined.warnings?.map((w) => w.message)).toContain("ldap: 2 of 3 people of hr have no record here (hr.employee_id = ldap.employeeNumber); they have the other sources' values; what this source lends them is unknown, not empty: no value of an account they have is cleared, and a scope they fall out of does not deprovision them: E2, E3");
  });

  it('a person missing from the secondary keeps the primary values and is reported once per secondary, by key; unmatched records are counted', () => {
    const joined = run(spec(), { hr, ldap });
    const e3 = byKey(joined).get('E3')!;
    expect(e3.attributes).toEqual({ employee_id: 'E3', userName: 'cy@hr', title: 'Clerk' });
    expect(joined.warnings?.map((w) => [w.code, w.message])).toEqual([
      ['JOIN_MISSING_IN_SECONDARY', "ldap: 1 of 3 people of hr have no record here (hr.employee_id = ldap.employeeNumber); they have the other sources' values; what this source lends them is unknown, not empty: no value of an account they have is cleared, and a scope they fall out of does not deprovision them: E3"],
      ['JOIN_UNMATCHED_RECORDS', 'ldap: 1 of 3 records match no person of hr (hr.employee_id = ldap.employeeNumber) and are ignored'],
    ]);
    expect(joined.issues).toEqual([]);
    // What ldap lends E3 is unknown, not empty: the planner clears none of it.
    expect(joined.partialKeys).toEqual(['E3']);
  });

  it('many missing: one line, the first keys and a count of the rest', () => {
    const many = snapshot('csv:hr.csv', Array.from({ length: SAMPLE_KEYS + 5 }, (_, i) => person(`P${i}`, { employee_id: `P${i}` })));
    const warnings = run(spec(), { hr: many, ldap }).warnings!.filter((w) => w.code === 'JOIN_MISSING_IN_SECONDARY');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toMatch(/^ldap: 25 of 25 people of hr have no record here .*: P0, P1, .*, P19 and 5 more$/);
  });

  it.each([
    { max: 33, fails: true }, // 1 of 3 missing is 33.3%
    { max: 34, fails: false },
  ])('a secondary missing more than maxMissingPercent ($max%) of the people fails the join', ({ max, fails }) => {
    const join = () => run(spec({ secondaries: [{ name: 'ldap', on: ['employee_id', 'employeeNumber'], maxMissingPercent: max }] }), { hr, ldap });
    if (!fails) return void expect(join().users).toHaveLength(3);
    expect(join).toThrow(SourceError);
    expect(join).toThrow(
      'sources.ldap: 1 of 3 people of hr (33.3%) have no record in ldap (hr.employee_id = ldap.employeeNumber; 3 records read), more than join.secondaries.ldap.maxMissingPercent (33%)',
    );
  });

  it('a secondary that returns no one is an outage, whatever its threshold below 100%', () => {
    expect(() => run(spec({ secondaries: [{ name: 'ldap', on: ['employee_id', 'employeeNumber'], maxMissingPercent: 99 }] }), { hr, ldap: snapshot('ldap:dir', []) })).toThrow(/3 of 3 people of hr \(100\.0%\) have no record in ldap .*0 records read/);
  });

  it('a person with no join value keeps the primary values and is reported as such', () => {
    const withBlank = snapshot('csv:hr.csv', [...hr.users, person('E4', { employee_id: '  ', userName: 'di@hr' })]);
    const joined = run(spec(), { hr: withBlank, ldap });
    expect(byKey(joined).get('E4')!.attributes['userName']).toBe('di@hr');
    expect(joined.warnings?.map((w) => w.message)).toContain("ldap: 1 of 4 people of hr have no employee_id to join on; they have the other sources' values; what this source lends them is unknown, not empty: no value of an account they have is cleared, and a scope they fall out of does not deprovision them: E4");
  });

  it('ambiguous joins are held, not guessed: two records of the secondary on one value, or two people of the primary on one value', () => {
    const dupLdap = snapshot('ldap:dir', [...ldap.users, person('uuid-1b', { employeeNumber: 'e1', title: 'Impostor' })]);
    const dupHr = snapshot('csv:hr.csv', [...hr.users, person('E3b', { employee_id: 'E3', userName: 'cy2@hr' })], { heldKeys: ['E7'] });
    const joined = run(spec(), { hr: dupHr, ldap: dupLdap });
    expect(joined.users.map((u) => u.key)).toEqual(['E2']);
    expect(new Set(joined.heldKeys)).toEqual(new Set(['E7', 'E1', 'E3', 'E3b']));
    expect(joined.issues.map((i) => [i.code, i.message])).toEqual([
      ['JOIN_AMBIGUOUS', 'hr: E1 is held, not joined: 2 records of ldap have employeeNumber "e1" (rec-uuid-1, rec-uuid-1b)'],
      ['JOIN_AMBIGUOUS', 'hr: E3 is held, not joined: 2 people of hr have employee_id "e3" to join ldap on'],
      ['JOIN_AMBIGUOUS', 'hr: E3b is held, not joined: 2 people of hr have employee_id "e3" to join ldap on'],
    ]);
  });

  it("every source's issues and records count (prefixed with its name); the primary's held keys stay held", () => {
    const badLdap = snapshot('ldap:dir', ldap.users, { issues: [{ code: 'LDAP_MISSING_KEY', message: 'uid=x: no entryUUID', ref: { location: 'uid=x' } }], recordsRead: 4 });
    const joined = run(spec(), { hr: { ...hr, heldKeys: ['E8'] }, ldap: badLdap });
    expect(joined.issues.map((i) => i.message)).toEqual(['ldap: uid=x: no entryUUID']);
    expect(joined.recordsRead).toBe(3 + 4);
    // Each source's own count, for the safety check's share per source.
    expect(joined.parts).toEqual([
      { name: 'hr', recordsRead: 3, invalidRecords: 0 },
      { name: 'ldap', recordsRead: 4, invalidRecords: 1 },
    ]);
    // E3 has no record in ldap, whose read rejected one: held too (see below).
    expect(joined.heldKeys).toEqual(['E8', 'E3']);
    expect(joined.source).toBe('joined');
  });

  it("groups from the secondary: members mapped to the primary's people, the others left out and counted; a clashing key is the first source's", () => {
    const hrG = { ...hr, groups: [group('eng', ['E1'])] };
    const ldapG = { ...ldap, groups: [group('cn=eng', ['uuid-1', 'uuid-2', 'uuid-9']), group('eng', ['uuid-2'])] };
    const joined = run(spec({ groups: ['hr', 'ldap'] }), { hr: hrG, ldap: ldapG });
    expect(joined.groups.map((g) => [g.key, g.memberKeys])).toEqual([
      ['eng', ['E1']],
      ['cn=eng', ['E1', 'E2']],
    ]);
    expect(joined.warnings?.map((w) => w.message)).toEqual(
      expect.arrayContaining([
        'ldap: group "eng" is also a group of hr; hr\'s is provisioned',
        'ldap: 1 group membership left out: the member is not joined to a person of hr',
      ]),
    );
    // Default: the primary's groups only.
    expect(run(spec(), { hr: hrG, ldap: ldapG }).groups.map((g) => g.key)).toEqual(['eng']);
  });

  it('two secondaries: default order is the order written; each reports its own missing people', () => {
    const google = snapshot('google:x', [person('g-1', { mail: 'E1', title: 'Google Title', costCenter: 'CC1' }), person('g-3', { mail: 'E3', title: 'G3' })]);
    const s = spec({ secondaries: [...spec().secondaries, { name: 'google', on: ['employee_id', 'mail'], maxMissingPercent: 100 }] });
    const users = byKey(run({ ...s, precedence: { title: ['google', 'ldap'] } }, { hr, ldap, google }));
    expect(users.get('E1')!.attributes).toMatchObject({ title: 'Google Title', costCenter: 'CC1', department: 'R&D' });
    expect(users.get('E2')!.attributes['title']).toBe('Analyst'); // neither google (no record) nor ldap (empty): hr
    expect(users.get('E3')!.attributes['title']).toBe('G3');
    const missing = run(s, { hr, ldap, google }).warnings!.filter((w) => w.code === 'JOIN_MISSING_IN_SECONDARY').map((w) => w.message.split(':')[0]);
    expect(missing).toEqual(['ldap', 'google']);
  });

  describe('a manager the secondary names, the primary naming none (an empty manager column: null)', () => {
    const people = snapshot('csv:hr.csv', ['E1', 'E2', 'E3', 'E4'].map((k) => person(k, { employee_id: k, userName: `${k}@hr` }, { managerKey: null })));
    const dir = (...records: CanonicalUser[]) => snapshot('csv:dir.csv', records);
    const rec = (key: string, empno: string, managerKey: string | null) => person(key, { employeeNumber: empno }, { managerKey });
    const managers = (secondary: DirectorySnapshot) => Object.fromEntries(run(spec(), { hr: people, ldap: secondary }).users.map((u) => [u.key, u.managerKey]));

    it('a manager whose record the secondary no longer has, while it misses people (maybe them): unknown, the reference left as it is', () => {
      // u3 (E3's record) is gone; E1 still names it. E2's none is unknown too while people are missing
      // (an LDAP directory names no manager for one whose entry it did not return).
      expect(managers(dir(rec('u1', 'E1', 'u3'), rec('u2', 'E2', null), rec('u4', 'E4', 'u1')))).toEqual({ E1: undefined, E2: undefined, E3: undefined, E4: 'E1' });
    });

    it('a manager it has no record of while it misses no one is no person of the primary: the primary\'s (none)', () => {
      expect(managers(dir(rec('u1', 'E1', 'x9'), rec('u2', 'E2', null), rec('u3', 'E3', 'u1'), rec('u4', 'E4', null)))).toEqual({ E1: null, E2: null, E3: 'E1', E4: null });
    });

    it('the primary with no manager column: a record of the secondary naming no manager is none (cleared, as from that source alone)', () => {
      const noColumn = snapshot('csv:hr.csv', ['E1', 'E2', 'E3'].map((k) => person(k, { employee_id: k, userName: `${k}@hr` })));
      const joined = run(spec(), { hr: noColumn, ldap: dir(rec('u1', 'E1', 'u3'), rec('u2', 'E2', null), rec('u3', 'E3', null)) });
      expect(Object.fromEntries(joined.users.map((u) => [u.key, u.managerKey]))).toEqual({ E1: 'E3', E2: null, E3: null });
    });

    it('a secondary that names no managers leaves the primary\'s, for someone it has no record of too', () => {
      const noManagers = snapshot('csv:dir.csv', [person('u1', { employeeNumber: 'E1' }), person('u2', { employeeNumber: 'E2' })]);
      expect(managers(noManagers)).toEqual({ E1: null, E2: null, E3: null, E4: null });
    });
  });
});

describe('a secondary that could not read every record cleanly', () => {
  it('a person whose record the secondary holds (a duplicate key there) is held, not updated from it', () => {
    const dup = snapshot('ldap:dir', ldap.users, { heldKeys: ['uuid-2'], issues: [{ code: 'LDAP_DUPLICATE_KEY', message: 'uuid-2 twice', ref: { location: 'x' } }] });
    const joined = run(spec(), { hr, ldap: dup });
    expect(joined.users.map((u) => u.key)).toEqual(['E1']);
    expect(joined.heldKeys).toEqual(expect.arrayContaining(['E2', 'E3']));
    expect(joined.warnings!.map((w) => w.message)).toEqual(
      expect.arrayContaining([
        'ldap: 1 people of hr are held (neither updated nor deprovisioned): ldap holds their record: E2',
        'ldap: 1 of 3 people of hr have no record here (hr.employee_id = ldap.employeeNumber); held (neither updated nor deprovisioned) while ldap rejects records, one of which may be theirs: E3',
      ]),
    );
  });

  it('a person missing from a secondary that rejected a record is held: the rejected record may be theirs, and its values are not cleared', () => {
    const rejected = snapshot('ldap:dir', ldap.users.filter((u) => u.key !== 'uuid-2'), {
      issues: [{ code: 'LDAP_MISSING_KEY', message: 'an entry without its key', ref: { location: 'uid=bo' } }],
      recordsRead: 3,
    });
    const joined = run(spec(), { hr, ldap: rejected });
    expect(joined.users.map((u) => u.key)).toEqual(['E1']);
    expect(joined.heldKeys).toEqual(expect.arrayContaining(['E2', 'E3']));
    // The same read without the rejection: missing people keep hr's values and are provisioned.
    const clean = run(spec(), { hr, ldap: snapshot('ldap:dir', rejected.users) });
    expect(clean.users.map((u) => u.key)).toEqual(['E1', 'E2', 'E3']);
    expect(clean.heldKeys).toEqual([]);
  });
});

describe('userNames after the join', () => {
  it('two people given one userName by precedence are both held, with an issue each', () => {
    const taken = snapshot('ldap:dir', [person('uuid-1', { employeeNumber: 'E1', userName: 'BO@hr' })]);
    const joined = run(spec({ precedence: { userName: ['ldap', 'hr'] } }), { hr, ldap: taken });
    expect(joined.users.map((u) => u.key)).toEqual(['E3']);
    expect(joined.heldKeys).toEqual(expect.arrayContaining(['E1', 'E2']));
    expect(joined.issues.filter((i) => i.code === 'JOIN_DUPLICATE_USERNAME').map((i) => i.message)).toEqual([
      'E1 is held: the joined sources give userName "bo@hr" to E1, E2',
      'E2 is held: the joined sources give userName "bo@hr" to E1, E2',
    ]);
  });
});

/**
 * The expression language, table by table: every function and operator with what it gives, and
 * every kind of mistake with the column it is reported at.
 */
import { describe, expect, it } from 'vitest';
import { compileExpression, ExpressionError, lookupTables } from '../../src/mapping/expression/index.js';
import { FUNCTIONS } from '../../src/mapping/expression/functions.js';
import type { Value } from '../../src/mapping/expression/values.js';

const person = {
  givenName: 'Zoë',
  familyName: 'van der Berg',
  nickName: null,
  email: ['Zoe@Example.com', 'zoe.private@example.org'],
  department: 'Sales',
  level: '5',
  start: '31.01.2024',
  hired: '2024-01-31',
  ends: '2024-12-31',
  stamp: '20240131123000Z',
  expires: '133511760000000000',
  tz: 'America/New_York',
  code: 'eng',
  title: '  Senior   Engineer ',
  city: 'São Paulo',
  phone: '+49 (30) 1234-567',
  tags: ['vip', 'Admin'],
};
const lookups = lookupTables({ costCenters: { Sales: 'CC-100', Engineering: 'CC-200' } });
const now = new Date('2024-06-15T10:30:00Z');

function run(expression: string, attributes: Record<string, string | string[] | null> = person): Value {
  return compileExpression(`=${expression}`, 1, { lookups, now, allowUnique: true }).evaluate(attributes);
}

/** [expression, expected]; each row also runs on a person with no attributes where the third column says what that gives. */
const FUNCTION_TABLE: [string, Value, Value?][] = [
  // Text
  ['ToLower(givenName)', 'zoë', null],
  ['ToLower("I", "tr-TR")', 'ı'],
  ['ToUpper(familyName)', 'VAN DER BERG', null],
  ['ToUpper("i", "tr-TR")', 'İ'],
  ['Trim(title)', 'Senior   Engineer', null],
  ['PCase("jean-luc PICARD")', 'Jean-Luc Picard'],
  ['PCase(familyName)', 'Van Der Berg', null],
  ['StripSpaces(title)', 'SeniorEngineer', null],
  ['NormalizeDiacritics("Zoë Øster Łukasz Straße Ærø")', 'Zoe Oster Lukasz Strasse AEro'],
  ['NormalizeDiacritics(city)', 'Sao Paulo', null],
  ['Left(familyName, 3)', 'van', null],
  ['Left("😀ab", 1)', '😀'],
  ['Left(givenName, 0)', ''],
  ['Right(familyName, 4)', 'Berg', null],
  ['Right("ab", 5)', 'ab'],
  ['Mid(familyName, 5, 3)', 'der', null],
  ['Mid("abc", 3, 10)', 'c'],
  ['Word(familyName, 2)', 'der', null],
  ['Word(phone, 3, " ()-")', '1234'],
  ['Word(familyName, 9)', null],
  ['Append(givenName, "!")', 'Zoë!', '!'],
  ['Append(nickName, nickName)', null],
  ['Replace(phone, " ", "")', '+49(30)1234-567', null],
  ['Replace("a$b", "$", "$1")', 'a$1b'],
  ['Replace(phone, /[^0-9+]/, "")', '+49301234567', null],
  ['Replace(familyName, /(\\w+) (\\w+) (\\w+)/, "$3, $1 $2")', 'Berg, van der', null],
  ['Replace(email, /@.*/, "")', 'Zoe', null],
  ['Join(".", givenName, familyName)', 'Zoë.van der Berg', null],
  ['Join(";", email)', 'Zoe@Example.com;zoe.private@example.org', null],
  ['Join("-", nickName, "x", "", "y")', 'x-y', 'x-y'],
  ['Join(",", Split("a;b;;c", ";"))', 'a,b,c'],
  ['Join("|", Split(title, /\\s+/))', 'Senior|Engineer', null],
  ['Split("a;b", ";")[1]', 'b'],
  // Choices
  ['Coalesce(nickName, givenName)', 'Zoë', null],
  ['Coalesce(nickName, "", "fallback")', 'fallback', 'fallback'],
  ['Coalesce(nickName)', null],
  ['IIF(department == "sales", "S", "other")', 'S', 'other'],
  ['IIF(IsPresent(nickName), nickName, givenName)', 'Zoë', null],
  ['IIF(level >= 5, 1, 0)', 1, 0],
  ['Switch(code, "unknown", "eng", "Engineering", "hr", "People")', 'Engineering', 'unknown'],
  ['Switch(code, nickName, "ENG", "Engineering")', 'Engineering', null],
  ['Switch(code, "none", department, "x", "eng", "E")', 'E', 'none'],
  ['Lookup(department, "costCenters")', 'CC-100', null],
  ['Lookup("ENGINEERING", "costCenters")', 'CC-200'],
  ['Lookup(code, "costCenters", "CC-000")', 'CC-000', 'CC-000'],
  // Conditions
  ['IsPresent(givenName)', true, false],
  ['IsPresent(nickName)', false],
  ['IsPresent(email)', true, false],
  ['IsNullOrEmpty(nickName)', true, true],
  ['IsNullOrEmpty(givenName)', false, true],
  ['Not(IsPresent(nickName))', true],
  ['Not(department == "sales" or false)', false],
  ['And(IsPresent(givenName), department == "Sales")', true, false],
  ['And(IsPresent(givenName), IsPresent(nickName), true)', false],
  ['Or(IsPresent(nickName), department == "sales")', true, false],
  ['Or(false, false)', false],
  ['In(department, "Engineering", "SALES")', true, false],
  ['In(tags, "admin")', true, false],
  ['StartsWith(title, "  sen")', true, false],
  ['StartsWith(email, "zoe.p")', true, false],
  ['EndsWith(email, ".ORG")', true, false],
  ['Contains(familyName, "DER")', true, false],
  // A missing part is no part: every text would "contain" the empty one.
  ['Contains("Sales,Engineering", nickName)', false, false],
  ['Contains(familyName, "")', false, false],
  ['StartsWith(department, nickName)', false, false],
  ['EndsWith(email, nickName)', false, false],
  ['Contains(tags, nickName)', false, false],
  ['In(department, nickName, "sales")', true, false],
  ['Switch(Mid(givenName, 9, 1), "none", nickName, "x")', 'none', 'none'],
  ['Matches(givenName, /^z/i)', true, false],
  ['Matches(givenName, /^z/)', false],
  ['Matches(department, "^sal")', true, false],
  // Dates
  ['FormatDateTime(start, "dd.MM.yyyy", "yyyy-MM-dd")', '2024-01-31', null],
  ['FormatDateTime(start, "dd.MM.yyyy", "iso")', '2024-01-31T00:00:00Z', null],
  ['FormatDateTime(start, "dd.MM.yyyy", "iso", "Europe/Berlin")', '2024-01-31T00:00:00+01:00', null],
  ['FormatDateTime(start, "dd.MM.yyyy", "iso", "Europe/Berlin", "UTC")', '2024-01-30T23:00:00Z', null],
  ['FormatDateTime("2024-07-01T12:00:00Z", "iso", "yyyy-MM-dd HH:mm zzz", "UTC", "Europe/Berlin")', '2024-07-01 14:00 +02:00'],
  ['FormatDateTime("2024-07-01 09:00", "yyyy-MM-dd HH:mm", "iso", tz, "UTC")', '2024-07-01T13:00:00Z'],
  ['FormatDateTime("2024-03-31 02:30", "yyyy-MM-dd HH:mm", "iso", "Europe/Berlin", "UTC")', '2024-03-31T01:30:00Z'],
  ['FormatDateTime("2024-10-27 02:30", "yyyy-MM-dd HH:mm", "iso", "Europe/Berlin", "UTC")', '2024-10-27T00:30:00Z'],
  ['FormatDateTime(stamp, "ldap", "d MMMM yyyy, h:mm tt")', '31 January 2024, 12:30 PM', null],
  ['FormatDateTime("3 Feb 99", "d MMM yy", "date")', '1999-02-03'],
  ['FormatDateTime("01/02/2024 11:05:09 PM", "MM/dd/yyyy hh:mm:ss tt", "iso")', '2024-01-02T23:05:09Z'],
  ['FormatDateTime("2024-01-31", "date", "ldap", "+05:30")', '20240130183000Z'],
  ['FormatDateTime(expires, "filetime", "iso")', '2024-01-31T12:00:00Z', null],
  ['FormatDateTime("0", "filetime", "iso")', null],
  ['FormatDateTime("9223372036854775807", "filetime", "iso")', null],
  ['FormatDateTime("2024-01-31T12:00:00Z", "iso", "filetime")', '133511760000000000'],
  ['FormatDateTime("1706702400", "unix", "iso")', '2024-01-31T12:00:00Z'],
  ['FormatDateTime("2024-01-31T12:00:00.250Z", "iso", "unixms")', '1706702400250'],
  ['FormatDateTime("2024-01-31T12:00:00Z", "iso", "unix")', '1706702400'],
  ["FormatDateTime(hired, \"yyyy-MM-dd\", \"'Day' d 'of' M\")", 'Day 31 of 1', null],
  ['FormatDateTime("31.02.2024", "dd.MM.yyyy", "iso")', null],
  ['FormatDateTime("not a date", "dd.MM.yyyy", "iso")', null],
  ['FormatDateTime(hired, "date", "iso", "No/Such_Zone")', 'unreachable: rejected at load'],
  ['DateAdd("d", 30, hired)', '2024-03-01', null],
  ['DateAdd("m", 1, hired)', '2024-02-29', null],
  ['DateAdd("yyyy", -1, "2024-02-29")', '2023-02-28'],
  ['DateAdd("q", 1, hired)', '2024-04-30', null],
  ['DateAdd("ww", 2, hired)', '2024-02-14', null],
  ['DateAdd("h", 36, hired)', '2024-02-01T12:00:00Z', null],
  ['DateAdd("n", 90, "2024-01-31T23:00:00+01:00")', '2024-01-31T23:30:00Z'],
  ['DateAdd("s", 1, "2024-12-31T23:59:59Z")', '2025-01-01T00:00:00Z'],
  ['DateAdd("d", 1, "31.01.2024")', null],
  ['DateDiff("d", hired, ends)', 335, null],
  ['DateDiff("d", Now(), ends)', 199, null],
  ['DateDiff("d", ends, hired)', -335, null],
  ['DateDiff("d", "2024-01-01T23:00:00Z", "2024-01-02T01:00:00Z")', 1],
  ['DateDiff("m", hired, ends)', 11, null],
  ['DateDiff("yyyy", "1990-12-31", hired)', 34],
  ['DateDiff("q", hired, ends)', 3, null],
  ['DateDiff("ww", hired, ends)', 47, null],
  ['DateDiff("h", "2024-01-01T10:59:00Z", "2024-01-01T11:00:00Z")', 1],
  ['DateDiff("n", "2024-01-01T10:00:00Z", "2024-01-01T11:30:00Z")', 90],
  ['DateDiff("s", "2024-01-01T10:00:00Z", "2024-01-01T10:00:42Z")', 42],
  ['DateDiff("d", Now(), ends) < 0', false, false],
  ['Now()', '2024-06-15T10:30:00Z', '2024-06-15T10:30:00Z'],
  ['SelectUniqueValue(Join(".", givenName, familyName), givenName)', 'Zoë.van der Berg', null],
];

describe('functions', () => {
  const rows = FUNCTION_TABLE.filter(([, want]) => want !== 'unreachable: rejected at load');
  it.each(rows)('%s gives %j', (expression, want, empty) => {
    expect(run(expression)).toEqual(want);
    if (empty !== undefined) expect(run(expression, {})).toEqual(empty);
  });

  it('the tables test every function of the language', () => {
    const tested = new Set(FUNCTION_TABLE.flatMap(([e]) => [...e.matchAll(/([A-Za-z]+)\(/g)].map((m) => m[1]!.toLowerCase())));
    const untested = FUNCTIONS.map((f) => f.name).filter((name) => !tested.has(name.toLowerCase()));
    expect(untested).toEqual([]);
  });

  it('an instant no JavaScript date can hold (past ±8.64e15 ms) reads as no date: null, in every output format and zone, never "NaN" text or a RangeError', () => {
    const huge = { unixSeconds: '99999999999999999', unixMs: '99999999999999999', ticks: '999999999999999999999', negative: '-99999999999999999' };
    for (const output of ['"iso"', '"date"', '"ldap"', '"unix"', '"filetime"', '"yyyy-MM-dd HH:mm"']) {
      expect(run(`FormatDateTime(unixSeconds, "unix", ${output})`, huge)).toBeNull();
      expect(run(`FormatDateTime(unixSeconds, "unix", ${output}, "Europe/Berlin")`, huge)).toBeNull();
      expect(run(`FormatDateTime(unixMs, "unixms", ${output}, "Europe/Berlin")`, huge)).toBeNull();
      expect(run(`FormatDateTime(ticks, "filetime", ${output}, "+05:30")`, huge)).toBeNull();
      expect(run(`FormatDateTime(negative, "unix", ${output}, "America/New_York")`, huge)).toBeNull();
    }
    // The last instant a Date holds reads; its wall clock east of UTC does not exist: null, not an error.
    expect(run('FormatDateTime("8640000000000", "unix", "unixms")')).toBe('8640000000000000');
    expect(run('FormatDateTime("8640000000000", "unix", "iso", "Europe/Berlin")')).toBeNull();
    expect(run('FormatDateTime("8640000000001", "unix", "iso")')).toBeNull();
    // Moved past the end of time by DateAdd: null too.
    expect(run('DateAdd("yyyy", 300000, hired)')).toBeNull();
    expect(run('DateAdd("d", 100000000, hired)')).toBeNull();
  });

  it('notes each present value it could not read as a date, a number or a time zone (scope conditions ask); an absent one is no such value', () => {
    const noting = (expression: string, attributes: Record<string, string>) => compileExpression(`=${expression}`, 1, { now }).evaluateNoting(attributes);
    expect(noting('DateDiff("d", Now(), end) >= 0', { end: '31.12.2027' })).toEqual({ value: false, unreadable: [{ value: '31.12.2027', as: 'an ISO date (yyyy-MM-dd)' }] });
    expect(noting('DateDiff("d", Now(), end) >= 0', {})).toEqual({ value: false, unreadable: [] });
    expect(noting('DateAdd("d", 1, end)', { end: '2028-02-30' }).unreadable).toEqual([{ value: '2028-02-30', as: 'an ISO date (yyyy-MM-dd)' }]);
    expect(noting('level >= 5', { level: 'five' })).toEqual({ value: false, unreadable: [{ value: 'five', as: 'a number' }] });
    expect(noting('level >= 5', { level: ' ' }).unreadable).toEqual([]);
    expect(noting('FormatDateTime(d, "dd.MM.yyyy", "iso")', { d: '2024-01-31' })).toEqual({ value: null, unreadable: [{ value: '2024-01-31', as: 'a date in the format "dd.MM.yyyy"' }] });
    expect(noting('FormatDateTime("2024-01-31", "date", "iso", tz)', { tz: 'Mars/Olympus' }).unreadable).toEqual([{ value: 'Mars/Olympus', as: 'a time zone' }]);
    // Nothing is kept from one evaluation to the next.
    expect(noting('level >= 5', { level: '7' })).toEqual({ value: true, unreadable: [] });
  });

  it('function names and keywords ignore case, attribute names keep it', () => {
    expect(run('tolower(givenName)')).toBe('zoë');
    expect(run('iif(TRUE AND NOT false, "y", "n")')).toBe('y');
    expect(run('IsPresent(givenname)')).toBe(false);
    expect(run('[givenName]')).toBe('Zoë');
    expect(run('Join(" ", [job title], [givenName])', { 'job title': 'Chief', givenName: 'Ann' })).toBe('Chief Ann');
  });
});

const OPERATOR_TABLE: [string, Value][] = [
  ['givenName & " " & familyName', 'Zoë van der Berg'],
  ['nickName & givenName', 'Zoë'],
  ['nickName & nickName', null],
  ['"n=" & level', 'n=5'],
  ['"x" & 2', 'x2'],
  ['department == "SALES"', true],
  ['department = "sales"', true],
  ['department != "sales"', false],
  ['department <> "hr"', true],
  ['email == "zoe.private@EXAMPLE.org"', true],
  ['email != "zoe.private@example.org"', false],
  ['"a@b" == email', false],
  ['nickName == null', true],
  ['givenName == null', false],
  ['nickName != null', false],
  ['level == 5', true],
  ['2 == 2.0', true],
  ['IsPresent(nickName) == false', true],
  ['department == code', false],
  ['level > 4', true],
  ['level >= 6', false],
  ['level < 5', false],
  ['level <= 5', true],
  ['3 < level', true],
  ['givenName > 1', false],
  ['tags == "ADMIN"', true],
  ['IsPresent(givenName) and department == "Sales"', true],
  ['IsPresent(nickName) or department == "hr"', false],
  ['IsPresent(nickName) && true', false],
  ['false || true', true],
  ['not IsPresent(nickName)', true],
  ['!IsPresent(givenName)', false],
  ['not (true and false) or false', true],
  ['true or false and false', true],
  ['email[0]', 'Zoe@Example.com'],
  ['email[1]', 'zoe.private@example.org'],
  ['email[2]', null],
  ['givenName[0]', 'Zoë'],
  ['givenName[1]', null],
  ['"text with \\"quotes\\" and \\\\"', 'text with "quotes" and \\'],
  ["'single' & \"double\"", 'singledouble'],
  ['-1', -1],
  ['1.5', 1.5],
  ['null', null],
];

describe('operators', () => {
  it.each(OPERATOR_TABLE)('%s gives %j', (expression, want) => {
    expect(run(expression)).toEqual(want);
  });
});

/** [expression as configured (with its "="), column, what the message says]. */
const ERROR_TABLE: [string, number, string][] = [
  ['=Lef(givenName, 1)', 2, 'unknown function Lef; did you mean Left?'],
  ['=Left(givenName)', 2, 'Left takes 2 arguments (Left(text, count)), not 1'],
  ['=Left(givenName, 1, 2)', 21, 'Left takes 2 arguments'],
  ['=Left(givenName, "x")', 18, "Left's count must be a number, not text"],
  ['=Left(givenName, -1)', 18, "Left's count is a whole number from 0, not -1"],
  ['=Mid(givenName, 0, 1)', 17, "Mid's start counts from 1, not 0"],
  ['=Word(givenName, 0)', 18, "Word's number counts from 1"],
  ['=IIF(department, 1, 2)', 6, "IIF's condition must be a condition (true or false), not an attribute: IsPresent(x)"],
  ['=IIF(true, 1, IsPresent(x))', 15, "IIF's two results cannot mix a number and a condition"],
  ['=ToLower(IsPresent(x))', 10, "ToLower's text must be text, not a condition"],
  ['=ToLower(Split(x, ","))', 10, "ToLower's text must be text, not a list: Join its values"],
  ['=ToLower(x, "not a tag!")', 13, '"not a tag!" is not a language tag'],
  ['=Not(givenName)', 6, '"not" applies to a condition: its operand must be a condition'],
  ['=And(true)', 2, 'And takes at least 2 arguments'],
  ['=Coalesce()', 2, 'Coalesce takes at least 1 argument'],
  ['=Switch(code, "d", "k")', 20, 'Switch takes its keys and results in pairs'],
  ['=Switch(code, "d", true, "v")', 20, "Switch's keys are text"],
  ['=Lookup(department, "nope")', 21, 'no lookup table "nope" (the config\'s lookups: costCenters)'],
  ['=Lookup(department, tableName)', 21, "Lookup's table must be written in the expression (a literal)"],
  ['=FormatDateTime(start, "DD.MM.yyyy", "iso")', 24, '"D" at position 1 of the format is not a format letter'],
  ['=FormatDateTime(start, "iso", "\'T")', 31, 'a quote opened at position 1 of the format is never closed'],
  ['=FormatDateTime(start, "iso", "hello")', 31, 'is not a format letter'],
  ['=FormatDateTime(start, "iso", "-")', 31, 'has no date in it'],
  ['=FormatDateTime(start, fmt, "iso")', 24, "FormatDateTime's inputFormat must be written in the expression"],
  ['=FormatDateTime(start, "iso", "iso", "Mars/Base")', 38, 'unknown time zone "Mars/Base"'],
  ['=DateAdd("days", 1, hired)', 10, 'unknown interval "days"'],
  ['=DateAdd("d", "1", hired)', 15, "DateAdd's count must be a number"],
  ['=DateDiff("d", hired)', 2, 'DateDiff takes 3 arguments'],
  ['=Replace(x, /(/, "")', 13, 'not a valid regular expression'],
  ['=Matches(x, /a/g)', 13, 'unknown regular expression flag in "g"'],
  ['=Matches(x, pattern)', 13, "Matches's pattern must be a literal"],
  ['=ToLower(/a/)', 10, "ToLower's text must be text, not a regular expression"],
  ['=/a/', 2, 'a regular expression alone is no value'],
  ['=IsPresent(/a/)', 12, "IsPresent's value cannot be a regular expression"],
  ['=ToLower(SelectUniqueValue(a, b))', 10, 'SelectUniqueValue can only be the whole value of a mapping rule'],
  ['=givenName & IsPresent(x)', 14, 'each side of "&" must be text, not a condition'],
  ['=IsPresent(x) and givenName', 19, 'each side of "and" must be a condition'],
  ['=not givenName', 6, '"not" applies to a condition'],
  ['=givenName < "b"', 12, '"<" compares numbers'],
  ['=givenName == IsPresent(x)', 2, 'the other side of a comparison with a condition must be a condition'],
  ['=1 == 1 == 1', 9, 'comparisons do not chain'],
  ['=givenName[IsPresent(x)]', 12, 'an index must be a number'],
  ['=givenName[-1]', 12, 'an index is a whole number from 0, not -1'],
  ['=IsPresent(x)[0]', 14, 'only an attribute or a list has values to index'],
  ['=ToLower(givenName', 19, 'expected "," or ")" in the arguments of ToLower, found the end'],
  ['=ToLower(givenName))', 20, 'unexpected ")" after a complete expression'],
  ['=Join(",", "a" "b")', 16, 'expected "," or ")" in the arguments of Join, found text "b"'],
  ['="unclosed', 2, 'unclosed text'],
  ['=/unclosed', 2, 'unclosed regular expression'],
  ['=[job title', 2, 'unclosed "["'],
  ['=[]', 2, 'empty attribute name'],
  ['=a #b', 4, 'unexpected "#"'],
  ['=3rd', 2, '"3r" is neither a number nor a name'],
  ['=a- == 1', 2, 'a name cannot end with "-"'],
  ['=and', 2, '"and" needs a value before it'],
  ['=', 2, 'expected a value, found the end'],
  ['=(1', 4, 'expected ")"'],
  ['=givenName[0', 13, 'expected "]" to close the index'],
];

describe('mistakes', () => {
  it.each(ERROR_TABLE)('%s: column %i, %s', (expression, column, message) => {
    let thrown: unknown;
    try {
      compileExpression(expression, 1, { lookups, now });
    } catch (error) {
      thrown = error;
    }
    expect(thrown, `${expression} compiled`).toBeInstanceOf(ExpressionError);
    const error = thrown as ExpressionError;
    expect(error.detail).toContain(message);
    expect(error.column).toBe(column);
    // The message quotes the text from the column on, so the place is found without counting.
    expect(error.message).toMatch(new RegExp(`^column ${column} \\(at (the end|")`));
  });
});

describe('compiled once', () => {
  it('folds parts built from literals into constants, and reads attributes only per person', () => {
    const compiled = compileExpression('=Lookup(ToUpper("sales"), "costCenters") & "/" & ToLower(department)', 1, { lookups });
    expect(compiled.attributes).toEqual(['department']);
    expect(compiled.evaluate({ department: 'EU' })).toBe('CC-100/eu');
  });

  it('SelectUniqueValue is the whole value or nothing', () => {
    expect(() => compileExpression('=ToLower(SelectUniqueValue(a, b))', 1, { allowUnique: true })).toThrow('column 10 (at "SelectUniqueValue(a, b))"): SelectUniqueValue must be the whole value, not part of it');
  });

  it('SelectUniqueValue lists its candidates per person, without empties or repeats', () => {
    const compiled = compileExpression('=SelectUniqueValue(ToLower(givenName), ToLower(givenName), Join(".", givenName, "2"), nickName)', 1, { allowUnique: true });
    expect(compiled.candidates?.({ givenName: 'Ann' })).toEqual(['ann', 'Ann.2']);
  });
});

describe('comparing lists', () => {
  it('two lists of 150,000 values are equal when they share one, found in one pass (each value against the other list was quadratic: past the test timeout)', () => {
    const left = Array.from({ length: 150_000 }, (_, i) => `L${i}`);
    const right = Array.from({ length: 150_000 }, (_, i) => `R${i}`);
    expect(run('memberOf == ownerOf', { memberOf: left, ownerOf: right })).toBe(false);
    expect(run('memberOf == ownerOf', { memberOf: left, ownerOf: [...right, 'l149999'] })).toBe(true);
    expect(run('memberOf == ownerOf', { memberOf: ['a', 'B'], ownerOf: ['b'] })).toBe(true);
    expect(run('memberOf == ownerOf', { memberOf: [], ownerOf: right })).toBe(false);
  });
});

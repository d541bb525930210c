/**
 * Child process: map and scope 100,000 people with 20 expression rules and a scope condition, and
 * the same people with 20 template rules and scope clauses (the mapping as it was before
 * expressions), each in its own timed pass after a warm-up. Compiling is timed too (once per plan).
 * Prints one JSON line: the median of a few passes of each, and their ratio.
 */
import { expressionOptions } from '../../src/mapping/expression-options.js';
import { compileScope } from '../../src/mapping/scope.js';
import { compileUserMapping, mapUser } from '../../src/mapping/user-mapping.js';
import type { CanonicalUser } from '../../src/model/canonical.js';
import type { ScopeFilter } from '../../src/config/schema/index.js';
import { syntheticUser } from './fixtures.js';

const N = Number(process.env['BENCH_USERS'] ?? 100_000);
const COUNTRIES = ['DE', 'FR', 'US', 'GB', 'JP'];
const people: CanonicalUser[] = Array.from({ length: N }, (_, i) =>
  syntheticUser(i, {
    givenName: i % 7 === 0 ? `Zoë${i}` : `given${i}`,
    middleName: i % 3 === 0 ? `M${i}` : '',
    country: COUNTRIES[i % COUNTRIES.length]!,
    city: `City ${i % 200}`,
    phone: `+49 (30) ${1000 + (i % 9000)}-${i % 100}`,
    mobile: `+49 170 ${i % 10_000}`,
    startDate: `${String(1 + (i % 28)).padStart(2, '0')}.${String(1 + (i % 12)).padStart(2, '0')}.${2000 + (i % 24)}`,
    hired: `${2000 + (i % 24)}-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`,
  }),
);
const attributes = new Set(Object.keys(people[0]!.attributes));
const config = {
  lookups: {
    languages: { DE: 'de', FR: 'fr', JP: 'ja' },
    locales: { DE: 'de-DE', FR: 'fr-FR', US: 'en-US', GB: 'en-GB', JP: 'ja-JP' },
    zones: { DE: 'Europe/Berlin', FR: 'Europe/Paris', US: 'America/New_York', JP: 'Asia/Tokyo' },
    costCenters: Object.fromEntries(Array.from({ length: 20 }, (_, d) => [`Dept ${d}`, `CC-${100 + d}`])),
  },
};
const options = expressionOptions(config, new Date('2024-06-15T10:00:00Z'));

const EXPRESSIONS: Record<string, string> = {
  userName: '=ToLower(NormalizeDiacritics(givenName & "." & familyName)) & "@corp.example"',
  'name.givenName': '=PCase(givenName)',
  'name.familyName': '=PCase(familyName)',
  'name.middleName': '=Coalesce(middleName, Left(givenName, 1))',
  displayName: '=Join(" ", givenName, middleName, familyName)',
  nickName: '=Word(title, 1)',
  title: '=IIF(IsPresent(title), Trim(title), "Staff")',
  userType: '=Switch(department, "Employee", "Dept 1", "Contractor", "Dept 2", "Intern")',
  preferredLanguage: '=Lookup(country, "languages", "en")',
  locale: '=Lookup(country, "locales", "en-US")',
  timezone: '=Lookup(country, "zones", "UTC")',
  'emails[type eq "work"].value': '=ToLower(email)',
  'phoneNumbers[type eq "work"].value': '=Replace(phone, /[^0-9+]/, "")',
  'phoneNumbers[type eq "mobile"].value': '=StripSpaces(mobile)',
  'addresses[type eq "work"].locality': '=ToUpper(city)',
  'addresses[type eq "work"].country': '=Left(ToUpper(country), 2)',
  'enterprise:employeeNumber': '=Right("000000" & employeeNumber, 8)',
  'enterprise:costCenter': '=Lookup(department, "costCenters", "CC-000")',
  'enterprise:organization': '=FormatDateTime(startDate, "dd.MM.yyyy", "iso", "Europe/Berlin")',
  'enterprise:department': '=IIF(DateDiff("d", hired, Now()) > 365, department, department & " (new)")',
};
const CONDITION = 'In(department, "Dept 1", "Dept 2", "Dept 3", "Dept 5", "Dept 8") or StartsWith(title, "Title 1") or IsPresent(middleName)';

// The same paths as templates, and the same scope as clauses: what a config could say before.
const TEMPLATES: Record<string, string> = {
  userName: '{givenName | ascii | lower}.{familyName | lower}@corp.example',
  'name.givenName': '{givenName}',
  'name.familyName': '{familyName}',
  'name.middleName': '{middleName}',
  displayName: '{givenName} {middleName} {familyName}',
  nickName: '{title}',
  title: '{title | trim}',
  userType: '{department}',
  preferredLanguage: '{country | lower}',
  locale: '{country}',
  timezone: '{country}',
  'emails[type eq "work"].value': '{email | lower}',
  'phoneNumbers[type eq "work"].value': '{phone | nospace}',
  'phoneNumbers[type eq "mobile"].value': '{mobile | nospace}',
  'addresses[type eq "work"].locality': '{city | upper}',
  'addresses[type eq "work"].country': '{country | upper}',
  'enterprise:employeeNumber': '{employeeNumber}',
  'enterprise:costCenter': '{costCenter}',
  'enterprise:organization': '{startDate}',
  'enterprise:department': '{department}',
};
const CLAUSES: ScopeFilter[] = [{ department: { in: ['Dept 1', 'Dept 2', 'Dept 3', 'Dept 5', 'Dept 8'] } }, { title: { startsWith: 'Title 1' } }, { middleName: { present: true } }];

function compile(rules: Record<string, string>, scope: Parameters<typeof compileScope>[0]) {
  const start = performance.now();
  const mapping = compileUserMapping(rules, attributes, {}, options);
  const inScope = compileScope(scope, options);
  return { mapping, inScope, compileMs: performance.now() - start };
}

/**
 * One pass: map and scope everyone, as the planner does (it maps a person before it asks the scope,
 * since a leaver's label comes from the mapping); returns ms and a checksum so nothing is optimised away.
 */
function pass(c: ReturnType<typeof compile>): { ms: number; inScope: number; check: number } {
  let inScope = 0;
  let check = 0;
  const start = performance.now();
  for (const person of people) {
    const desired = mapUser(c.mapping, person);
    if (c.inScope(person) === 'in') inScope++;
    check += desired.values.length + desired.userName.length;
  }
  return { ms: performance.now() - start, inScope, check };
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const expressions = compile(EXPRESSIONS, [CONDITION]);
const templates = compile(TEMPLATES, CLAUSES);
if (expressions.mapping.rules.length !== 20 || templates.mapping.rules.length !== 20) throw new Error('each mapping must hold 20 rules');
// Warm-up, then alternate the two so a busy neighbour slows both alike.
pass(expressions);
pass(templates);
const e: number[] = [];
const t: number[] = [];
let scoped = 0;
for (let round = 0; round < 7; round++) {
  globalThis.gc?.();
  const a = pass(expressions);
  e.push(a.ms);
  scoped = a.inScope;
  globalThis.gc?.();
  t.push(pass(templates).ms);
}
const expressionMs = median(e);
const templateMs = median(t);
process.stdout.write(
  `${JSON.stringify({
    people: N,
    rules: 20,
    inScope: scoped,
    expressionMs: Math.round(expressionMs),
    templateMs: Math.round(templateMs),
    ratio: Number((expressionMs / templateMs).toFixed(2)),
    compileMs: Number((expressions.compileMs + 0).toFixed(1)),
    passes: { expressions: e.map(Math.round), templates: t.map(Math.round) },
  })}\n`,
);

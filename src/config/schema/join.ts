/**
 * `sources:` and `join:`: several sources read as one directory (sources/join/). One source, the
 * primary, decides who exists; each other is joined to it on a pair of attributes, and lends its
 * values by `precedence`. `source:` (one source) and `sources:` exclude each other.
 */
import * as z from 'zod';
import { nearestName } from '../nearest-name.js';
import { percent } from './numbers.js';
import { sourceSchema } from './source.js';

const SOURCE_NAME = /^[A-Za-z0-9_-]+$/;
const sourceName = z.string().regex(SOURCE_NAME, 'source names use letters, digits, "-" and "_"');

export const sources = z
  .record(sourceName, sourceSchema)
  .describe('Several sources by name (each written as `source:` would be), joined as `join:` says. Excludes `source:`.');

const secondary = z
  .object({
    on: z
      .tuple([z.string().min(1), z.string().min(1)])
      .describe(
        "[primary attribute, this source's attribute]: a person of the primary and a record of this source are the same person when " +
          'these two values are equal, e.g. [employee_id, employeeNumber]. Attribute names as mappings name them (a CSV header, an ' +
          "LDAP source's canonical names). Values are trimmed, and compared as join.keyCase says.",
      ),
    maxMissingPercent: percent
      .default(50)
      .describe(
        'When more than this share of the primary\'s people have no record in this source, the read fails (exit 4, nothing written): ' +
          'a secondary that returns nothing, or half its people, is an outage or a wrong `on`, and would otherwise take every value it ' +
          'lends away from them. Default 50 (%).',
      ),
  })
  .strict();

export const join = z
  .object({
    primary: sourceName.describe('The source that decides who exists: a person missing from it is not provisioned. Its keys become externalId.'),
    secondaries: z
      .record(sourceName, secondary)
      .refine((s) => Object.keys(s).length > 0, { message: 'at least one source to join to the primary' })
      .describe(
        'Every other source, with the attributes it is joined on. A person of the primary with no record here keeps the values of ' +
          'the others and is reported (a warning: how many, and the first keys); records here that match no person are ignored (counted); ' +
          'a join value shared by several records here (or by several people of the primary) is ambiguous: those people are held ' +
          '(reported as invalid records, neither updated nor deprovisioned) rather than guessed.',
      ),
    precedence: z
      .record(z.string().min(1), z.array(sourceName).min(1))
      .default({})
      .describe(
        'Attribute -> sources in the order they are asked, e.g. {title: [hr, ldap], email: [ldap, hr]}: the first with a non-empty value ' +
          'wins. The primary is always the last resort, listed or not (a person missing from a secondary keeps the primary\'s values). ' +
          'Attributes not listed: the primary first, then the secondaries in the order written. `active` always comes from the primary; ' +
          'the manager reference too, or when the primary names none, from a secondary whose manager is joined to a person of the primary.',
      ),
    groups: z
      .array(sourceName)
      .min(1)
      .optional()
      .describe(
        "Sources whose groups are provisioned (their union; a group key found in two is taken from the first listed, and reported). A " +
          "secondary's group members are its records, each provisioned as the primary person it is joined to. Default: the primary's.",
      ),
    keyCase: z
      .enum(['ignore', 'exact'])
      .default('ignore')
      .describe('How join values compare once trimmed: ignore (case-insensitive, as LDAP and AD compare most attributes) or exact. Default ignore.'),
  })
  .strict()
  .describe('How `sources:` are joined into one directory. Required with `sources:`.');

type Issue = { path: PropertyKey[]; message: string };

/** "unknown source x" with the nearest known name, for every cross-reference of `join:`. */
function unknown(name: string, known: readonly string[]): string {
  const near = nearestName(name, known);
  return `no source "${name}" in sources:${near ? `; did you mean ${near}?` : ''} (sources: ${known.join(', ')})`;
}

/**
 * `source:` or `sources:` with `join:`, and every name `join:` gives is a source; each source is the
 * primary or a secondary, once. Issues carry their path, so load.ts reports them at their line.
 */
export function sourceSetupIssues(config: { source?: unknown; sources?: Record<string, unknown> | undefined; join?: z.output<typeof join> | undefined }): Issue[] {
  const issues: Issue[] = [];
  const { source, sources: named, join: j } = config;
  if (source !== undefined && named !== undefined) {
    return [{ path: ['sources'], message: 'write either source: (one source) or sources: with join: (several joined), not both' }];
  }
  if (source === undefined && named === undefined) return [{ path: ['source'], message: 'required: source: (one source), or sources: with join: (several joined)' }];
  if (named === undefined) return j ? [{ path: ['join'], message: 'join: joins the sources of sources:; with one source: write no join:' }] : [];
  const known = Object.keys(named);
  if (known.length < 2) issues.push({ path: ['sources'], message: 'sources: joins two or more sources; write one source as source:' });
  if (!j) return [...issues, { path: ['join'], message: 'required with sources: which source is the primary, and what each other is joined on' }];
  if (!known.includes(j.primary)) issues.push({ path: ['join', 'primary'], message: unknown(j.primary, known) });
  for (const name of Object.keys(j.secondaries)) {
    if (name === j.primary) issues.push({ path: ['join', 'secondaries', name], message: `${name} is the primary: it cannot also be joined to itself` });
    else if (!known.includes(name)) issues.push({ path: ['join', 'secondaries', name], message: unknown(name, known) });
  }
  for (const name of known) {
    if (name !== j.primary && !(name in j.secondaries)) {
      issues.push({ path: ['sources', name], message: `not joined: name it in join.secondaries with the attributes it is joined on, or remove it` });
    }
  }
  const names = (path: PropertyKey[], list: readonly string[]) => {
    list.forEach((name, i) => {
      if (!known.includes(name)) issues.push({ path: [...path, i], message: unknown(name, known) });
      else if (list.indexOf(name) !== i) issues.push({ path: [...path, i], message: `${name} is listed twice` });
    });
  };
  for (const [attribute, list] of Object.entries(j.precedence)) names(['join', 'precedence', attribute], list);
  if (j.groups) names(['join', 'groups'], j.groups);
  return issues;
}

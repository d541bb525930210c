/**
 * Scoping filters (who is provisioned to a target): a list of filters ORed, each a set of clauses
 * ANDed, evaluated on canonical attributes. Text comparisons ignore case; a multi-valued attribute
 * satisfies a clause when any value does. No filters: everyone is in scope.
 */
import type { ScopeFilter } from '../config/schema/index.js';
import type { CanonicalUser, SourceValue } from '../model/canonical.js';

type Clause = ScopeFilter[string];
type Test = (values: string[]) => boolean;

function compileClause(clause: Clause): Test {
  const lower = (s: string) => s.toLowerCase();
  if (clause.present !== undefined) {
    const want = clause.present;
    return (vs) => (vs.length > 0) === want;
  }
  if (clause.eq !== undefined) {
    const x = lower(clause.eq);
    return (vs) => vs.some((v) => lower(v) === x);
  }
  if (clause.ne !== undefined) {
    const x = lower(clause.ne);
    return (vs) => !vs.some((v) => lower(v) === x);
  }
  if (clause.in !== undefined) {
    const set = new Set(clause.in.map(lower));
    return (vs) => vs.some((v) => set.has(lower(v)));
  }
  if (clause.notIn !== undefined) {
    const set = new Set(clause.notIn.map(lower));
    return (vs) => !vs.some((v) => set.has(lower(v)));
  }
  if (clause.startsWith !== undefined) {
    const x = lower(clause.startsWith);
    return (vs) => vs.some((v) => lower(v).startsWith(x));
  }
  if (clause.endsWith !== undefined) {
    const x = lower(clause.endsWith);
    return (vs) => vs.some((v) => lower(v).endsWith(x));
  }
  if (clause.contains !== undefined) {
    const x = lower(clause.contains);
    return (vs) => vs.some((v) => lower(v).includes(x));
  }
  const re = new RegExp(clause.matches ?? '', 'i');
  return (vs) => vs.some((v) => re.test(v));
}

function asList(value: SourceValue | undefined): string[] {
  if (value === null || value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

export type ScopePredicate = (user: CanonicalUser) => boolean;

export function compileScope(filters: readonly ScopeFilter[] | undefined): ScopePredicate {
  if (!filters || filters.length === 0) return () => true;
  const compiled = filters.map((f) => Object.entries(f).map(([attr, clause]) => [attr, compileClause(clause)] as const));
  return (user) => compiled.some((clauses) => clauses.every(([attr, test]) => test(asList(user.attributes[attr]))));
}

/** One clause's verdict on a person, for `explain`. */
export interface ClauseVerdict {
  attribute: string;
  /** The clause as configured, e.g. `eq "Sales"`. */
  test: string;
  values: string[];
  passed: boolean;
}

/** Each filter's clauses and whether the filter (all its clauses) matched; in scope when any did. */
export interface ScopeExplanation {
  inScope: boolean;
  /** Empty: no filters, everyone is in scope. */
  filters: { passed: boolean; clauses: ClauseVerdict[] }[];
}

function describeClause(clause: Clause): string {
  const [op, value] = Object.entries(clause).find(([, v]) => v !== undefined) ?? ['matches', ''];
  return `${op} ${JSON.stringify(value)}`;
}

/** The same evaluation as compileScope, keeping every clause's verdict. */
export function explainScope(filters: readonly ScopeFilter[] | undefined, user: CanonicalUser): ScopeExplanation {
  const explained = (filters ?? []).map((f) => {
    const clauses = Object.entries(f).map(([attribute, clause]) => {
      const values = asList(user.attributes[attribute]);
      return { attribute, test: describeClause(clause), values, passed: compileClause(clause)(values) };
    });
    return { passed: clauses.every((c) => c.passed), clauses };
  });
  return { inScope: explained.length === 0 || explained.some((f) => f.passed), filters: explained };
}

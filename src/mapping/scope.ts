/**
 * Scoping filters (who is provisioned to a target): a list of filters ORed, each a set of clauses
 * ANDed or a condition in the expression language, evaluated on canonical attributes. Text
 * comparisons ignore case; a multi-valued attribute satisfies a clause when any value does. No
 * filters: everyone is in scope.
 */
import type { ScopeFilter } from '../config/schema/index.js';
import type { CanonicalUser, SourceValue } from '../model/canonical.js';
import { compileExpression, type ExpressionOptions } from './expression/index.js';
import { ExpressionError } from './expression/syntax.js';

type ClauseFilter = Exclude<ScopeFilter, string>;
type Clause = ClauseFilter[string];
type Test = (values: string[]) => boolean;
type Condition = (attributes: CanonicalUser['attributes']) => boolean;

/** Where a condition's expression starts: after a leading "=", which scope conditions may have. */
function conditionStart(text: string): number {
  return text.startsWith('=') ? 1 : 0;
}

/** A scope condition compiled; throws an ExpressionError at its column when it is no condition. */
export function compileCondition(text: string, options: ScopeOptions = {}): { test: Condition; attributes: readonly string[] } {
  const compiled = compileExpression(text, conditionStart(text), options);
  if (compiled.type !== 'bool') {
    throw new ExpressionError(`a scope condition must be true or false, not a value (compare it: department == "Sales", or test it: IsPresent(email))`, conditionStart(text) + 1, text);
  }
  const e = compiled.evaluate;
  return { test: (attributes) => e(attributes) === true, attributes: compiled.attributes };
}

export type ScopeOptions = Pick<ExpressionOptions, 'lookups' | 'now'>;

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

export function compileScope(filters: readonly ScopeFilter[] | undefined, options: ScopeOptions = {}): ScopePredicate {
  if (!filters || filters.length === 0) return () => true;
  const compiled: Condition[] = filters.map((f) => {
    if (typeof f === 'string') return compileCondition(f, options).test;
    const clauses = Object.entries(f).map(([attr, clause]) => [attr, compileClause(clause)] as const);
    return (attributes) => clauses.every(([attr, test]) => test(asList(attributes[attr])));
  });
  if (compiled.length === 1) {
    const only = compiled[0]!;
    return (user) => only(user.attributes);
  }
  return (user) => compiled.some((filter) => filter(user.attributes));
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

/**
 * The same evaluation as compileScope, keeping every clause's verdict. A condition is one clause:
 * `attribute` names the attributes it reads, `values` their first values.
 */
export function explainScope(filters: readonly ScopeFilter[] | undefined, user: CanonicalUser, options: ScopeOptions = {}): ScopeExplanation {
  const explained = (filters ?? []).map((f) => {
    if (typeof f === 'string') {
      const condition = compileCondition(f, options);
      const passed = condition.test(user.attributes);
      const values = condition.attributes.map((a) => asList(user.attributes[a])[0] ?? '');
      return { passed, clauses: [{ attribute: condition.attributes.join(', '), test: f, values, passed }] };
    }
    const clauses = Object.entries(f).map(([attribute, clause]) => {
      const values = asList(user.attributes[attribute]);
      return { attribute, test: describeClause(clause), values, passed: compileClause(clause)(values) };
    });
    return { passed: clauses.every((c) => c.passed), clauses };
  });
  return { inScope: explained.length === 0 || explained.some((f) => f.passed), filters: explained };
}

/**
 * Scoping filters (who is provisioned to a target): a list of filters ORed, each a set of clauses
 * ANDed or a condition in the expression language, evaluated on canonical attributes. Text
 * comparisons ignore case; a multi-valued attribute satisfies a clause when any value does. No
 * filters: everyone is in scope.
 *
 * A verdict is "in", "out", or unknown: a condition whose verdict for a person rests on a present
 * value it could not read as a date or number ("31.12.2027", "five"; true or false alike: `not`
 * turns one into the other), or that failed for them, has no verdict, so the planner holds that person rather than deprovision someone over a
 * typo. An absent value (null, empty) is no such value: Coalesce and IsPresent decide as before.
 */
import type { ScopeFilter } from '../config/schema/index.js';
import type { CanonicalUser, SourceValue } from '../model/canonical.js';
import { compileExpression, type ExpressionOptions } from './expression/index.js';
import { ExpressionError } from './expression/syntax.js';
import { describeUnreadable } from './describe-unreadable.js';

type ClauseFilter = Exclude<ScopeFilter, string>;
type Clause = ClauseFilter[string];
type Test = (values: string[]) => boolean;

/** Why a person's scope is unknown: what could not be read, and in which filter. */
export interface ScopeUnknown {
  readonly unknown: string;
}

export type ScopeVerdict = 'in' | 'out' | ScopeUnknown;
type Condition = (attributes: CanonicalUser['attributes']) => ScopeVerdict;

/** Where a condition's expression starts: after a leading "=", which scope conditions may have. */
function conditionStart(text: string): number {
  return text.startsWith('=') ? 1 : 0;
}

/**
 * A scope condition compiled; throws an ExpressionError at its column when it is no condition.
 * `name`: how messages name it (`scope[0]`).
 */
export function compileCondition(text: string, options: ScopeOptions = {}, name = 'scope'): { test: Condition; attributes: readonly string[] } {
  const compiled = compileExpression(text, conditionStart(text), options);
  if (compiled.type !== 'bool') {
    throw new ExpressionError(`a scope condition must be true or false, not a value (compare it: department == "Sales", or test it: IsPresent(email))`, conditionStart(text) + 1, text);
  }
  const e = compiled.evaluateNoting;
  const reads = compiled.attributes;
  const masked = options.masked ?? new Set<string>();
  const rule = `${name} '${text}'`;
  return {
    test: (attributes) => {
      let result: ReturnType<typeof e>;
      try {
        result = e(attributes);
      } catch (error) {
        return { unknown: `${rule} failed: ${(error as Error).message}` };
      }
      // A verdict reached past a value that did not read is no verdict, true included: `not (level >= 5)`
      // with level "five" is true only because the comparison could not be made.
      if (result.unreadable.length === 0) return result.value === true ? 'in' : 'out';
      return { unknown: `${rule} could not read ${describeUnreadable(result.unreadable, attributes, reads, masked)}` };
    },
    attributes: reads,
  };
}

export type ScopeOptions = Pick<ExpressionOptions, 'lookups' | 'now'> & {
  /** Source attributes whose values a message must not quote (they feed one of `audit.redactAttributes`). */
  readonly masked?: ReadonlySet<string>;
};

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

/** A person's scope: in when any filter says in; else unknown when a filter had no verdict; else out. */
export type ScopePredicate = (user: CanonicalUser) => ScopeVerdict;

export function compileScope(filters: readonly ScopeFilter[] | undefined, options: ScopeOptions = {}): ScopePredicate {
  if (!filters || filters.length === 0) return () => 'in';
  const compiled: Condition[] = filters.map((f, i) => {
    if (typeof f === 'string') return compileCondition(f, options, `scope[${i}]`).test;
    const clauses = Object.entries(f).map(([attr, clause]) => [attr, compileClause(clause)] as const);
    return (attributes) => (clauses.every(([attr, test]) => test(asList(attributes[attr]))) ? 'in' : 'out');
  });
  if (compiled.length === 1) {
    const only = compiled[0]!;
    return (user) => only(user.attributes);
  }
  return (user) => {
    let unknown: ScopeUnknown | undefined;
    for (const filter of compiled) {
      const verdict = filter(user.attributes);
      if (verdict === 'in') return 'in';
      if (verdict !== 'out') unknown ??= verdict;
    }
    return unknown ?? 'out';
  };
}

/** One clause's verdict on a person, for `explain`. */
export interface ClauseVerdict {
  attribute: string;
  /** The clause as configured, e.g. `eq "Sales"`. */
  test: string;
  values: string[];
  passed: boolean;
  /** A condition that has no verdict for the person, and why (see ScopeVerdict). */
  unknown?: string;
}

/** Each filter's clauses and whether the filter (all its clauses) matched; in scope when any did. */
export interface ScopeExplanation {
  inScope: boolean;
  /** Not in scope, and some condition had no verdict: the planner holds the person (why). */
  unknown?: string;
  /** Empty: no filters, everyone is in scope. */
  filters: { passed: boolean; clauses: ClauseVerdict[] }[];
}

/** "in scope", "out of scope", or unknown with why (the person is held). */
export function scopeText(scope: ScopeExplanation): string {
  if (scope.inScope) return 'in scope';
  return scope.unknown !== undefined ? `unknown, held: ${scope.unknown}` : 'out of scope';
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
  const explained = (filters ?? []).map((f, i): { passed: boolean; clauses: ClauseVerdict[] } => {
    if (typeof f === 'string') {
      const condition = compileCondition(f, options, `scope[${i}]`);
      const verdict = condition.test(user.attributes);
      const passed = verdict === 'in';
      const values = condition.attributes.map((a) => asList(user.attributes[a])[0] ?? '');
      const unknown = typeof verdict === 'object' ? { unknown: verdict.unknown } : {};
      return { passed, clauses: [{ attribute: condition.attributes.join(', '), test: f, values, passed, ...unknown }] };
    }
    const clauses = Object.entries(f).map(([attribute, clause]) => {
      const values = asList(user.attributes[attribute]);
      return { attribute, test: describeClause(clause), values, passed: compileClause(clause)(values) };
    });
    return { passed: clauses.every((c) => c.passed), clauses };
  });
  const inScope = explained.length === 0 || explained.some((f) => f.passed);
  const unknown = inScope ? undefined : explained.flatMap((f) => f.clauses).find((c) => c.unknown !== undefined)?.unknown;
  return { inScope, ...(unknown !== undefined ? { unknown } : {}), filters: explained };
}

/**
 * The expression language of mapping values and scope conditions: `=Coalesce(nickName, givenName)`.
 * Parsed and type-checked once (a mistake is an ExpressionError at its column), compiled to one
 * closure over a person's source attributes.
 */
import { compileTree } from './compile.js';
import { parseExpression } from './parser.js';
import { ExpressionError } from './syntax.js';
import type { Compiled } from './compile.js';
import type { Evaluator, Value, ValueType } from './values.js';

export { ExpressionError } from './syntax.js';
export type { Attributes, Unreadable, Value, ValueType } from './values.js';

export interface ExpressionOptions {
  /** Lookup tables by name, each key lower-cased (see lookupTables). */
  readonly lookups?: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** What Now() gives: the plan's time. Default: when the expression is compiled. */
  readonly now?: Date;
  /** SelectUniqueValue may be the whole expression (mapping values only). */
  readonly allowUnique?: boolean;
}

export interface CompiledExpression {
  /** The text as configured. */
  readonly source: string;
  /** Attributes it reads. */
  readonly attributes: readonly string[];
  readonly type: ValueType;
  readonly evaluate: Evaluator<Value>;
  /** Whether evaluateNoting can note anything (Compiled.mayNote). */
  readonly mayNote: boolean;
  /** `evaluate`, with the present values it could not read as a date or number (scope conditions ask). */
  readonly evaluateNoting: Compiled['evaluateNoting'];
  /** Set when the expression is SelectUniqueValue(...): each candidate, in order, for a person. */
  readonly candidates?: Evaluator<string[]>;
}

const NO_TABLES: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map();

/**
 * Compiles `text` from index `start` on (1 after a leading "="); columns in errors count from the
 * start of `text`, so they point into the string as configured.
 */
export function compileExpression(text: string, start: number, options: ExpressionOptions = {}): CompiledExpression {
  const tree = parseExpression(text, start);
  const compiled = compileTree(tree, text, {
    lookups: options.lookups ?? NO_TABLES,
    now: options.now ?? new Date(),
    ...(options.allowUnique
      ? {
          unique: (call) => {
            if (call !== tree) throw new ExpressionError('SelectUniqueValue must be the whole value, not part of it', call.at, text);
          },
        }
      : {}),
  });
  if (compiled.type === 'regex') throw new ExpressionError('a regular expression alone is no value: use it in Replace, Matches or Split', compiled.at, text);
  let candidates: Evaluator<string[]> | undefined;
  if (tree.kind === 'call' && tree.name.toLowerCase() === 'selectuniquevalue') {
    const each = tree.args.map((arg) => compileTree(arg, text, { lookups: options.lookups ?? NO_TABLES, now: options.now ?? new Date() }).eval);
    candidates = (a) => {
      const out: string[] = [];
      for (const e of each) {
        const v = firstText(e(a));
        if (v && !out.includes(v)) out.push(v);
      }
      return out;
    };
  }
  return { source: text, attributes: compiled.attributes, type: compiled.type, evaluate: compiled.eval, mayNote: compiled.mayNote, evaluateNoting: compiled.evaluateNoting, ...(candidates ? { candidates } : {}) };
}

function firstText(v: Value): string | null {
  if (v === null || typeof v === 'boolean' || v instanceof RegExp) return null;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return v;
  return v[0] ?? null;
}

/** Lookup tables from the config, keys lower-cased once (Lookup ignores case). */
export function lookupTables(config: Readonly<Record<string, Readonly<Record<string, string>>>> | undefined): Map<string, Map<string, string>> {
  const tables = new Map<string, Map<string, string>>();
  for (const [name, rows] of Object.entries(config ?? {})) tables.set(name, new Map(Object.entries(rows).map(([k, v]) => [k.toLowerCase(), v])));
  return tables;
}

/**
 * Type-check a syntax tree and turn it into one closure: every decision that does not depend on a
 * person (types, conversions, which function, regular expressions, formats, tables) is taken
 * here, once; what runs per person is plain JS over the source attributes. Parts built only of
 * literals are computed here too.
 */
import { nearestName } from '../../config/nearest-name.js';
import { convert } from './convert.js';
import type { Arg, BuildContext, FunctionSpec, Param } from './function-spec.js';
import { FUNCTIONS } from './functions.js';
import { ExpressionError, type Node } from './syntax.js';
import { compareOperator, concatOperator, equalityOperator } from './operators.js';
import { firstOf, TYPE_NAMES, type Attributes, type Evaluator, type Unreadable, type Value, type ValueType } from './values.js';
import type { SourceValue } from '../../model/canonical.js';

export interface CompileOptions {
  readonly lookups: ReadonlyMap<string, ReadonlyMap<string, string>>;
  readonly now: Date;
  /** Called for SelectUniqueValue: allowed only as the whole of a mapping value (the caller says). */
  readonly unique?: (node: Extract<Node, { kind: 'call' }>) => void;
}

export interface Compiled extends Arg {
  /** Attributes the expression reads, in order of first appearance. */
  readonly attributes: readonly string[];
  /**
   * Whether any part may meet a present value it cannot read (a date function, a comparison of
   * numbers): if not, evaluateNoting never notes anything and need not be asked.
   */
  readonly mayNote: boolean;
  /** `eval`, with the present values it could not read (none: an empty list). */
  readonly evaluateNoting: (attributes: Attributes) => { value: Value; unreadable: readonly Unreadable[] };
}

const NONE_UNREADABLE: readonly Unreadable[] = Object.freeze([]);

const BY_NAME = new Map(FUNCTIONS.map((f) => [f.name.toLowerCase(), f]));

export function compileTree(tree: Node, text: string, options: CompileOptions): Compiled {
  const attributes: string[] = [];
  const fail = (message: string, at: number): never => {
    throw new ExpressionError(message, at, text);
  };
  // Unreadable values are kept only during evaluateNoting (evaluation is synchronous): a mapping
  // value, evaluated plainly, pays nothing for them.
  let noting = false;
  let mayNote = false;
  let noted: Unreadable[] | readonly Unreadable[] = NONE_UNREADABLE;
  const unreadable = (value: string, as: string): void => {
    if (!noting) return;
    if (noted === NONE_UNREADABLE) noted = [];
    (noted as Unreadable[]).push({ value, as });
  };
  const notedCount = (): number => noted.length;
  const forgetNoted = (from: number, to: number): void => {
    if (to > from) (noted as Unreadable[]).splice(from, to - from);
  };

  function constant(value: Value, type: ValueType, at: number): Arg {
    return { type, eval: () => value, constant: true, value, at };
  }

  /** Folds an evaluator of constant inputs into its value. */
  function finish(type: ValueType, evaluator: Evaluator, at: number, inputsConstant: boolean): Arg {
    if (!inputsConstant) return { type, eval: evaluator, constant: false, at };
    return constant(evaluator({}), type, at);
  }

  function node(n: Node): Arg {
    switch (n.kind) {
      case 'literal':
        return constant(n.value, n.value === null ? 'null' : typeof n.value === 'string' ? 'text' : typeof n.value === 'number' ? 'number' : 'bool', n.at);
      case 'regex': {
        if (/[^imsu]/.test(n.flags)) fail(`unknown regular expression flag in "${n.flags}" (use i, m, s or u)`, n.at);
        let re: RegExp;
        try {
          re = new RegExp(n.pattern, n.flags);
        } catch (error) {
          return fail(`not a valid regular expression: ${(error as Error).message}`, n.at);
        }
        return constant(re, 'regex', n.at);
      }
      case 'attribute': {
        if (!attributes.includes(n.name)) attributes.push(n.name);
        const name = n.name;
        return { type: 'values', eval: (a) => a[name] ?? null, constant: false, at: n.at };
      }
      case 'index': {
        const target = node(n.target);
        const index = node(n.index);
        if (index.type !== 'number') fail(`an index must be a number (0 is the first value), not ${TYPE_NAMES[index.type]}`, index.at);
        if (target.type !== 'values' && target.type !== 'list') fail(`only an attribute or a list has values to index, not ${TYPE_NAMES[target.type]}`, n.at);
        const list = target.eval as Evaluator<SourceValue | readonly string[]>;
        const at = index.eval as Evaluator<number | null>;
        if (index.constant) {
          const i = index.value as number;
          if (!Number.isInteger(i) || i < 0) fail(`an index is a whole number from 0, not ${i}`, index.at);
          if (i === 0 && target.type === 'values') return finish('text', (a) => firstOf(list(a) as SourceValue), n.at, target.constant);
          return finish('text', (a) => pick(list(a), i), n.at, target.constant);
        }
        return { type: 'text', eval: (a) => pick(list(a), at(a)), constant: false, at: n.at };
      }
      case 'not': {
        const operand = node(n.operand);
        const e = convert(operand, 'bool', fail, '"not" applies to a condition: its operand') as Evaluator<boolean>;
        return finish('bool', (a) => !e(a), n.at, operand.constant);
      }
      case 'binary': {
        const left = node(n.left);
        const right = node(n.right);
        const both = left.constant && right.constant;
        switch (n.op) {
          case 'and':
          case 'or': {
            const l = convert(left, 'bool', fail, `each side of "${n.op}"`) as Evaluator<boolean>;
            const r = convert(right, 'bool', fail, `each side of "${n.op}"`) as Evaluator<boolean>;
            if (n.op === 'and') return finish('bool', (a) => l(a) && r(a), n.at, both);
            return finish(
              'bool',
              (a) => {
                const before = notedCount();
                if (l(a)) return true;
                const after = notedCount();
                // True on the right whatever the left could not read: that is no doubt about the verdict.
                if (!r(a)) return false;
                forgetNoted(before, after);
                return true;
              },
              n.at,
              both,
            );
          }
          case '&':
            return finish('text', concatOperator(left, right, fail), n.at, both);
          case '==':
          case '!=': {
            const eq = equalityOperator(left, right, fail);
            return finish('bool', n.op === '==' ? eq : (a) => !eq(a), n.at, both);
          }
          default:
            mayNote = true;
            return finish('bool', compareOperator(n.op, left, right, fail, n.at, unreadable), n.at, both);
        }
      }
      case 'call':
        return call(n);
    }
  }

  function call(n: Extract<Node, { kind: 'call' }>): Arg {
    const spec = BY_NAME.get(n.name.toLowerCase());
    if (!spec) {
      const near = nearestName(n.name, [...BY_NAME.values()].map((f) => f.name));
      return fail(`unknown function ${n.name}${near ? `; did you mean ${near}?` : ''}`, n.at);
    }
    if (spec.name === 'SelectUniqueValue') {
      if (!options.unique) fail('SelectUniqueValue can only be the whole value of a mapping rule (it picks among values the target holds)', n.at);
      options.unique!(n);
    }
    const raw = n.args.map(node);
    if (spec.notesUnreadable) mayNote = true;
    const context: BuildContext = {
      fail,
      as: (arg, type) => convert(arg, type, fail, `${spec.name}'s argument`),
      lookups: options.lookups,
      now: options.now,
      at: n.at,
      unreadable,
      notedCount,
      forgetNoted,
    };
    const args = bind(spec, raw, n, context);
    spec.checkArgs?.(args, context);
    const type = spec.returns(args, context);
    const evaluator = spec.build(args, context);
    return finish(type, evaluator, n.at, !spec.volatile && args.every((a) => a.constant));
  }

  /** Checks the count and kinds of the arguments and converts each to its parameter's kind. */
  function bind(spec: FunctionSpec, raw: Arg[], n: Extract<Node, { kind: 'call' }>, context: BuildContext): Arg[] {
    const fixed = spec.params;
    const required = fixed.filter((p) => !p.optional).length;
    const min = required + (spec.rest?.min ?? 0);
    const max = spec.rest ? Infinity : fixed.length;
    if (raw.length < min || raw.length > max) {
      const wanted = max === Infinity ? `at least ${min}` : min === max ? `${min}` : `${min} to ${max}`;
      const where = raw.length > max ? raw[max]!.at : n.at;
      fail(`${spec.name} takes ${wanted} argument${min === 1 && max === 1 ? '' : 's'} (${signature(spec)}), not ${raw.length}`, where);
    }
    return raw.map((arg, i) => {
      const param = (i < fixed.length ? fixed[i] : spec.rest)!;
      const role = `${spec.name}'s ${param.name}`;
      if (param.constant && !arg.constant) fail(`${role} must be written in the expression (a literal), not computed per person`, arg.at);
      const converted = toKind(arg, param, role, context);
      return converted;
    });
  }

  function toKind(arg: Arg, param: Param, role: string, context: BuildContext): Arg {
    switch (param.kind) {
      case 'any':
        if (arg.type === 'regex') fail(`${role} cannot be a regular expression`, arg.at);
        return arg;
      case 'pattern':
        if (arg.type === 'regex') return arg;
        return withEval(arg, 'text', context.as(arg, 'text'));
      default:
        return withEval(arg, param.kind, convert(arg, param.kind, fail, role));
    }
  }

  const compiled = node(tree);
  const evaluate = compiled.eval;
  const evaluateNoting = (a: Attributes) => {
    noting = true;
    noted = NONE_UNREADABLE;
    try {
      const value = evaluate(a);
      // Once each: a value read twice (a zone that is both the input's and the output's) is one problem.
      const once = noted.filter((u, i) => noted.findIndex((v) => v.value === u.value && v.as === u.as) === i);
      return { value, unreadable: once.length === 0 ? NONE_UNREADABLE : once };
    } finally {
      noting = false;
      noted = NONE_UNREADABLE;
    }
  };
  return { ...compiled, attributes, mayNote, evaluateNoting };
}

function withEval(arg: Arg, type: ValueType, evaluator: Evaluator): Arg {
  if (evaluator === arg.eval && arg.type === type) return arg;
  if (arg.constant) {
    const value = evaluator({});
    return { type, eval: () => value, constant: true, value, at: arg.at };
  }
  return { type, eval: evaluator, constant: false, at: arg.at };
}

function pick(list: SourceValue | readonly string[], i: number | null): string | null {
  if (i === null || !Number.isInteger(i) || i < 0 || list === null) return null;
  if (typeof list === 'string') return i === 0 ? list : null;
  return list[i] ?? null;
}

export function signature(spec: FunctionSpec): string {
  const params = spec.params.map((p) => (p.optional ? `[${p.name}]` : p.name));
  if (spec.rest) params.push(`${spec.rest.name}...`);
  return `${spec.name}(${params.join(', ')})`;
}

/**
 * Conversions between static types, decided when an expression compiles: an attribute read as
 * text gives its first value, text read as a list is a list of one, a number read as text is its
 * digits. Everything else is a type error, with a hint at the function that does what was meant.
 */
import type { Arg } from './function-spec.js';
import { firstOf, listOf, numberText, TYPE_NAMES, type Evaluator, type ValueType } from './values.js';
import type { SourceValue } from '../../model/canonical.js';

type Fail = (message: string, at: number) => never;

/** The evaluator of `arg` read as `type`. */
export function convert(arg: Arg, type: ValueType, fail: Fail, role: string): Evaluator {
  const from = arg.type;
  const e = arg.eval;
  if (from === type || from === 'null') return from === 'null' && type === 'list' ? () => [] : e;
  const wrong = (hint = ''): never => fail(`${role} must be ${TYPE_NAMES[type]}, not ${TYPE_NAMES[from]}${hint}`, arg.at);
  switch (type) {
    case 'text':
      if (from === 'values') return (a) => firstOf(e(a) as SourceValue);
      if (from === 'number') return (a) => {
        const n = e(a) as number | null;
        return n === null ? null : numberText(n);
      };
      if (from === 'list') return wrong(': Join its values, or take one with [0]');
      if (from === 'bool') return wrong(': IIF(condition, "yes", "no") turns a condition into text');
      return wrong();
    case 'list':
      if (from === 'values') return (a) => listOf(e(a) as SourceValue);
      if (from === 'text') return (a) => listOf(e(a) as string | null);
      return wrong();
    case 'number':
      return wrong(from === 'text' || from === 'values' ? ': write the number itself, e.g. 3' : '');
    case 'bool':
      return wrong(from === 'text' || from === 'values' || from === 'list' ? ': IsPresent(x) tests that a value is there' : '');
    default:
      return wrong();
  }
}

/**
 * The one type several results can share (IIF's branches, Coalesce's candidates): null gives way to
 * anything, an attribute counts as text, a number beside text becomes text. Throws at the first
 * argument that cannot share it.
 */
export function unify(args: readonly Arg[], fail: Fail, what: string): ValueType {
  let type: ValueType = 'null';
  for (const arg of args) {
    const t: ValueType = arg.type === 'values' ? 'text' : arg.type;
    if (t === 'null') continue;
    if (t === 'regex') fail(`${what} cannot be ${TYPE_NAMES[t]}`, arg.at);
    if (type === 'null' || type === t) type = t;
    else if ((type === 'text' && t === 'number') || (type === 'number' && t === 'text')) type = 'text';
    else fail(`${what} cannot mix ${TYPE_NAMES[type]} and ${TYPE_NAMES[t]}`, arg.at);
  }
  return type === 'null' ? 'text' : type;
}

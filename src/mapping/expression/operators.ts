/**
 * The infix operators. `&` joins text. `==` and `!=` compare text ignoring case, as scoping
 * clauses do; an attribute or list on either side matches when any of its values does (so `!=`
 * means no value matches); `x == null` asks whether x is empty. `<`, `<=`, `>`, `>=` compare
 * numbers; a text side is read as a number (no number: false, and the text is noted as unreadable,
 * so a scope condition can tell it from an absent value).
 */
import type { Arg } from './function-spec.js';
import { convert } from './convert.js';
import { sharesValue } from '../distinct.js';
import { isEmpty, listOf, numberText, TYPE_NAMES, type Evaluator, type NoteUnreadable, type Value } from './values.js';
import type { SourceValue } from '../../model/canonical.js';

type Fail = (message: string, at: number) => never;

export function concatOperator(left: Arg, right: Arg, fail: Fail): Evaluator<string | null> {
  const l = convert(left, 'text', fail, 'each side of "&"') as Evaluator<string | null>;
  const r = convert(right, 'text', fail, 'each side of "&"') as Evaluator<string | null>;
  return (a) => {
    const x = l(a);
    const y = r(a);
    if (!x) return y || null;
    return y ? x + y : x;
  };
}

/** Every value of a side, lower-cased: an attribute or list gives each, a number its digits. */
function sideValues(arg: Arg, fail: Fail): Evaluator<readonly string[]> {
  const e = arg.eval;
  switch (arg.type) {
    case 'text':
      return (a) => {
        const v = e(a) as string | null;
        return v === null || v === '' ? [] : [v.toLowerCase()];
      };
    case 'number':
      return (a) => {
        const v = e(a) as number | null;
        return v === null ? [] : [numberText(v)];
      };
    case 'values':
    case 'list':
      return (a) => listOf(e(a) as SourceValue).map((v) => v.toLowerCase());
    default:
      return fail(`"==" compares text, numbers or conditions, not ${TYPE_NAMES[arg.type]}`, arg.at);
  }
}

export function equalityOperator(left: Arg, right: Arg, fail: Fail): Evaluator<boolean> {
  if (left.type === 'null' || right.type === 'null') {
    const other = left.type === 'null' ? right : left;
    if (other.type === 'regex') fail('a regular expression is never null', other.at);
    const e = other.eval;
    return (a) => isEmpty(e(a) as Value);
  }
  if (left.type === 'bool' || right.type === 'bool') {
    const l = convert(left, 'bool', fail, 'the other side of a comparison with a condition') as Evaluator<boolean>;
    const r = convert(right, 'bool', fail, 'the other side of a comparison with a condition') as Evaluator<boolean>;
    return (a) => l(a) === r(a);
  }
  if (left.type === 'number' && right.type === 'number') {
    const l = left.eval as Evaluator<number | null>;
    const r = right.eval as Evaluator<number | null>;
    return (a) => {
      const x = l(a);
      return x !== null && x === r(a);
    };
  }
  // The common case, `attribute == "Sales"`: the constant lower-cased once.
  const [variable, fixed] = right.constant ? [left, right] : [right, left];
  if (fixed.constant && (fixed.type === 'text' || fixed.type === 'number')) {
    const want = fixed.type === 'number' ? numberText(fixed.value as number) : String(fixed.value ?? '').toLowerCase();
    if (variable.type === 'text') {
      const e = variable.eval as Evaluator<string | null>;
      return (a) => {
        const v = e(a);
        return v !== null && v !== '' && v.toLowerCase() === want;
      };
    }
    if (variable.type === 'values' || variable.type === 'list') {
      const e = variable.eval as Evaluator<SourceValue | readonly string[]>;
      return (a) => {
        const v = e(a);
        if (v === null || v === '') return false;
        if (typeof v === 'string') return v.toLowerCase() === want;
        for (const x of v) if (x !== '' && x.toLowerCase() === want) return true;
        return false;
      };
    }
  }
  const l = sideValues(left, fail);
  const r = sideValues(right, fail);
  return (a) => {
    const xs = l(a);
    if (xs.length === 0) return false;
    return sharesValue(xs, r(a));
  };
}

/** A side of an ordering as numbers: a number as is, text parsed (not a number: left out, and noted). */
function numbers(arg: Arg, fail: Fail, note: NoteUnreadable): Evaluator<readonly number[]> {
  const e = arg.eval;
  switch (arg.type) {
    case 'number':
      return (a) => {
        const n = e(a) as number | null;
        return n === null ? [] : [n];
      };
    case 'text':
    case 'values':
    case 'list':
      return (a) => {
        const out: number[] = [];
        for (const v of listOf(e(a) as SourceValue)) {
          const t = v.trim();
          if (t === '') continue;
          const n = Number(t);
          if (!Number.isNaN(n)) out.push(n);
          else note(v, 'a number');
        }
        return out;
      };
    default:
      return fail(`"<", "<=", ">" and ">=" compare numbers, not ${TYPE_NAMES[arg.type]}`, arg.at);
  }
}

/** `at`: the operator's column. */
export function compareOperator(op: '<' | '<=' | '>' | '>=', left: Arg, right: Arg, fail: Fail, at: number, note: NoteUnreadable): Evaluator<boolean> {
  if (left.type !== 'number' && right.type !== 'number') {
    fail(`"${op}" compares numbers: one side must be a number (for dates, compare DateDiff(...) with 0)`, at);
  }
  const test = op === '<' ? (x: number, y: number) => x < y : op === '<=' ? (x: number, y: number) => x <= y : op === '>' ? (x: number, y: number) => x > y : (x: number, y: number) => x >= y;
  if (left.type === 'number' && right.type === 'number') {
    const l = left.eval as Evaluator<number | null>;
    const r = right.eval as Evaluator<number | null>;
    return (a) => {
      const x = l(a);
      const y = r(a);
      return x !== null && y !== null && test(x, y);
    };
  }
  const l = numbers(left, fail, note);
  const r = numbers(right, fail, note);
  return (a) => {
    const ys = r(a);
    return l(a).some((x) => ys.some((y) => test(x, y)));
  };
}

/**
 * Functions over text. Each gives null for a missing input (so a mapping of an empty attribute
 * stays absent); positions count characters (a letter outside the BMP is one), from 1 as the
 * directories' own expression languages do.
 */
import { defineFunctions, type Arg, type BuildContext, type FunctionSpec } from './function-spec.js';
import type { Evaluator } from './values.js';

type Text = Evaluator<string | null>;
type Num = Evaluator<number | null>;
const text = (arg: Arg | undefined): Text => (arg ? (arg.eval as Text) : () => null);
const num = (arg: Arg): Num => arg.eval as Num;

/** One unary text function: null in, null out. */
function mapText(arg: Arg, fn: (v: string) => string): Text {
  const e = text(arg);
  return (a) => {
    const v = e(a);
    return v === null ? null : fn(v);
  };
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** Characters of a text: the string itself when it has no surrogate pair (the usual case), else its code points. */
function chars(v: string): string | string[] {
  return SURROGATE.test(v) ? Array.from(v) : v;
}

function slice(v: string, from: number, to: number): string {
  const c = chars(v);
  return typeof c === 'string' ? c.slice(from, to) : c.slice(from, to).join('');
}

function length(v: string): number {
  const c = chars(v);
  return c.length;
}

/** A culture argument (ToLower(x, "tr-TR")) checked when the config loads. */
function culture(arg: Arg | undefined, context: BuildContext): string | undefined {
  if (!arg) return undefined;
  const tag = arg.value as string | null;
  if (!tag) return undefined;
  try {
    return Intl.getCanonicalLocales(tag)[0];
  } catch {
    return context.fail(`"${tag}" is not a language tag (e.g. en-US, tr-TR)`, arg.at);
  }
}

/** A count that must not be negative, checked at load when written as a literal. */
function count(arg: Arg, context: BuildContext, what: string): void {
  if (arg.constant && typeof arg.value === 'number' && (arg.value < 0 || !Number.isInteger(arg.value))) {
    context.fail(`${what} is a whole number from 0, not ${arg.value}`, arg.at);
  }
}

// Letters that do not decompose into a base letter and a mark (NFKD leaves them whole).
const LETTERS: Record<string, string> = { ø: 'o', Ø: 'O', ł: 'l', Ł: 'L', đ: 'd', Đ: 'D', ð: 'd', Ð: 'D', ß: 'ss', ẞ: 'SS', æ: 'ae', Æ: 'AE', œ: 'oe', Œ: 'OE', þ: 'th', Þ: 'Th', ı: 'i', ħ: 'h', Ħ: 'H', ŧ: 't', Ŧ: 'T' };
const OTHER_LETTERS = new RegExp(`[${Object.keys(LETTERS).join('')}]`, 'g');
const ASCII = /^[\x00-\x7f]*$/;
const MARKS = /\p{M}/gu;

function normalizeDiacritics(v: string): string {
  if (ASCII.test(v)) return v;
  return v.normalize('NFKD').replace(MARKS, '').replace(OTHER_LETTERS, (c) => LETTERS[c]!).normalize('NFC');
}

const LETTER = /\p{L}/u;
const SPACE = /\s/;

/**
 * Each word (after a space or a hyphen) capitalised, the rest lower-cased: "jean-luc PICARD" ->
 * "Jean-Luc Picard". A loop rather than a replace with a callback: it runs for every person.
 */
function properCase(text: string): string {
  const lower = text.toLowerCase();
  let out = '';
  let start = true;
  for (const ch of lower) {
    const code = ch.charCodeAt(0);
    const letter = code < 128 ? (code >= 97 && code <= 122) || (code >= 65 && code <= 90) : LETTER.test(ch);
    out += start && letter ? ch.toUpperCase() : ch;
    if (letter) start = false;
    else if (ch === '-' || (code < 128 ? code === 32 || (code >= 9 && code <= 13) : SPACE.test(ch))) start = true;
  }
  return out;
}

/** Left and Right: `count` characters from one end. */
function takeChars(name: string, take: (s: string, count: number) => string): FunctionSpec {
  return {
    name,
    params: [{ name: 'text', kind: 'text' }, { name: 'count', kind: 'number' }],
    returns: () => 'text',
    checkArgs: ([, n], context) => count(n!, context, `${name}'s count`),
    build: ([v, n]) => {
      const e = text(v);
      const k = num(n!);
      return (a) => {
        const s = e(a);
        const c = k(a);
        return s === null || c === null ? null : take(s, Math.max(0, Math.trunc(c)));
      };
    },
  };
}

/** ToLower and ToUpper: the plain conversion, or a culture's (tr-TR: I -> ı). */
function changeCase(name: string, plain: (s: string) => string, cultured: (s: string, tag: string) => string): FunctionSpec {
  return {
    name,
    params: [{ name: 'text', kind: 'text' }, { name: 'culture', kind: 'text', optional: true, constant: true }],
    returns: () => 'text',
    build: ([v, c], context) => {
      const tag = culture(c, context);
      return tag ? mapText(v!, (s) => cultured(s, tag)) : mapText(v!, plain);
    },
  };
}

export const TEXT_FUNCTIONS = defineFunctions(
  changeCase('ToLower', (s) => s.toLowerCase(), (s, tag) => s.toLocaleLowerCase(tag)),
  changeCase('ToUpper', (s) => s.toUpperCase(), (s, tag) => s.toLocaleUpperCase(tag)),
  {
    name: 'Trim',
    params: [{ name: 'text', kind: 'text' }],
    returns: () => 'text',
    build: ([v]) => mapText(v!, (s) => s.trim()),
  },
  {
    name: 'PCase',
    params: [{ name: 'text', kind: 'text' }],
    returns: () => 'text',
    build: ([v]) => mapText(v!, properCase),
  },
  {
    name: 'StripSpaces',
    params: [{ name: 'text', kind: 'text' }],
    returns: () => 'text',
    build: ([v]) => mapText(v!, (s) => s.replace(/\s+/g, '')),
  },
  {
    name: 'NormalizeDiacritics',
    params: [{ name: 'text', kind: 'text' }],
    returns: () => 'text',
    build: ([v]) => mapText(v!, normalizeDiacritics),
  },
  takeChars('Left', (s, n) => slice(s, 0, n)),
  takeChars('Right', (s, n) => {
    const len = length(s);
    return slice(s, Math.max(0, len - n), len);
  }),
  {
    name: 'Mid',
    params: [{ name: 'text', kind: 'text' }, { name: 'start', kind: 'number' }, { name: 'length', kind: 'number' }],
    returns: () => 'text',
    checkArgs: ([, start, len], context) => {
      if (start!.constant && typeof start!.value === 'number' && (start!.value < 1 || !Number.isInteger(start!.value))) {
        context.fail(`Mid's start counts from 1, not ${start!.value}`, start!.at);
      }
      count(len!, context, "Mid's length");
    },
    build: ([v, s, l]) => {
      const e = text(v);
      const from = num(s!);
      const len = num(l!);
      return (a) => {
        const value = e(a);
        const f = from(a);
        const n = len(a);
        if (value === null || f === null || n === null) return null;
        const begin = Math.max(1, Math.trunc(f)) - 1;
        return slice(value, begin, begin + Math.max(0, Math.trunc(n)));
      };
    },
  },
  {
    name: 'Word',
    params: [{ name: 'text', kind: 'text' }, { name: 'number', kind: 'number' }, { name: 'delimiters', kind: 'text', optional: true }],
    returns: () => 'text',
    checkArgs: ([, n], context) => {
      if (n!.constant && typeof n!.value === 'number' && (n!.value < 1 || !Number.isInteger(n!.value))) context.fail(`Word's number counts from 1, not ${n!.value}`, n!.at);
    },
    // The n-th word, words being separated by any of the delimiter characters (default a space); empty words do not count.
    build: ([v, n, d]) => {
      const e = text(v);
      const which = num(n!);
      const delimiters = d ? text(d) : () => ' ';
      const fixed = !d || d.constant ? splitter((d?.value as string | null) ?? ' ') : null;
      return (a) => {
        const s = e(a);
        const k = which(a);
        if (s === null || k === null || k < 1) return null;
        const words = (fixed ?? splitter(delimiters(a) ?? ' '))(s);
        return words[Math.trunc(k) - 1] ?? null;
      };
    },
  },
  {
    name: 'Append',
    params: [{ name: 'text', kind: 'text' }, { name: 'suffix', kind: 'text' }],
    returns: () => 'text',
    build: ([x, y]) => {
      const l = text(x);
      const r = text(y);
      return (a) => {
        const s = l(a);
        const t = r(a);
        if (!s) return t || null;
        return t ? s + t : s;
      };
    },
  },
  {
    name: 'Replace',
    params: [{ name: 'text', kind: 'text' }, { name: 'find', kind: 'pattern' }, { name: 'replacement', kind: 'text' }],
    returns: () => 'text',
    // Every occurrence. A regular expression may use its groups in the replacement: $1, $<name>.
    build: ([v, find, by]) => {
      const e = text(v);
      const replacement = text(by);
      if (find!.type === 'regex') {
        const re = find!.value as RegExp;
        const global = new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`);
        const fixed = by!.constant ? ((by!.value as string | null) ?? '') : null;
        return (a) => {
          const s = e(a);
          return s === null ? null : s.replace(global, fixed ?? replacement(a) ?? '');
        };
      }
      const what = text(find);
      return (a) => {
        const s = e(a);
        const f = what(a);
        // A literal replacement: "$" in it is a dollar sign, not a group.
        return s === null ? null : !f ? s : s.split(f).join(replacement(a) ?? '');
      };
    },
  },
);

function splitter(delimiters: string): (s: string) => string[] {
  if (delimiters === '') return (s) => (s === '' ? [] : [s]);
  const re = new RegExp(`[${delimiters.replace(/[\\\]^-]/g, '\\$&')}]+`);
  return (s) => s.split(re).filter((w) => w !== '');
}

/**
 * Tokens of the expression language. Columns are 1-based positions in the configured text (the
 * caller says where the expression starts in it: after a leading "=", column 2).
 */
import { ExpressionError } from './syntax.js';

export type Token =
  | { kind: 'string'; value: string; at: number }
  | { kind: 'number'; value: number; at: number }
  | { kind: 'name'; value: string; at: number }
  /** `[job title]`: an attribute whose name is not a plain identifier (also `[givenName]`, as Entra writes it). */
  | { kind: 'bracketed'; value: string; at: number }
  | { kind: 'regex'; pattern: string; flags: string; at: number }
  | { kind: 'punct'; value: string; at: number }
  | { kind: 'end'; at: number };

const PUNCT = ['==', '!=', '<>', '<=', '>=', '&&', '||', '(', ')', '[', ']', ',', '&', '=', '<', '>', '!'];
const NAME_START = /[A-Za-z_]/;
const NAME_PART = /[A-Za-z0-9_-]/;

/**
 * `text` is the whole configured string; tokens are read from index `start`. A `[` right after a
 * value (name, `)`, `]`, string) indexes it; anywhere else it opens a bracketed attribute name.
 */
export function tokenize(text: string, start: number): Token[] {
  const tokens: Token[] = [];
  let i = start;
  const fail = (message: string, at: number): never => {
    throw new ExpressionError(message, at + 1, text);
  };
  const afterValue = (): boolean => {
    const last = tokens[tokens.length - 1];
    if (!last) return false;
    if (last.kind === 'punct') return last.value === ')' || last.value === ']';
    return last.kind !== 'end';
  };
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const at = i;
    if (ch === '"' || ch === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) fail(`unclosed text: a ${ch} opened here is never closed`, at);
        const c = text[i]!;
        if (c === ch) break;
        if (c === '\\') {
          const next = text[i + 1];
          if (next === undefined) fail('a \\ at the end of the text escapes nothing', i);
          value += next === 'n' ? '\n' : next === 't' ? '\t' : next;
          i += 2;
          continue;
        }
        value += c;
        i++;
      }
      i++;
      tokens.push({ kind: 'string', value, at: at + 1 });
      continue;
    }
    if (/[0-9]/.test(ch) || (ch === '-' && /[0-9]/.test(text[i + 1] ?? '') && !afterValue())) {
      const m = /^-?[0-9]+(\.[0-9]+)?/.exec(text.slice(i))!;
      i += m[0].length;
      if (i < text.length && NAME_START.test(text[i]!)) fail(`"${m[0]}${text[i]}" is neither a number nor a name`, at);
      tokens.push({ kind: 'number', value: Number(m[0]), at: at + 1 });
      continue;
    }
    if (NAME_START.test(ch)) {
      while (i < text.length && NAME_PART.test(text[i]!)) i++;
      // A name may not end in "-": "a-" is a typo, and "-" starts no operator.
      if (text[i - 1] === '-') fail(`a name cannot end with "-"`, at);
      tokens.push({ kind: 'name', value: text.slice(at, i), at: at + 1 });
      continue;
    }
    if (ch === '[' && !afterValue()) {
      const end = text.indexOf(']', i + 1);
      if (end === -1) fail('unclosed "[": an attribute name in brackets needs its "]"', at);
      const name = text.slice(i + 1, end).trim();
      if (name === '') fail('empty attribute name in brackets', at);
      tokens.push({ kind: 'bracketed', value: name, at: at + 1 });
      i = end + 1;
      continue;
    }
    if (ch === '/') {
      // No division in this language: "/" always opens a regular expression.
      let j = i + 1;
      let inClass = false;
      for (;;) {
        if (j >= text.length) fail('unclosed regular expression: a / opened here is never closed', at);
        const c = text[j]!;
        if (c === '\\') j += 2;
        else if (c === '[') (inClass = true), j++;
        else if (c === ']') (inClass = false), j++;
        else if (c === '/' && !inClass) break;
        else j++;
      }
      const pattern = text.slice(i + 1, j);
      let k = j + 1;
      while (k < text.length && /[a-z]/.test(text[k]!)) k++;
      const flags = text.slice(j + 1, k);
      if (pattern === '') fail('empty regular expression', at);
      tokens.push({ kind: 'regex', pattern, flags, at: at + 1 });
      i = k;
      continue;
    }
    const punct = PUNCT.find((p) => text.startsWith(p, i));
    if (!punct) fail(`unexpected "${ch}"`, at);
    tokens.push({ kind: 'punct', value: punct!, at: at + 1 });
    i += punct!.length;
  }
  tokens.push({ kind: 'end', at: text.length + 1 });
  return tokens;
}

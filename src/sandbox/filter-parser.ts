import { ScimError } from './errors.js';
import type { ScimType } from './errors.js';

/**
 * RFC 7644 §3.4.2.2 filter grammar (Figure 1) to an AST, and the PATCH path grammar (§3.5.2)
 * that reuses it. Syntax only: attribute names stay as written and are resolved against a schema
 * by filter-eval. Operators and literals are case-insensitive; precedence is not > and > or.
 */

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type FilterValue = string | number | boolean | null;

export type FilterNode =
  | { readonly kind: 'logical'; readonly op: 'and' | 'or'; readonly left: FilterNode; readonly right: FilterNode }
  | { readonly kind: 'not'; readonly filter: FilterNode }
  | { readonly kind: 'compare'; readonly path: string; readonly op: CompareOp; readonly value: FilterValue; readonly at: number }
  | { readonly kind: 'present'; readonly path: string; readonly at: number }
  | { readonly kind: 'valuePath'; readonly path: string; readonly filter: FilterNode; readonly at: number };

/** `attrPath`, `attrPath[valFilter]`, or `attrPath[valFilter].subAttr`. */
export interface PatchPath {
  readonly path: string;
  readonly filter?: FilterNode;
  readonly sub?: string;
}

const COMPARE_OPS = new Set<string>(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
// ATTRNAME = ALPHA *(nameChar), optional URI prefix and one sub-attribute ("$ref" is allowed as a name).
const ATTR_PATH = /^(?:urn:[^\s[\]()"]*:)?[A-Za-z$][\w$-]*(?:\.[A-Za-z$][\w$-]*)?$/i;

type Token =
  | { readonly type: 'word'; readonly text: string; readonly at: number }
  | { readonly type: 'string'; readonly value: string; readonly at: number }
  | { readonly type: '(' | ')' | '[' | ']'; readonly at: number }
  | { readonly type: 'end'; readonly at: number };

/** Tokens a filter or path may hold: some 1,000 comparisons, far past what a client sends in one. */
const MAX_TOKENS = 4000;

export function parseFilter(text: string): FilterNode {
  const parser = new Parser(text, 'invalidFilter', 'filter');
  const node = parser.parseOr(false);
  parser.expectEnd();
  return node;
}

export function parsePatchPath(text: string): PatchPath {
  const parser = new Parser(text, 'invalidPath', 'path');
  return parser.parsePatchPath();
}

class Parser {
  private readonly tokens: Token[];
  private index = 0;

  constructor(
    private readonly text: string,
    private readonly scimType: ScimType,
    private readonly what: string,
  ) {
    this.tokens = this.tokenize();
  }

  parseOr(inValuePath: boolean): FilterNode {
    let left = this.parseAnd(inValuePath);
    while (this.isKeyword('or')) {
      this.index++;
      left = { kind: 'logical', op: 'or', left, right: this.parseAnd(inValuePath) };
    }
    return left;
  }

  expectEnd(): void {
    const token = this.peek();
    if (token.type !== 'end') throw this.error(token.at, `expected "and", "or" or the end, found ${this.describe(token)}`);
  }

  parsePatchPath(): PatchPath {
    const first = this.peek();
    if (first.type !== 'word' || !ATTR_PATH.test(first.text)) throw this.error(first.at, `expected an attribute path, found ${this.describe(first)}`);
    this.index++;
    if (this.peek().type !== '[') {
      this.expectEnd();
      return { path: first.text };
    }
    this.index++;
    const filter = this.parseOr(true);
    this.expect(']');
    const after = this.peek();
    if (after.type === 'end') return { path: first.text, filter };
    if (after.type === 'word' && /^\.[A-Za-z$][\w$-]*$/.test(after.text)) {
      this.index++;
      this.expectEnd();
      return { path: first.text, filter, sub: after.text.slice(1) };
    }
    throw this.error(after.at, `expected ".subAttribute" or the end after "]", found ${this.describe(after)}`);
  }

  private parseAnd(inValuePath: boolean): FilterNode {
    let left = this.parseUnary(inValuePath);
    while (this.isKeyword('and')) {
      this.index++;
      left = { kind: 'logical', op: 'and', left, right: this.parseUnary(inValuePath) };
    }
    return left;
  }

  private parseUnary(inValuePath: boolean): FilterNode {
    const token = this.peek();
    if (this.isKeyword('not')) {
      const open = this.tokens[this.index + 1];
      // No attribute is called "not", so this is the operator missing its parentheses.
      if (open?.type !== '(') throw this.error(open?.at ?? this.text.length, `expected "(" after "not", found ${open ? this.describe(open) : 'the end'}`);
      this.index += 2;
      const filter = this.parseOr(inValuePath);
      this.expect(')');
      return { kind: 'not', filter };
    }
    if (token.type === '(') {
      this.index++;
      const filter = this.parseOr(inValuePath);
      this.expect(')');
      return filter;
    }
    return this.parseAttributeExpression(inValuePath);
  }

  private parseAttributeExpression(inValuePath: boolean): FilterNode {
    const token = this.peek();
    if (token.type !== 'word' || !ATTR_PATH.test(token.text)) {
      throw this.error(token.at, `expected an attribute path, "not (" or "(", found ${this.describe(token)}`);
    }
    this.index++;
    const path = token.text;
    const next = this.peek();
    if (next.type === '[') {
      if (inValuePath) throw this.error(next.at, 'value filters cannot be nested');
      this.index++;
      const filter = this.parseOr(true);
      this.expect(']');
      return { kind: 'valuePath', path, filter, at: token.at };
    }
    if (next.type !== 'word') throw this.error(next.at, `expected an operator after "${path}", found ${this.describe(next)}`);
    const op = next.text.toLowerCase();
    this.index++;
    if (op === 'pr') return { kind: 'present', path, at: token.at };
    if (!COMPARE_OPS.has(op)) throw this.error(next.at, `unknown operator "${next.text}" (expected eq, ne, co, sw, ew, gt, ge, lt, le or pr)`);
    return { kind: 'compare', path, op: op as CompareOp, value: this.parseValue(), at: token.at };
  }

  private parseValue(): FilterValue {
    const token = this.peek();
    this.index++;
    if (token.type === 'string') return token.value;
    if (token.type === 'word') {
      const lower = token.text.toLowerCase();
      if (lower === 'true') return true;
      if (lower === 'false') return false;
      if (lower === 'null') return null;
      if (NUMBER.test(token.text)) return Number(token.text);
    }
    throw this.error(token.at, `expected a value (a string in double quotes, a number, true, false or null), found ${this.describe(token)}`);
  }

  private expect(type: ')' | ']'): void {
    const token = this.peek();
    if (token.type !== type) throw this.error(token.at, `expected "${type}", found ${this.describe(token)}`);
    this.index++;
  }

  private isKeyword(keyword: string): boolean {
    const token = this.peek();
    return token.type === 'word' && token.text.toLowerCase() === keyword;
  }

  private peek(): Token {
    return this.tokens[this.index] ?? { type: 'end', at: this.text.length };
  }

  private tokenize(): Token[] {
    const tokens: Token[] = [];
    const text = this.text;
    let i = 0;
    while (i < text.length) {
      const ch = text[i]!;
      if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
        i++;
      } else if (ch === '(' || ch === ')' || ch === '[' || ch === ']') {
        tokens.push({ type: ch, at: i });
        i++;
      } else if (ch === '"') {
        const start = i;
        i++;
        while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
        if (i >= text.length) throw this.error(start, 'unterminated string');
        i++;
        let value: unknown;
        try {
          value = JSON.parse(text.slice(start, i));
        } catch {
          throw this.error(start, 'invalid string (JSON escapes only: \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)');
        }
        tokens.push({ type: 'string', value: value as string, at: start });
      } else {
        const start = i;
        while (i < text.length && !' \t\n\r()[]"'.includes(text[i]!)) i++;
        tokens.push({ type: 'word', text: text.slice(start, i), at: start });
      }
      // Parsed and evaluated by recursion: a chain of thousands of "or" or of nested "(" would end
      // in a stack overflow, answered 500, instead of a 400 that says why.
      if (tokens.length > MAX_TOKENS) throw this.error(tokens.at(-1)!.at, `more than ${MAX_TOKENS} tokens (terms, operators, parentheses, values): split the ${this.what}`);
    }
    tokens.push({ type: 'end', at: text.length });
    return tokens;
  }

  private describe(token: Token): string {
    switch (token.type) {
      case 'end':
        return 'the end';
      case 'word':
        return `"${token.text}"`;
      case 'string':
        return `string ${JSON.stringify(token.value)}`;
      default:
        return `"${token.type}"`;
    }
  }

  private error(at: number, problem: string): ScimError {
    return new ScimError(400, `invalid ${this.what} at position ${at + 1}: ${problem}`, this.scimType);
  }
}

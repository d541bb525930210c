/**
 * Parse an expression into its syntax tree. Grammar, loosest first:
 *
 *   or       := and (("or" | "||") and)*
 *   and      := not (("and" | "&&") not)*
 *   not      := ("not" | "!") not | compare
 *   compare  := concat (("==" | "=" | "!=" | "<>" | "<" | "<=" | ">" | ">=") concat)?
 *   concat   := postfix ("&" postfix)*
 *   postfix  := primary ("[" or "]")*
 *   primary  := text | number | true | false | null | /regex/flags | name | [bracketed name]
 *             | name "(" (or ("," or)*)? ")" | "(" or ")"
 *
 * Keywords and function names ignore case; attribute names keep it.
 */
import { tokenize, type Token } from './lexer.js';
import { ExpressionError, type BinaryOperator, type Node } from './syntax.js';

const COMPARE: Record<string, BinaryOperator> = { '==': '==', '=': '==', '!=': '!=', '<>': '!=', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };
const KEYWORDS = new Set(['and', 'or', 'not', 'true', 'false', 'null']);

/** `start`: index in `text` where the expression begins (1 after a leading "="). */
export function parseExpression(text: string, start = 0): Node {
  const tokens = tokenize(text, start);
  let pos = 0;
  const peek = (): Token => tokens[pos]!;
  const fail = (message: string, at: number): never => {
    throw new ExpressionError(message, at, text);
  };
  const describe = (t: Token): string => {
    switch (t.kind) {
      case 'end':
        return 'the end';
      case 'string':
        return `text "${t.value}"`;
      case 'number':
        return `number ${t.value}`;
      case 'regex':
        return 'a regular expression';
      case 'bracketed':
        return `[${t.value}]`;
      default:
        return `"${t.value}"`;
    }
  };
  const isPunct = (t: Token, value: string) => t.kind === 'punct' && t.value === value;
  const isWord = (t: Token, word: string) => t.kind === 'name' && t.value.toLowerCase() === word;
  const expect = (value: string, what: string): Token => {
    const t = peek();
    if (!isPunct(t, value)) fail(`expected ${what}, found ${describe(t)}`, t.at);
    pos++;
    return t;
  };

  /** A left-associative level: operands of the next tighter level joined by this operator. */
  function level(op: 'or' | 'and' | '&', word: string | null, symbol: string, next: () => Node): Node {
    let left = next();
    for (;;) {
      const t = peek();
      if (!(word !== null && isWord(t, word)) && !isPunct(t, symbol)) return left;
      pos++;
      left = { kind: 'binary', op, left, right: next(), at: t.at };
    }
  }

  function or(): Node {
    return level('or', 'or', '||', and);
  }

  function and(): Node {
    return level('and', 'and', '&&', not);
  }

  function not(): Node {
    const t = peek();
    // `Not(x)` is this operator applied to a parenthesised operand: there is no function Not.
    if (isWord(t, 'not') || isPunct(t, '!')) {
      pos++;
      return { kind: 'not', operand: not(), at: t.at };
    }
    return compare();
  }

  function compare(): Node {
    const left = concat();
    const t = peek();
    const op = t.kind === 'punct' ? COMPARE[t.value] : undefined;
    if (!op) return left;
    pos++;
    const node: Node = { kind: 'binary', op, left, right: concat(), at: t.at };
    const next = peek();
    if (next.kind === 'punct' && COMPARE[next.value]) fail('comparisons do not chain: join two with "and"', next.at);
    return node;
  }

  function concat(): Node {
    return level('&', null, '&', postfix);
  }

  function postfix(): Node {
    let node = primary();
    while (isPunct(peek(), '[')) {
      const t = peek();
      pos++;
      const index = or();
      expect(']', '"]" to close the index');
      node = { kind: 'index', target: node, index, at: t.at };
    }
    return node;
  }

  function primary(): Node {
    const t = peek();
    pos++;
    switch (t.kind) {
      case 'string':
      case 'number':
        return { kind: 'literal', value: t.value, at: t.at };
      case 'regex':
        return { kind: 'regex', pattern: t.pattern, flags: t.flags, at: t.at };
      case 'bracketed':
        return { kind: 'attribute', name: t.value, at: t.at };
      case 'name': {
        if (isPunct(peek(), '(')) {
          pos++;
          const args: Node[] = [];
          if (!isPunct(peek(), ')')) {
            for (;;) {
              args.push(or());
              if (isPunct(peek(), ',')) {
                pos++;
                continue;
              }
              break;
            }
          }
          expect(')', `"," or ")" in the arguments of ${t.value}`);
          return { kind: 'call', name: t.value, args, at: t.at };
        }
        const word = t.value.toLowerCase();
        if (word === 'true' || word === 'false') return { kind: 'literal', value: word === 'true', at: t.at };
        if (word === 'null') return { kind: 'literal', value: null, at: t.at };
        if (KEYWORDS.has(word)) return fail(`"${t.value}" needs a value before it`, t.at);
        return { kind: 'attribute', name: t.value, at: t.at };
      }
      case 'punct':
        if (t.value === '(') {
          const inner = or();
          expect(')', '")"');
          return inner;
        }
        return fail(`expected a value, found ${describe(t)}`, t.at);
      case 'end':
        return fail('expected a value, found the end', t.at);
    }
  }

  const tree = or();
  const rest = peek();
  if (rest.kind !== 'end') fail(`unexpected ${describe(rest)} after a complete expression`, rest.at);
  return tree;
}

/**
 * The syntax tree of an expression. Every node keeps `at`: the 1-based column in the configured
 * text where it starts, so a type error points where the parse did.
 */

export type BinaryOperator = '&' | '==' | '!=' | '<' | '<=' | '>' | '>=' | 'and' | 'or';

export type Node =
  | { kind: 'literal'; value: string | number | boolean | null; at: number }
  | { kind: 'regex'; pattern: string; flags: string; at: number }
  | { kind: 'attribute'; name: string; at: number }
  | { kind: 'call'; name: string; args: Node[]; at: number }
  | { kind: 'index'; target: Node; index: Node; at: number }
  | { kind: 'not'; operand: Node; at: number }
  | { kind: 'binary'; op: BinaryOperator; left: Node; right: Node; at: number };

/** A problem in an expression, at a column of the configured text (1-based). */
export class ExpressionError extends Error {
  constructor(
    readonly detail: string,
    readonly column: number,
    /** The configured text, to quote the place. */
    readonly text: string,
  ) {
    super(`column ${column}${excerpt(text, column)}: ${detail}`);
    this.name = 'ExpressionError';
  }
}

/** ` (at "Lef(givenName, …")`: the text from the column on, so the place is found without counting. */
function excerpt(text: string, column: number): string {
  const rest = text.slice(column - 1);
  if (rest === '') return ' (at the end)';
  return ` (at "${rest.length > 24 ? `${rest.slice(0, 24)}…` : rest}")`;
}

/**
 * A configured value: a template (`{givenName} {familyName | upper}`, the shorthand) or, when the
 * text starts with "=", an expression (`=Coalesce(nickName, givenName)`). Both compile once into
 * the same shape, evaluated per person. A value that starts with "=" is always an expression: the
 * literal text "=x" is written `="=x"`.
 *
 * Contract: the result is null when the value is absent (an empty text is absent too), so an
 * unmapped attribute stays unset rather than becoming "". Text, from a template or an expression,
 * is a mapped text (mapped-text.ts): trimmed, and absent when only white space.
 */
import type { SourceValue } from '../model/canonical.js';
import { compileExpression, type CompiledExpression, type ExpressionOptions, type ValueType } from './expression/index.js';
import { firstOf, listOf, numberText } from './expression/values.js';
import { compileTemplate } from './template.js';
import { distinct } from './distinct.js';
import { mappedText } from './mapped-text.js';
import { describeUnreadable } from './describe-unreadable.js';

export type Scalar = string | number | boolean;
type Attributes = Readonly<Record<string, SourceValue>>;

export interface CompiledValue {
  readonly source: string;
  /** Attributes it reads: a default rule is only active when the source provides one of them. */
  readonly attributes: readonly string[];
  /** What it gives: text (templates always), a number, a condition; a list only where `values` maps one whole. */
  readonly type: Exclude<ValueType, 'values' | 'null' | 'regex'>;
  evaluate(attributes: Attributes): Scalar | null;
  /**
   * One text per value, empty ones and repeats left out, in source order: for a multi-valued SCIM
   * attribute mapped whole. An expression giving a list gives its values; otherwise the value must
   * read exactly one attribute (without an index) and is evaluated once per value of it.
   */
  evaluateEach(attributes: Attributes): string[];
  /** For `=SelectUniqueValue(a, b, ...)`: the candidates for a person, in order, without repeats. */
  readonly candidates?: (attributes: Attributes) => string[];
  /**
   * For an expression that may meet a value it cannot read (a date function, a comparison of
   * numbers; absent for the rest): the present values it could not read for this person ("start
   * \"2024-02-01\" as a date in d.M.yyyy"), or undefined. Evaluates again, noting: asked only of
   * expressions that have it, after the plain evaluation.
   */
  readonly unreadable?: (attributes: Attributes) => string | undefined;
}

export type ValueOptions = ExpressionOptions & {
  /** Source attributes whose values a message must not quote (they feed one of `audit.redactAttributes`). */
  readonly masked?: ReadonlySet<string>;
};

function isExpression(text: string): boolean {
  return text.startsWith('=');
}

export function compileValue(text: string, options: ValueOptions = {}): CompiledValue {
  if (!isExpression(text)) return compileTemplate(text);
  return fromExpression(compileExpression(text, 1, options), options.masked ?? NOTHING_MASKED);
}

const NOTHING_MASKED: ReadonlySet<string> = new Set();

function fromExpression(expression: CompiledExpression, masked: ReadonlySet<string>): CompiledValue {
  const e = expression.evaluate;
  const source = expression.source;
  const attributes = expression.attributes;
  const unreadable = expression.mayNote
    ? (a: Attributes): string | undefined => {
        const noted = expression.evaluateNoting(a).unreadable;
        return noted.length === 0 ? undefined : describeUnreadable(noted, a, attributes, masked);
      }
    : undefined;
  switch (expression.type) {
    case 'list':
      return {
        source,
        attributes,
        type: 'list',
        // Refused for single values when the mapping compiles (user-mapping.ts); never called.
        evaluate: () => {
          throw new Error(`"${source}" gives a list: map it whole with "values", or Join it`);
        },
        evaluateEach: (a) => distinctTexts(e(a) as readonly string[]),
      };
    case 'number':
    case 'bool':
      return {
        source,
        attributes,
        type: expression.type,
        evaluate: (a) => e(a) as number | boolean | null,
        ...(unreadable ? { unreadable } : {}),
        evaluateEach: (a) => {
          const v = e(a) as number | boolean | null;
          return v === null ? [] : [typeof v === 'number' ? numberText(v) : String(v)];
        },
      };
    default: {
      const text = expression.type === 'values' ? (a: Attributes) => mappedText(firstOf(e(a) as SourceValue)) : (a: Attributes) => mappedText(e(a) as string | null);
      const value: CompiledValue = {
        source,
        attributes,
        type: 'text',
        evaluate: text,
        evaluateEach: (a) => {
          if (expression.type === 'values') return distinctTexts(listOf(e(a) as SourceValue));
          if (attributes.length !== 1) throw new Error(`"${source}" must read exactly one attribute to give one value per source value, or give a list (Split)`);
          const name = attributes[0]!;
          const out: string[] = [];
          for (const one of listOf(a[name])) {
            const v = text({ ...a, [name]: one });
            if (v) out.push(v);
          }
          return distinct(out);
        },
        ...(expression.candidates ? { candidates: expression.candidates } : {}),
        ...(unreadable ? { unreadable } : {}),
      };
      return value;
    }
  }
}

function distinctTexts(values: readonly string[]): string[] {
  return distinct(values.map(mappedText).filter((v): v is string => v !== null));
}

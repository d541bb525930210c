/**
 * What expressions compute with. At run time a value is a plain JS value, never wrapped: text is a
 * string (or null when absent), a list is an array of strings, a number a number (null when it
 * could not be computed, e.g. DateDiff of a missing date), a condition a boolean. An attribute
 * reference yields the source value as it is (`values`: one string, several, or null) and is read as
 * text (its first value) or as a list where a function wants one.
 */
import type { SourceValue } from '../../model/canonical.js';

/** Static types, decided when the expression is compiled. */
export type ValueType = 'text' | 'list' | 'values' | 'number' | 'bool' | 'null' | 'regex';

export type Value = string | readonly string[] | number | boolean | RegExp | null;
export type Attributes = Readonly<Record<string, SourceValue>>;
export type Evaluator<T = Value> = (attributes: Attributes) => T;

/**
 * A present value an expression could not read as what it needed ("31.12.2027" as an ISO date,
 * "five" as a number). Such a value gives null as an absent one does; a scope condition asks for
 * these (evaluateNoting) so that it can tell "no end date" from "an end date nobody can read".
 */
export interface Unreadable {
  readonly value: string;
  /** What it was read as: "an ISO date", "a number". */
  readonly as: string;
}

/** Records an Unreadable while a caller asks for them; does nothing otherwise. */
export type NoteUnreadable = (value: string, as: string) => void;

/** How a type is named in messages. */
export const TYPE_NAMES: Record<ValueType, string> = {
  text: 'text',
  list: 'a list',
  values: 'an attribute',
  number: 'a number',
  bool: 'a condition (true or false)',
  null: 'null',
  regex: 'a regular expression',
};

/** The first value of an attribute, or the text itself. */
export function firstOf(v: SourceValue | undefined): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  return v[0] ?? null;
}

const NONE: readonly string[] = Object.freeze([]);

export function listOf(v: SourceValue | undefined): readonly string[] {
  if (v === null || v === undefined || v === '') return NONE;
  return typeof v === 'string' ? [v] : v;
}

/** Empty: null, "", an empty list, or a list of empty texts. */
export function isEmpty(v: Value | undefined): boolean {
  if (v === null || v === undefined || v === '') return true;
  if (Array.isArray(v)) return !v.some((x) => x !== '');
  return false;
}

/** A number as text the way people write it (no exponent for the ones a mapping meets). */
export function numberText(n: number): string {
  return Number.isInteger(n) ? n.toFixed(0) : String(n);
}

/**
 * A bounded memo of a pure function of a text. A directory repeats its dates (start dates, end
 * dates, one Now()), so reading and writing them is done once per distinct text, not per person.
 */
export function memoize<T>(fn: (text: string) => T, limit = 20_000): (text: string) => T {
  const known = new Map<string, T>();
  return (text) => {
    const hit = known.get(text);
    if (hit !== undefined || known.has(text)) return hit as T;
    const value = fn(text);
    if (known.size >= limit) known.clear();
    known.set(text, value);
    return value;
  };
}

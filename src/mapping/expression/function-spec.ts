/**
 * How a function of the expression language is declared: its parameters (what each must be, which
 * must be known when the config loads), its result type, and how it builds its evaluator from its
 * arguments' evaluators. Arguments arrive converted to what each parameter asks for, so a builder
 * never checks types at run time.
 */
import type { Evaluator, NoteUnreadable, Value, ValueType } from './values.js';

/**
 * text: string | null; list: string[]; number: number | null; bool: boolean;
 * pattern: text, or a regular expression literal (the builder looks at `type`);
 * any: as the argument is (its `type` says what), for functions whose result follows their arguments.
 */
export type ParamKind = 'text' | 'list' | 'number' | 'bool' | 'pattern' | 'any';

export interface Param {
  readonly name: string;
  readonly kind: ParamKind;
  readonly optional?: boolean;
  /** Must be a literal (a format, an interval, a table name): checked once, when the config loads. */
  readonly constant?: boolean;
}

/** An argument, compiled and converted to its parameter's kind. */
export interface Arg {
  readonly type: ValueType;
  readonly eval: Evaluator;
  /** Its value, when it is known at load (a literal, or built from literals only). */
  readonly constant: boolean;
  readonly value?: Value;
  /** Its column in the configured text. */
  readonly at: number;
}

export interface BuildContext {
  /** Throw an ExpressionError at a column. */
  fail(message: string, at: number): never;
  /** An argument converted to another type (for results that follow several arguments). */
  as(arg: Arg, type: ValueType): Evaluator;
  /** Tables for Lookup, by name. */
  readonly lookups: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** The plan's time, for Now(). */
  readonly now: Date;
  /** Where the call is. */
  readonly at: number;
  /** Called per person when a present value does not read as what the function needs. */
  readonly unreadable: NoteUnreadable;
  /** How many such values this evaluation has noted so far (always 0 outside evaluateNoting). */
  notedCount(): number;
  /** Forgets what was noted between two counts: parts whose results were passed over (Coalesce). */
  forgetNoted(from: number, to: number): void;
}

export interface FunctionSpec {
  /** As written in the docs; calls ignore case. */
  readonly name: string;
  readonly params: readonly Param[];
  /** A parameter that repeats after the fixed ones, at least `min` times. */
  readonly rest?: Param & { readonly min: number };
  /** Extra checks of the argument list (Switch's key/value pairs). */
  checkArgs?(args: readonly Arg[], context: BuildContext): void;
  returns(args: readonly Arg[], context: BuildContext): ValueType;
  build(args: readonly Arg[], context: BuildContext): Evaluator;
  /** Its result may differ between two calls with the same arguments: never folded into a constant. */
  readonly volatile?: boolean;
  /** Its evaluator may note a present value it cannot read (BuildContext.unreadable). */
  readonly notesUnreadable?: boolean;
}

export function defineFunctions(...specs: FunctionSpec[]): FunctionSpec[] {
  return specs;
}

/**
 * Conditions and choices: what scope conditions are made of, and the functions that pick one value
 * among several (Coalesce, IIF, Switch, Lookup). Text comparisons ignore case, as `==` does; a
 * multi-valued attribute passes a test when any of its values does.
 */
import { unify } from './convert.js';
import { defineFunctions, type Arg, type BuildContext, type FunctionSpec } from './function-spec.js';
import { isEmpty, listOf, type Evaluator, type Value } from './values.js';
import type { SourceValue } from '../../model/canonical.js';

type Bool = Evaluator<boolean>;
type Text = Evaluator<string | null>;

const bools = (args: readonly Arg[]): Bool[] => args.map((a) => a.eval as Bool);

/** Every value of an `any` argument, as a list of text (an attribute's values, a text, a number's digits). */
function valuesOf(arg: Arg, context: BuildContext): Evaluator<readonly string[]> {
  if (arg.type === 'values' || arg.type === 'list') {
    const e = arg.eval as Evaluator<SourceValue | readonly string[]>;
    return (a) => listOf(e(a) as SourceValue);
  }
  const t = context.as(arg, 'text') as Text;
  return (a) => listOf(t(a));
}

/**
 * A test of each value against a text, lower-cased on both sides; the text lower-cased once when
 * constant. A missing text (null, or empty, which counts as null) is false: every value "contains"
 * "", so `Contains("Sales,Engineering", department)` would admit everyone without a department.
 */
function anyValue(args: readonly Arg[], context: BuildContext, test: (value: string, against: string) => boolean): Bool {
  const [subject, other] = args as [Arg, Arg];
  const values = valuesOf(subject, context);
  const against = other.eval as Text;
  const fixed = other.constant ? ((other.value as string | null) ?? '').toLowerCase() : null;
  if (fixed === '') return () => false;
  const part = (a: Parameters<Bool>[0]): string | null => {
    if (fixed !== null) return fixed;
    const x = against(a);
    return x === null || x === '' ? null : x.toLowerCase();
  };
  if (subject.type === 'values') {
    // An attribute as it is, without a list made of a single value: this runs for every person.
    const e = subject.eval as Evaluator<SourceValue>;
    return (a) => {
      const v = e(a);
      if (v === null || v === '') return false;
      const x = part(a);
      if (x === null) return false;
      if (typeof v === 'string') return test(v.toLowerCase(), x);
      for (const one of v) if (test(one.toLowerCase(), x)) return true;
      return false;
    };
  }
  return (a) => {
    const x = part(a);
    if (x === null) return false;
    for (const v of values(a)) if (test(v.toLowerCase(), x)) return true;
    return false;
  };
}

const SUBJECT = { name: 'value', kind: 'any' } as const;

/** And, Or: two or more conditions combined. */
function conditions(name: string, combine: (es: readonly Bool[], a: Parameters<Bool>[0]) => boolean): FunctionSpec {
  return {
    name,
    params: [],
    rest: { name: 'condition', kind: 'bool', min: 2 },
    returns: () => 'bool',
    build: (args) => {
      const es = bools(args);
      return (a) => combine(es, a);
    },
  };
}

export const LOGIC_FUNCTIONS = defineFunctions(
  {
    name: 'IsPresent',
    params: [{ name: 'value', kind: 'any' }],
    returns: () => 'bool',
    build: ([v]) => {
      const e = v!.eval;
      return (a) => !isEmpty(e(a) as Value);
    },
  },
  {
    name: 'IsNullOrEmpty',
    params: [{ name: 'value', kind: 'any' }],
    returns: () => 'bool',
    build: ([v]) => {
      const e = v!.eval;
      return (a) => isEmpty(e(a) as Value);
    },
  },
  conditions('And', (es, a) => es.every((e) => e(a))),
  conditions('Or', (es, a) => es.some((e) => e(a))),
  {
    name: 'IIF',
    params: [{ name: 'condition', kind: 'bool' }, { name: 'whenTrue', kind: 'any' }, { name: 'whenFalse', kind: 'any' }],
    returns: (args, context) => unify(args.slice(1), context.fail, "IIF's two results"),
    build: (args, context) => {
      const type = unify(args.slice(1), context.fail, "IIF's two results");
      const c = args[0]!.eval as Bool;
      const t = context.as(args[1]!, type);
      const f = context.as(args[2]!, type);
      return (a) => (c(a) ? t(a) : f(a));
    },
  },
  {
    name: 'Coalesce',
    params: [],
    rest: { name: 'value', kind: 'any', min: 1 },
    returns: (args, context) => unify(args, context.fail, "Coalesce's values"),
    // The first value that is there (not null, not empty).
    build: (args, context) => {
      const type = unify(args, context.fail, "Coalesce's values");
      const es = args.map((arg) => context.as(arg, type));
      return (a) => {
        const start = context.notedCount();
        for (const e of es) {
          const before = context.notedCount();
          const v = e(a);
          if (!isEmpty(v)) {
            // What the values passed over could not read did not make this one (two date formats).
            context.forgetNoted(start, before);
            return v;
          }
        }
        return null;
      };
    },
  },
  {
    name: 'Switch',
    params: [{ name: 'value', kind: 'text' }, { name: 'default', kind: 'any' }],
    // At least one pair; checkArgs says when a key lacks its result.
    rest: { name: 'key, result', kind: 'any', min: 1 },
    checkArgs: (args, context) => {
      if ((args.length - 2) % 2 !== 0) context.fail('Switch takes its keys and results in pairs: this key has no result', args[args.length - 1]!.at);
      for (let i = 2; i < args.length; i += 2) {
        const key = args[i]!;
        if (key.type !== 'text' && key.type !== 'number' && key.type !== 'values') context.fail("Switch's keys are text", key.at);
      }
    },
    returns: (args, context) => unify([args[1]!, ...args.filter((_, i) => i > 2 && i % 2 === 1)], context.fail, "Switch's results"),
    // The result of the first key equal to the value (ignoring case), else the default.
    build: (args, context) => {
      const results = [args[1]!, ...args.filter((_, i) => i > 2 && i % 2 === 1)];
      const type = unify(results, context.fail, "Switch's results");
      const subject = args[0]!.eval as Text;
      const fallback = context.as(args[1]!, type);
      const pairs: { key: Text; result: Evaluator; fixed: string | null }[] = [];
      for (let i = 2; i < args.length; i += 2) {
        const key = args[i]!;
        const k = context.as(key, 'text') as Text;
        pairs.push({ key: k, result: context.as(args[i + 1]!, type), fixed: key.constant ? (k({}) ?? '').toLowerCase() : null });
      }
      // All keys literal: one map lookup per person instead of a scan.
      if (pairs.every((p) => p.fixed !== null)) {
        const table = new Map<string, Evaluator>();
        for (const p of pairs) if (!table.has(p.fixed!)) table.set(p.fixed!, p.result);
        return (a) => {
          const v = subject(a);
          const hit = v === null ? undefined : table.get(v.toLowerCase());
          return hit ? hit(a) : fallback(a);
        };
      }
      return (a) => {
        const v = subject(a)?.toLowerCase();
        // An empty value matches no key, not a key that is missing for this person.
        if (v !== undefined && v !== '') for (const p of pairs) if ((p.fixed ?? (p.key(a) ?? '').toLowerCase()) === v) return p.result(a);
        return fallback(a);
      };
    },
  },
  {
    name: 'Lookup',
    params: [{ name: 'key', kind: 'text' }, { name: 'table', kind: 'text', constant: true }, { name: 'default', kind: 'text', optional: true }],
    returns: () => 'text',
    // The key's row in a table of the config's `lookups` (keys ignore case), else the default (or null).
    build: ([key, name, fallback], context) => {
      const tableName = String(name!.value ?? '');
      const table = context.lookups.get(tableName);
      if (!table) {
        const known = [...context.lookups.keys()];
        context.fail(`no lookup table "${tableName}" (${known.length > 0 ? `the config's lookups: ${known.join(', ')}` : 'the config has no lookups'})`, name!.at);
      }
      const k = key!.eval as Text;
      const otherwise = fallback ? (fallback.eval as Text) : () => null;
      return (a) => {
        const v = k(a);
        const hit = v === null ? undefined : table!.get(v.toLowerCase());
        return hit ?? otherwise(a);
      };
    },
  },
  {
    name: 'In',
    params: [SUBJECT],
    rest: { name: 'candidate', kind: 'text', min: 1 },
    returns: () => 'bool',
    // True when the value (any of an attribute's values) equals one of the candidates, ignoring case.
    build: (args, context) => {
      const values = valuesOf(args[0]!, context);
      const rest = args.slice(1);
      if (rest.every((r) => r.constant)) {
        const set = new Set(rest.map((r) => ((r.value as string | null) ?? '').toLowerCase()));
        if (args[0]!.type === 'values') {
          // An attribute as it is, without a list made of a single value: this runs for every person.
          const e = args[0]!.eval as Evaluator<SourceValue>;
          return (a) => {
            const v = e(a);
            if (v === null || v === '') return false;
            if (typeof v === 'string') return set.has(v.toLowerCase());
            return v.some((x) => set.has(x.toLowerCase()));
          };
        }
        return (a) => values(a).some((v) => set.has(v.toLowerCase()));
      }
      const es = rest.map((r) => r.eval as Text);
      return (a) => {
        // A candidate missing for this person is no candidate (never one that equals "").
        const set = new Set(es.flatMap((e) => {
          const c = e(a);
          return c === null || c === '' ? [] : [c.toLowerCase()];
        }));
        return values(a).some((v) => set.has(v.toLowerCase()));
      };
    },
  },
  {
    name: 'StartsWith',
    params: [SUBJECT, { name: 'prefix', kind: 'text' }],
    returns: () => 'bool',
    build: (args, context) => anyValue(args, context, (v, x) => v.startsWith(x)),
  },
  {
    name: 'EndsWith',
    params: [SUBJECT, { name: 'suffix', kind: 'text' }],
    returns: () => 'bool',
    build: (args, context) => anyValue(args, context, (v, x) => v.endsWith(x)),
  },
  {
    name: 'Contains',
    params: [SUBJECT, { name: 'part', kind: 'text' }],
    returns: () => 'bool',
    build: (args, context) => anyValue(args, context, (v, x) => v.includes(x)),
  },
  {
    name: 'Matches',
    params: [SUBJECT, { name: 'pattern', kind: 'pattern' }],
    returns: () => 'bool',
    // A regular expression literal keeps its flags (add i to ignore case); a text pattern ignores case, like the scope clause `matches`.
    build: ([subject, pattern], context) => {
      const values = valuesOf(subject!, context);
      if (pattern!.type === 'regex') {
        const re = pattern!.value as RegExp;
        return (a) => values(a).some((v) => re.test(v));
      }
      if (!pattern!.constant) context.fail("Matches's pattern must be a literal: /regex/ or text", pattern!.at);
      let re: RegExp;
      try {
        re = new RegExp(String(pattern!.value ?? ''), 'i');
      } catch (error) {
        return context.fail(`not a valid regular expression: ${(error as Error).message}`, pattern!.at);
      }
      return (a) => values(a).some((v) => re.test(v));
    },
  },
  {
    name: 'Join',
    params: [{ name: 'separator', kind: 'text' }],
    rest: { name: 'value', kind: 'list', min: 1 },
    returns: () => 'text',
    // Every non-empty value of every argument (an attribute gives all of its values), in order.
    build: (args) => {
      const sep = args[0]!.eval as Text;
      const lists = args.slice(1).map((arg) => arg.eval as Evaluator<readonly string[]>);
      return (a) => {
        let out: string | null = null;
        let separator: string | null = null;
        for (const list of lists) {
          for (const v of list(a)) {
            if (v === '') continue;
            if (out === null) out = v;
            else out += (separator ??= sep(a) ?? '') + v;
          }
        }
        return out;
      };
    },
  },
  {
    name: 'Split',
    params: [{ name: 'text', kind: 'text' }, { name: 'separator', kind: 'pattern' }],
    returns: () => 'list',
    // The parts between separators, empty parts left out; a regular expression splits where it matches.
    build: ([v, separator]) => {
      const e = v!.eval as Text;
      const by = separator!.type === 'regex' ? () => separator!.value as RegExp : (separator!.eval as Text);
      return (a) => {
        const s = e(a);
        const at = by(a);
        if (s === null || s === '') return [];
        return (at === null || at === '' ? [s] : s.split(at)).filter((p) => p !== '');
      };
    },
  },
  {
    name: 'SelectUniqueValue',
    params: [],
    rest: { name: 'candidate', kind: 'text', min: 1 },
    returns: () => 'text',
    // Evaluated alone it gives the first candidate; the planner picks the first one the target does not hold (unique-values.ts).
    build: (args) => {
      const es = args.map((arg) => arg.eval as Text);
      return (a) => {
        for (const e of es) {
          const v = e(a);
          if (v) return v;
        }
        return null;
      };
    },
  },
);

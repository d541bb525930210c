/**
 * Lists of a person's values without repeats, and whether two lists share a value. Most people have
 * one to three values for an attribute, which a scan settles faster than building a set; a source
 * can hand one person thousands (memberOf, a list column), where scanning for every value is
 * quadratic. Pure.
 */

/** Up to this many values, a scan. */
const SCAN_UP_TO = 16;

/** The values in their order, each once. */
export function distinct(values: readonly string[]): string[] {
  if (values.length > SCAN_UP_TO) return [...new Set(values)];
  const out: string[] = [];
  for (const v of values) if (!out.includes(v)) out.push(v);
  return out;
}

/** Whether a value of `xs` is one of `ys`. */
export function sharesValue<T>(xs: readonly T[], ys: readonly T[]): boolean {
  if (xs.length === 0 || ys.length === 0) return false;
  if (xs.length * ys.length <= SCAN_UP_TO * SCAN_UP_TO) return xs.some((x) => ys.includes(x));
  const set = new Set(ys);
  return xs.some((x) => set.has(x));
}

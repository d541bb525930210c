/**
 * Repeated warnings, summarised for people: 521 lines of "manager ... is not provisioned" hide the
 * one line that matters. Lines that share a shape (their wording once names, keys, numbers and
 * quoted values are masked) are shown as the first few and a count; `--json` and plan files keep
 * every line.
 */
import { clip } from '../model/printable.js';

/** Lines of one shape shown before the rest are counted. */
const FIRST = 3;

/**
 * The wording of a line without its particulars. The tail carries the wording in every warning we
 * write ("...: manager left empty", "...; left alone"), the head the names, so the tail decides.
 */
export function shapeOf(line: string): string {
  const masked = maskQuoted(line)
    .replace(/\([^()]*\)/g, '(…)')
    .split(/\s+/)
    .map((word) => (/\d|@/.test(word) ? '#' : word));
  return masked.slice(-5).join(' ');
}

const LINE_END = /[\n\r\u2028\u2029]/;

/**
 * Each double-quoted value (backslash escapes inside) as `"…"`: what `/"(?:[^"\\]|\\.)*"/g` gives,
 * in one pass. The expression, on a line a server wrote with many quotes and none closing (its
 * error detail quoted in a warning), tried from every quote to the end: quadratic. A scan that
 * fails skips the quotes it passed: each was escaped in it, and would fail the same way.
 */
function maskQuoted(line: string): string {
  let out = '';
  let from = 0;
  let open = line.indexOf('"');
  while (open !== -1) {
    let i = open + 1;
    while (i < line.length && line[i] !== '"' && !(line[i] === '\\' && (i + 1 >= line.length || LINE_END.test(line[i + 1]!)))) i += line[i] === '\\' ? 2 : 1;
    if (i >= line.length) break;
    if (line[i] !== '"') {
      // A backslash before a line break or the end escapes nothing: no value here; look past it.
      open = line.indexOf('"', i);
      continue;
    }
    out += `${line.slice(from, open)}"…"`;
    from = i + 1;
    open = line.indexOf('"', from);
  }
  return out + line.slice(from);
}

/** `lines`, clipped and prefixed, with every shape past its first few occurrences counted instead. */
export function summarised(lines: readonly string[], prefix: string): string[] {
  const seen = new Map<string, number>();
  for (const l of lines) {
    const shape = shapeOf(l);
    seen.set(shape, (seen.get(shape) ?? 0) + 1);
  }
  const shown = new Map<string, number>();
  const out: string[] = [];
  for (const l of lines) {
    const shape = shapeOf(l);
    const n = (shown.get(shape) ?? 0) + 1;
    shown.set(shape, n);
    const total = seen.get(shape)!;
    if (n <= FIRST || total === FIRST + 1) out.push(`${prefix}${clip(l, 500)}`);
    else if (n === FIRST + 1) out.push(`${prefix}... and ${total - FIRST} more like the above (every one in --json and plan --out)`);
  }
  return out;
}

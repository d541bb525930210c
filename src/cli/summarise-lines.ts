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
  const masked = line
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/\([^()]*\)/g, '(…)')
    .split(/\s+/)
    .map((word) => (/\d|@/.test(word) ? '#' : word));
  return masked.slice(-5).join(' ');
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

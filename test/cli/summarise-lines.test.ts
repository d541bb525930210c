/**
 * Warnings summarised by shape: quoted values are masked as the regular expression
 * /"(?:[^"\\]|\\.)*"/g masks them, in time linear in the line, whatever quotes a server puts in
 * the text a warning quotes.
 */
import { expect, it } from 'vitest';
import { shapeOf, summarised } from '../../src/cli/summarise-lines.js';

/** shapeOf as it was, with the regular expression. */
function byRegex(line: string): string {
  const masked = line
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/\([^()]*\)/g, '(…)')
    .split(/\s+/)
    .map((word) => (/\d|@/.test(word) ? '#' : word));
  return masked.slice(-5).join(' ');
}

it('masks quoted values exactly as the regular expression did, escapes and line breaks included', () => {
  const alphabet = ['"', '\\', 'a', ' ', '\n', '\u2028'];
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let n = 0; n < 20_000; n++) {
    const line = Array.from({ length: next() % 14 }, () => alphabet[next() % alphabet.length]).join('');
    expect(shapeOf(line), JSON.stringify(line)).toBe(byRegex(line));
  }
  expect(shapeOf('user "ann" (id 7): manager "bob \\"b\\"" is not provisioned')).toBe('manager "…" is not provisioned');
});

it('a line of 400,000 quotes that never close is summarised in one pass (the expression took minutes)', () => {
  const hostile = `E1: refused: ${'"\\'.repeat(200_000)}"x`;
  // Nothing closes (every later quote is escaped): nothing is masked, as with the expression.
  expect(shapeOf(hostile)).toBe(`# refused: ${'"\\'.repeat(200_000)}"x`);
  expect(summarised([hostile, hostile, hostile, hostile, hostile], '  ')).toHaveLength(4);
});

/**
 * The stray-quote export of issue #10: a people CSV in the harness's format (header on line 1,
 * person n on line n + 1) where the title on line `open` opens a quote that is never closed on its
 * line, and the first quote of line `close` closes it, so csv-parse reads the lines between as one
 * field. `closeStyle: 'quoted'` (the realistic case) gives line `close` a properly quoted title
 * ("Director, Ops"), whose opening quote ends the stray field and leaves an unparseable record;
 * `'delimiter'` puts the quote right before a delimiter, so the record parses, with a title of
 * close - open + 1 lines.
 */
import { peopleCsv, person, type Person } from './harness.js';

export interface StrayQuoteExport {
  readonly text: string;
  readonly people: readonly Person[];
  /** Keys of the people on lines open..close. */
  readonly swallowed: readonly string[];
}

export function strayQuoteCsv(options: { rows: number; open: number; close: number; closeStyle: 'quoted' | 'delimiter' }): StrayQuoteExport {
  const { rows, open, close } = options;
  const people = Array.from({ length: rows }, (_, i) => person(i + 1, i + 2 === close && options.closeStyle === 'quoted' ? { title: 'Director, Ops' } : {}));
  const lines = peopleCsv(people).split('\n');
  const edit = (line: number, title: string) => {
    const text = lines[line - 1]!;
    if (!text.includes(',Engineer,')) throw new Error(`line ${line} has no plain title to edit`);
    lines[line - 1] = text.replace(',Engineer,', `,${title},`);
  };
  edit(open, '"VP, Sales');
  if (options.closeStyle === 'delimiter') edit(close, 'Director"');
  return { text: lines.join('\n'), people, swallowed: people.slice(open - 2, close - 1).map((p) => p.id) };
}

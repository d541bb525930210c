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

/**
 * Twelve people in the harness's format, E1010 and E1011 the only members of finance (the others
 * in staff), whose lines 9 to 12 (E1008 to E1011) a stray quote swallows. `where`: `key` puts it
 * before E1008's key and closes it after E1011's (`"E1008,...` to `E1011",...`); `title` opens it
 * in E1008's title and closes it with E1011's title written quoted (`"Accountant"`), where
 * csv-parse gives up on the record in the middle of line 12.
 */
export function financeStrayQuote(where: 'key' | 'title'): StrayQuoteExport {
  const people = Array.from({ length: 12 }, (_, i) => person(i + 1, { groups: i === 9 || i === 10 ? ['finance'] : ['staff'] }));
  const lines = peopleCsv(people).split('\n');
  if (where === 'key') {
    lines[8] = `"${lines[8]!}`;
    lines[11] = lines[11]!.replace(/^E1011,/, 'E1011",');
  } else {
    lines[8] = lines[8]!.replace(',Engineer,', ',"Head of People,');
    lines[11] = lines[11]!.replace(',Engineer,', ',"Accountant",');
  }
  return { text: lines.join('\n'), people, swallowed: ['E1008', 'E1009', 'E1010', 'E1011'] };
}

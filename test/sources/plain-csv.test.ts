/**
 * The plain CSV reader against csv-parse itself, with the options csv-source.ts gives it: on plain
 * text both yield the same records with the same line numbers; anything else the plain reader
 * refuses (NotPlain), so csv-parse reads it.
 */
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { NotPlain, PlainCsvParser } from '../../src/sources/csv/plain-csv.js';

type Read = { record: Record<string, string>; line: number }[];

function byCsvParse(text: string, delimiter = ','): Read {
  const items = parse(text, { columns: (h: string[]) => h.map((n) => n.trim()), delimiter, info: true, skip_empty_lines: true, trim: false }) as { record: Record<string, string>; info: { lines: number } }[];
  return items.map((i) => ({ record: i.record, line: i.info.lines }));
}

/** The plain reader fed `text` in chunks of `size` characters (chunk edges fall anywhere). */
function byPlain(text: string, size: number, delimiter = ','): Read {
  const out: Read = [];
  const parser = new PlainCsvParser(delimiter, (h) => h.map((n) => n.trim()), (record, line) => out.push({ record, line }));
  for (let i = 0; i < text.length; i += size) parser.write(text.slice(i, i + size));
  parser.end();
  return out;
}

const plain: [string, string, string?][] = [
  ['simple, with a final line break', 'id,name,mail\nE1,Ann,a@x\nE2,Bob,b@x\n'],
  ['no final line break', 'id,name,mail\nE1,Ann,a@x\nE2,Bob,b@x'],
  ['empty lines anywhere are skipped but counted', '\nid,name,mail\n\nE1,Ann,a@x\n\n\nE2,Bob,b@x\n\n'],
  ['quoted fields, a delimiter and doubled quotes inside, empty quoted, empty unquoted', 'id,name,mail\nE1,"Smith, Ann","say ""hi"""\n"E2","",\n,,""\n'],
  ['spaces kept as written', 'id, name ,mail\nE1,  Ann , a@x \n'],
  ['another delimiter', 'id;name;mail\nE1;"A;nn";a@x\n', ';'],
  ['a header alone', 'id,name\n'],
  ['unicode', 'id,name\nE1,Léa 李\n'],
];

const notPlain: [string, string][] = [
  ['a quoted field over two lines', 'id,name\nE1,"Ann\nSmith"\nE2,Bob\n'],
  ['an unclosed quote', 'id,name\nE1,"Ann\n'],
  ['text after a closing quote', 'id,name\nE1,"Ann"x\n'],
  ['a quote inside an unquoted field', 'id,name\nE1,An"n\n'],
  ['a short record', 'id,name,mail\nE1,Ann\n'],
  ['a long record', 'id,name\nE1,Ann,extra\n'],
  ['a carriage return', 'id,name\r\nE1,Ann\r\n'],
];

describe('plain CSV reads as csv-parse does', () => {
  for (const [what, text, delimiter] of plain) {
    it(what, () => {
      const expected = byCsvParse(text, delimiter);
      for (const size of [1, 2, 3, 7, 1 << 16]) expect(byPlain(text, size, delimiter)).toEqual(expected);
    });
  }
});

describe('what is not plain is refused, never read another way', () => {
  for (const [what, text] of notPlain) {
    it(what, () => {
      for (const size of [1, 5, 1 << 16]) expect(() => byPlain(text, size)).toThrow(NotPlain);
    });
  }
});

describe('a long line costs its length once', () => {
  it('a 64 MiB field in 8 KiB chunks is read whole (searching the text so far at every chunk would take minutes)', () => {
    const field = 'x'.repeat(64 << 20);
    const out: Read = [];
    const parser = new PlainCsvParser(',', (h) => h, (record, line) => out.push({ record, line }));
    parser.write('id,name\nE1,');
    for (let i = 0; i < field.length; i += 8192) parser.write(field.slice(i, i + 8192));
    parser.write('\nE2,Bob');
    parser.end();
    expect(out.map((r) => [r.record['id'], r.record['name']!.length, r.line])).toEqual([
      ['E1', field.length, 2],
      ['E2', 3, 3],
    ]);
  });
});

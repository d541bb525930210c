/**
 * The common case of an HR export read without csv-parse: one record per line, every record as
 * many fields as the header, quotes only around whole fields. That is most files, and csv-parse
 * with the line numbers and record texts we ask of it costs about twice this on them.
 *
 * Anything else (a quoted field spanning lines, a stray or unclosed quote, a record of another
 * length, a carriage return left after decoding) is not judged here: the parser stops with
 * NotPlain and the caller reads the file again with csv-parse, which reports every such record
 * as it always has. So this reader only ever accepts files whose reading is not in question.
 *
 * Contract, as csv-parse gives it with the options csv-source.ts sets (columns from the header,
 * skip_empty_lines, no trimming): records keyed by the names the header callback returns, field
 * texts as written (a quoted field unquoted, "" read as "), each with its line number (1-based,
 * empty lines counted).
 */

import { plainRecordMaker } from '../../model/plain-records.js';

/** The text is not plain CSV as defined above: read it with csv-parse instead. */
export class NotPlain extends Error {
  constructor(line: number, why: string) {
    super(`line ${line}: ${why}`);
  }
}

const QUOTE = 34;

export class PlainCsvParser {
  /** The chunks of the line not yet ended (the text after the last complete line so far). */
  private carry: string[] = [];
  private line = 0;
  private columns: readonly string[] | undefined;
  private readonly newRecord = plainRecordMaker<string>();

  constructor(
    private readonly delimiter: string,
    /** The header's fields -> the column names records are keyed by (may throw: the read fails). */
    private readonly onHeader: (fields: string[]) => string[],
    private readonly onRecord: (record: Record<string, string>, line: number) => void,
  ) {}

  write(chunk: string): void {
    if (chunk.includes('\r')) throw new NotPlain(this.line + 1, 'a carriage return');
    // Only the new chunk is searched for the last line break, and a line's earlier chunks are kept
    // apart until it ends: joining and searching the text so far at every chunk was quadratic in
    // the length of a line (a 16 MiB line without a break took seconds).
    const last = chunk.lastIndexOf('\n');
    if (last === -1) {
      if (chunk !== '') this.carry.push(chunk);
      return;
    }
    const text = this.carry.length === 0 ? chunk : this.carry.join('') + chunk;
    const end = text.length - chunk.length + last;
    this.carry = [];
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1 && nl <= end; nl = text.indexOf('\n', start)) {
      this.take(text.slice(start, nl));
      start = nl + 1;
    }
    if (end + 1 < text.length) this.carry.push(text.slice(end + 1));
  }

  end(): void {
    const rest = this.carry.join('');
    this.carry = [];
    if (rest !== '') this.take(rest);
  }

  private take(line: string): void {
    this.line++;
    if (line === '') return;
    const fields = line.includes('"') ? this.quoted(line) : line.split(this.delimiter);
    if (!this.columns) {
      this.columns = this.onHeader(fields);
      return;
    }
    const columns = this.columns;
    if (fields.length !== columns.length) throw new NotPlain(this.line, `${fields.length} fields, the header has ${columns.length}`);
    const record = this.newRecord();
    for (let i = 0; i < columns.length; i++) record[columns[i]!] = fields[i]!;
    this.onRecord(record, this.line);
  }

  /** A line's fields where some are quoted; NotPlain for a quote anywhere but around a whole field. */
  private quoted(line: string): string[] {
    const d = this.delimiter;
    const fields: string[] = [];
    let pos = 0;
    for (;;) {
      if (line.charCodeAt(pos) === QUOTE) {
        let value = '';
        let from = pos + 1;
        for (;;) {
          const q = line.indexOf('"', from);
          // Unclosed on this line: the field spans lines, or is never closed.
          if (q === -1) throw new NotPlain(this.line, 'a quoted field not closed on its line');
          if (line.charCodeAt(q + 1) === QUOTE) {
            value += line.slice(from, q + 1);
            from = q + 2;
            continue;
          }
          value += line.slice(from, q);
          pos = q + 1;
          break;
        }
        fields.push(value);
        if (pos === line.length) return fields;
        if (!line.startsWith(d, pos)) throw new NotPlain(this.line, 'text after a closing quote');
        pos += d.length;
        continue;
      }
      const next = line.indexOf(d, pos);
      const field = next === -1 ? line.slice(pos) : line.slice(pos, next);
      if (field.includes('"')) throw new NotPlain(this.line, 'a quote inside an unquoted field');
      fields.push(field);
      if (next === -1) return fields;
      pos = next + d.length;
    }
  }
}

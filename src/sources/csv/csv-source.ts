/**
 * HR export as CSV. Streams the file; each bad record becomes a SourceIssue naming file and line and
 * is skipped, and its key (when readable) is held so the planner neither updates nor deprovisions
 * that person on a row it could not trust. A quoted field spanning lines outside multilineColumns
 * is such a record, and the people on the lines it swallowed are held too (see stray-quote.ts). A
 * structurally broken file (an unclosed quote swallows the rest, bytes that do not decode) fails
 * the whole read.
 */
import { foldUserName } from '../../model/user-name.js';
import { nearestName } from '../../config/nearest-name.js';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Info } from 'csv-parse';
import type { CsvSourceConfig } from '../../config/schema/index.js';
import { SourceError } from '../../errors.js';
import type { CanonicalUser, DirectorySnapshot, SourceIssue, SourceValue } from '../../model/canonical.js';
import { type ReadProgress, type SourceDirectory } from '../source-directory.js';
import { sameContent, stampOf } from './file-stamp.js';
import { readMemberships } from './memberships-file.js';
import { fieldsOfLine, keyOfBrokenRow, keyShape, listKeys, readSwallowedLines } from './stray-quote.js';
import { NotPlain, PlainCsvParser } from './plain-csv.js';
import { textDecoder } from './text-stream.js';
import { plainRecordMaker } from '../../model/plain-records.js';

interface CsvErrorInfo extends Error {
  code?: string;
  lines?: number;
  record?: string[];
  /** The record's text up to the error (csv-parse option `raw`). */
  raw?: string;
  column?: string | number;
}

/**
 * The name given to the n-th (from 1) empty column at the header's end. A spreadsheet's used range
 * often runs past the last named column (`id,name,,,`): those columns are no data, but their cells
 * must still be read, to be sure they are empty. A leading space keeps the name apart from every
 * real one (header names are trimmed).
 */
function unnamedColumn(n: number): string {
  return ` (unnamed column ${n})`;
}

function isUnnamed(column: string): boolean {
  return column.startsWith(' (unnamed column ');
}

/**
 * The header's column names (trimmed), the empty ones at its end named by unnamedColumn, or a
 * SourceError saying which configured column it lacks.
 */
function checkHeader(config: CsvSourceConfig, header: readonly string[]): string[] {
  const names = header.map((h) => h.trim());
  let named = names.length;
  while (named > 1 && names[named - 1] === '') named--;
  for (let i = named; i < names.length; i++) names[i] = unnamedColumn(i + 1);
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new SourceError(`${config.path}:1: column "${name}" appears twice in the header`);
    seen.add(name);
  }
  const needed: [string, string][] = [
    ['key', config.key],
    ...Object.entries(config.columns).map(([attr, col]): [string, string] => [`columns.${attr}`, col]),
    ...(config.inactive ? [['inactive.column', config.inactive.column] as [string, string]] : []),
    ...(config.manager ? [['manager', config.manager] as [string, string]] : []),
    ...(config.groups ? [['groups.column', config.groups.column] as [string, string]] : []),
    ...config.multilineColumns.map((col, i): [string, string] => [`multilineColumns[${i}]`, col]),
  ];
  const missing = needed
    .filter(([, col]) => !seen.has(col))
    .map(([opt, col]) => {
      const near = nearestName(col, names);
      return `source.${opt} names column "${col}"${near ? ` (did you mean "${near}"?)` : ''}`;
    });
  if (missing.length > 0) {
    // A UTF-8 byte order mark read as Windows-1252 or Latin-1 is three letters glued to the first name.
    const bom = names[0]?.startsWith('\u00ef\u00bb\u00bf') ? `; the file starts with a UTF-8 byte order mark, read as ${config.encoding}: set source.encoding to auto or utf-8` : '';
    throw new ColumnsMissingError(`${config.path}:1: header lacks configured columns: ${missing.join('; ')}${bom}`);
  }
  return names;
}

/**
 * The header lacks a column the config names: to `validate`, a config that does not fit its file
 * (exit 2); to a run, an export that changed under it (a source error, exit 4).
 */
export class ColumnsMissingError extends SourceError {}

// csv-parse is loaded when a CSV is first read: a process that reads LDAP or Google never loads it.
const csvParse = () => import('csv-parse');
const csvParseSync = () => import('csv-parse/sync');

type ParseSync = Awaited<ReturnType<typeof csvParseSync>>['parse'];

/**
 * The first record of `text` when it is complete, else undefined. A quoted header name may span
 * lines: `to` counts records (`to_line` would count lines, and give nothing for such a header).
 */
function headerOf(parseSync: ParseSync, text: string, delimiter: string): string[] | undefined {
  try {
    return parseSync(text, { delimiter, to: 1 })[0] as string[] | undefined;
  } catch (error) {
    if ((error as { code?: string }).code === 'CSV_QUOTE_NOT_CLOSED') return undefined;
    throw error;
  }
}

/** Attributes whose values may hold line breaks: the multi-line columns and the canonical names given to them. */
export function csvMultilineAttributes(config: CsvSourceConfig): Set<string> {
  const columns = new Set(config.multilineColumns);
  return new Set([...columns, ...Object.entries(config.columns).filter(([, col]) => columns.has(col)).map(([attr]) => attr)]);
}

/** The first field of source.trailer's row, or undefined when the file has none. */
function trailerMarker(config: CsvSourceConfig): string | undefined {
  return config.trailer === true ? '#count' : typeof config.trailer === 'string' ? config.trailer : undefined;
}

/** Records between two progress counts: often enough for a display, rare enough to cost nothing. */
const RECORDS_PER_PROGRESS = 1000;

/** Bytes read from the file at a time by the plain read (see readPlain). */
const READ_CHUNK = 16 * 1024;

/** Longest header line read when checking templates against the columns. */
const MAX_HEADER_CHARS = 1 << 20;

export class CsvSource implements SourceDirectory {
  readonly description: string;
  readonly local = true;

  constructor(private readonly config: CsvSourceConfig) {
    this.description = `csv:${config.path}`;
  }

  private async decoder(): Promise<Transform> {
    const { path } = this.config;
    try {
      await stat(path);
    } catch (error) {
      throw new SourceError(`cannot read CSV ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, {}, { cause: error });
    }
    return textDecoder(path, this.config.encoding);
  }

  /** The header's columns and the canonical names `columns` gives them: what templates may name. */
  async offeredAttributes(): Promise<ReadonlySet<string>> {
    const { path, delimiter } = this.config;
    const decode = await this.decoder();
    const { parse: parseSync } = await csvParseSync();
    const input = createReadStream(path);
    input.on('error', (error) => decode.destroy(error));
    let text = '';
    let header: string[] | undefined;
    let from = 0;
    let scanned = 0;
    let quotes = 0;
    try {
      // Only as far as the header's end: the first line break after which the text so far parses.
      // Bounded: a header with an unclosed quote would otherwise read the whole file. Parsed at the
      // first line break, then only at one outside quotes (an even number of '"' before it): parsing
      // the text so far at each of the many line breaks an unclosed quote swallows was quadratic
      // (20,000 short rows in the first MiB took seconds of CPU).
      for await (const chunk of input.pipe(decode) as AsyncIterable<string>) {
        text += chunk;
        for (let end = text.indexOf('\n', from); end !== -1 && !header; end = text.indexOf('\n', end + 1)) {
          for (; scanned < end; scanned++) if (text.charCodeAt(scanned) === 0x22) quotes++;
          if (from === 0 || quotes % 2 === 0) header = headerOf(parseSync, text.slice(0, end + 1), delimiter);
          from = end + 1;
        }
        if (header) break;
        if (text.length > MAX_HEADER_CHARS) {
          throw new SourceError(`${path}:1: the header line does not end within ${MAX_HEADER_CHARS} characters (an unclosed quote in it?)`);
        }
      }
      if (!header && text !== '') {
        header = headerOf(parseSync, text, delimiter);
        if (!header) throw new SourceError(`${path}:1: the header line does not end before the end of the file (an unclosed quote in it?)`);
      }
    } catch (error) {
      if (error instanceof SourceError) throw error;
      throw new SourceError(`cannot read the header of CSV ${path}: ${(error as Error).message}`, {}, { cause: error });
    } finally {
      input.destroy();
    }
    if (!header) throw new SourceError(`${path}:1: no header line`);
    return new Set([...checkHeader(this.config, header).filter((c) => !isUnnamed(c)), ...Object.keys(this.config.columns)]);
  }

  /**
   * No readOne: one person's read is the whole file, screened, then narrowed (create-source.ts), as a
   * record rejected anywhere in the file makes the read dirty for everyone.
   */
  async read(progress?: ReadProgress): Promise<DirectorySnapshot> {
    const files = [this.config.path, ...(this.config.memberships ? [this.config.memberships.path] : [])];
    const before = await Promise.all(files.map(stampOf));
    const snapshot = await this.readFiles(progress);
    // An export written in place while we read it (truncated, then written page by page): what was
    // read may be neither the old version nor the new, and every person after the cut reads as gone.
    const after = await Promise.all(files.map(stampOf));
    const moved = files.filter((_, i) => !sameContent(before[i]!, after[i]!));
    if (moved.length > 0) {
      throw new SourceError(
        `${moved.join(' and ')} changed while being read (size, modification time or inode moved): an export still being written? ` +
          'Nothing is decided from this read; the next read tries again. Have the exporter write a temporary file and rename it over ' +
          'this one, or end the file with a trailer row (source.trailer)',
      );
    }
    return snapshot;
  }

  private async readFiles(progress?: ReadProgress): Promise<DirectorySnapshot> {
    const plain = new SnapshotBuilder(this.config);
    const snapshot = (await this.readPlain(plain, progress)) ? plain.finish() : await this.readParsed(new SnapshotBuilder(this.config), progress);
    if (!this.config.memberships) return snapshot;
    const memberships = await readMemberships(this.config.memberships, this.config.delimiter, this.config.encoding);
    return {
      ...snapshot,
      groups: [...snapshot.groups, ...memberships.groups],
      issues: [...snapshot.issues, ...memberships.issues],
      heldKeys: [...new Set([...snapshot.heldKeys, ...memberships.heldKeys])],
      recordsRead: snapshot.recordsRead + memberships.recordsRead,
    };
  }

  /** The file read as plain CSV (plain-csv.ts) into `builder`; false when it is not, and must be parsed. */
  private async readPlain(builder: SnapshotBuilder, progress?: ReadProgress): Promise<boolean> {
    const { path } = this.config;
    const decode = await this.decoder();
    let records = 0;
    const parser = new PlainCsvParser(
      this.config.delimiter,
      (header) => builder.setHeader(header),
      (record, line) => {
        builder.accept(record, line, '');
        if (progress && ++records % RECORDS_PER_PROGRESS === 0) progress.records(records);
      },
    );
    // Read in 16 KiB chunks (a few hundred rows, about 2 ms of work each) rather than the default
    // 64 KiB: the targets' listings run beside this read, and their answers wait for the chunk in
    // hand to be done before the next pages are asked for, the server idle meanwhile. With the
    // listing's pages handed on a page per turn (engine/early-listing.ts), a plan of 100,000 people
    // took about 5% less time; the read alone costs the same.
    const input = createReadStream(path, { highWaterMark: READ_CHUNK });
    input.on('error', (error) => decode.destroy(error));
    try {
      for await (const chunk of input.pipe(decode) as AsyncIterable<string>) parser.write(chunk);
      parser.end();
      return true;
    } catch (error) {
      if (error instanceof NotPlain) return false;
      if (error instanceof SourceError) throw error;
      throw new SourceError(`cannot read CSV ${path}: ${(error as Error).message}`, {}, { cause: error });
    } finally {
      input.destroy();
    }
  }

  /** The file through csv-parse, which reports each record it cannot read (with its line and text). */
  private async readParsed(builder: SnapshotBuilder, progress?: ReadProgress): Promise<DirectorySnapshot> {
    const { path } = this.config;
    const decode = await this.decoder();
    const { parse } = await csvParse();
    const parser = parse({
      columns: (header: string[]) => builder.setHeader(header),
      delimiter: this.config.delimiter,
      info: true,
      // The text of each record, to find the people a stray quote swallowed.
      raw: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      trim: false,
    });
    parser.on('skip', (error: CsvErrorInfo) => builder.rejectUnparseable(error));
    const consume = (async () => {
      let records = 0;
      for await (const item of parser as AsyncIterable<{ record: Record<string, string>; info: Info; raw: string }>) {
        builder.accept(item.record, item.info.lines, item.raw);
        if (progress && ++records % RECORDS_PER_PROGRESS === 0) progress.records(records);
      }
    })();
    try {
      await Promise.all([pipeline(createReadStream(path), decode, parser), consume]);
    } catch (error) {
      if (error instanceof SourceError) throw error;
      throw new SourceError(`cannot read CSV ${path}: ${(error as Error).message}`, {}, { cause: error });
    }
    const cut = builder.cutLines();
    if (cut.size > 0) builder.completeLines(await this.linesAt(cut));
    return builder.finish();
  }

  /**
   * Lines `wanted` (from 1) of the file as it reads now, as csv-parse counts them; those it cannot
   * read (a file replaced meanwhile, shorter or undecodable) are left out.
   */
  private async linesAt(wanted: ReadonlySet<number>): Promise<Map<number, string>> {
    const found = new Map<number, string>();
    const last = Math.max(...wanted);
    let input: ReturnType<typeof createReadStream> | undefined;
    let line = 1;
    let carry = '';
    try {
      const decode = await this.decoder();
      input = createReadStream(this.config.path);
      input.on('error', (error) => decode.destroy(error));
      for await (const chunk of input.pipe(decode) as AsyncIterable<string>) {
        let start = 0;
        for (let end = chunk.indexOf('\n'); end !== -1 && line <= last; end = chunk.indexOf('\n', start)) {
          if (wanted.has(line)) found.set(line, carry + chunk.slice(start, end));
          carry = '';
          start = end + 1;
          line++;
        }
        if (line > last) return found;
        if (wanted.has(line)) carry += chunk.slice(start);
      }
      if (wanted.has(line) && carry !== '') found.set(line, carry);
    } catch {
      // What is not found stays cut, and is read as such.
    } finally {
      input?.destroy();
    }
    return found;
  }
}

/**
 * `="0042"`: the formula Excel users put in a CSV so that a spreadsheet keeps a value's leading
 * zeros. Written bare it is no CSV (a quote inside an unquoted field), and csv-parse names only
 * the quote; this says what the field is and what the export should write instead.
 */
function excelFormulaHint(raw: string, delimiter: string): string {
  let last: string | undefined;
  for (const field of fieldsOfLine(raw.slice(raw.lastIndexOf('\n') + 1), delimiter)) last = field;
  if (!last?.trimStart().startsWith('="')) return '';
  return '; ="..." is Excel\'s formula to keep leading zeros, which a CSV cannot hold bare: have the export write the value itself (0042), or quote the whole field ("=""0042""", which is read as 0042)';
}

/** The text inside Excel's `="..."` (see excelFormulaHint) when the whole value is one, else the value. */
function unwrapExcelText(value: string): string {
  const match = /^\s*="([^"]*)"\s*$/.exec(value);
  return match ? match[1]! : value;
}

/** A row of nothing but delimiters (and white space): what a spreadsheet leaves below its data. */
function isBlankRow(fields: Iterable<string>): boolean {
  for (const field of fields) if (field !== '' && field.trim() !== '') return false;
  return true;
}

/** Lines of blank rows named in the read's warning; the rest are counted. */
const BLANK_LINES_SHOWN = 5;

/**
 * A record over several lines that no column may span (a stray quote, most often), by csv-parse's
 * reports of it: who its lines hold is made out once the whole file is read (SnapshotBuilder.finish),
 * against the shape of the keys the valid rows hold.
 */
interface SwallowedRegion {
  readonly first: number;
  last: number;
  raw: string;
  /** The raw text ends where parsing gave up (its last row may be cut short). */
  cut: boolean;
  /** The column csv-parse found spanning lines, when it is one outside multilineColumns. */
  readonly column: string | undefined;
  readonly parseError: string | undefined;
  /** The key csv-parse read for the record, when it parsed it. */
  readonly recordKey: string | undefined;
}

/** The group names a groups cell holds, each once, in order. */
function groupNames(cell: string, separator: string): string[] {
  return [...new Set(cell.split(separator).map((g) => g.trim()).filter((g) => g !== ''))];
}

function countLines(text: string): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

class SnapshotBuilder {
  private readonly users: CanonicalUser[] = [];
  private readonly issues: SourceIssue[] = [];
  private readonly heldKeys = new Set<string>();
  private readonly byKey = new Map<string, number>();
  private readonly userNames = new Map<string, string>();
  private records = 0;
  private keyIndex = -1;
  private lastLine = 1;
  private readonly columnFor = new Map<string, string>();
  /** columnFor as two arrays (attribute i is read from column i): walked per record without an entry array each. */
  private mappedAttributes: readonly string[] = [];
  private mappedColumns: readonly string[] = [];
  /** source.key lower-cased, which a key repeating the header is (CSV_REPEATED_HEADER). */
  private readonly keyLower: string;
  private readonly multi: Set<string>;
  private readonly multiline: Set<string>;
  /** Every column, the unnamed ones at the end (unnamedColumn) included: the width of a row. */
  private header: readonly string[] = [];
  /** The header's named columns: what a person's attributes are. */
  private named: readonly string[] = [];
  private readonly newAttributes = plainRecordMaker<SourceValue>();
  private unnamed: readonly string[] = [];
  private readonly inactiveValues: Set<string>;
  /** source.inactive.activeValues, lower case: when set, a status in neither list holds the person. */
  private readonly activeValues: Set<string> | undefined;
  private readonly warnings: SourceIssue[] = [];
  /** Rows of only delimiters, skipped: how many, and the first few lines. */
  /** Lines of blank rows not yet followed by a person: skipped if none follows. */
  private readonly pendingBlank: number[] = [];
  /** Groups named in the groups column: name -> member keys, in first-seen order. */
  private readonly groupMembers = new Map<string, string[]>();
  /** source.trailer's marker, when the file must end with a count of its rows. */
  private readonly trailerMarker: string | undefined;
  /** Data records seen (good or bad), for the trailer's count, and the last line of the last one. */
  private rows = 0;
  private lastRowLine = 0;
  private trailer: { count: number; line: number } | undefined;
  /** The last record csv-parse gave up on: it may report the same line again (a quote inside a field, then the rest of the field). */
  private rejected: { line: number; issue: number } | undefined;
  /** Records spanning lines that no column may span, by first line (spanned). */
  private readonly regions = new Map<number, SwallowedRegion>();
  /** The groups named on rows the source rejects, by the index of the row's issue (rejectedRowGroups). */
  private readonly rejectedGroups = new Map<number, string[]>();
  /** One-line records csv-parse gave up on, by line: their groups are read from the line once the file is read (finish). */
  private readonly brokenRows = new Map<number, { raw: string; cut: boolean; issue: number }>();

  constructor(private readonly config: CsvSourceConfig) {
    this.multi = new Set(config.multiValueColumns);
    this.multiline = new Set(config.multilineColumns);
    this.inactiveValues = new Set((config.inactive?.values ?? []).map((v) => v.toLowerCase()));
    const activeValues = config.inactive?.activeValues;
    this.activeValues = activeValues ? new Set(activeValues.map((v) => v.trim().toLowerCase())) : undefined;
    this.trailerMarker = trailerMarker(config);
    this.keyLower = config.key.toLowerCase();
  }

  /**
   * True when this record is the trailer (taken here, not read as a person). Records do not come in
   * file order (a rejected one overtakes those buffered ahead of it), so what follows the trailer is
   * judged in finish().
   */
  private takeTrailer(fields: readonly (string | undefined)[], line: number): boolean {
    if (this.trailerMarker === undefined || fields[0]?.trim() !== this.trailerMarker) return false;
    if (this.trailer) throw new SourceError(`${this.config.path}:${line}: a second trailer row (the first is on line ${this.trailer.line})`);
    const text = fields[1]?.trim() ?? '';
    if (!/^\d{1,9}$/.test(text)) throw new SourceError(`${this.config.path}:${line}: the trailer row's second field "${text.slice(0, 20)}" is not a row count`);
    this.trailer = { count: Number(text), line };
    return true;
  }

  setHeader(header: string[]): string[] {
    const names = checkHeader(this.config, header);
    this.header = names;
    this.named = names.filter((c) => !isUnnamed(c));
    this.unnamed = names.filter(isUnnamed);
    for (const [attr, col] of Object.entries(this.config.columns)) this.columnFor.set(attr, col);
    this.mappedAttributes = [...this.columnFor.keys()];
    this.mappedColumns = [...this.columnFor.values()];
    this.keyIndex = names.indexOf(this.config.key);
    return names;
  }

  private issue(code: SourceIssue['code'], line: number, message: string, key?: string): void {
    this.issues.push({ code, message: `${this.config.path}:${line}: ${message}`, ref: { location: this.config.path, line } });
    if (key) this.heldKeys.add(key);
  }

  /**
   * A row of only delimiters. Below the last person (what a spreadsheet leaves under its data) it is
   * no person and no invalid record, counted for the read's warning; between people it may be a
   * person whose row came out empty, so it becomes an invalid record once a person follows (the
   * read is dirty and deprovisions wait), never read as nobody.
   */
  private skipBlank(line: number): void {
    this.pendingBlank.push(line);
  }

  /** A row that is not blank follows: the blank rows before it were between people. */
  private blanksBetween(): void {
    if (this.pendingBlank.length === 0) return;
    for (const line of this.pendingBlank.splice(0)) {
      this.records++;
      this.issue('CSV_MISSING_KEY', line, `a row of only delimiters between people: a person's row that came out empty? (the key column "${this.config.key}" is empty)`);
    }
  }

  rejectUnparseable(error: CsvErrorInfo): void {
    if (this.trailerMarker !== undefined && Array.isArray(error.record) && this.takeTrailer(error.record, error.lines ?? this.lastLine + 1)) return;
    // Blank rows a spreadsheet pads to another width than the header's are blank all the same.
    if ((error.code === 'CSV_RECORD_INCONSISTENT_COLUMNS' || error.code === 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH') && Array.isArray(error.record) && isBlankRow(error.record)) {
      this.lastLine = error.lines ?? this.lastLine + 1;
      this.skipBlank(this.lastLine);
      return;
    }
    this.blanksBetween();
    const raw = error.raw?.replace(/\n$/, '') ?? '';
    if (error.lines !== undefined && this.rejected?.line === error.lines && !raw.includes('\n')) {
      // The same record reported again: one row, one issue; its key may show only now.
      this.holdRejected(error, raw);
      this.brokenRow(error, raw, this.rejected.issue);
      return;
    }
    this.rows++;
    this.lastRowLine = Math.max(this.lastRowLine, error.lines ?? this.lastLine + 1);
    this.records++;
    if (error.code === 'CSV_QUOTE_NOT_CLOSED') {
      // Everything after the opening quote was swallowed into one field: nothing after it is known.
      throw new SourceError(
        `${this.config.path}:${this.lastLine + 1}: a quoted field opened at or after this line is never closed; the rest of the file cannot be read`,
      );
    }
    const line = error.lines ?? this.lastLine + 1;
    this.lastLine = line;
    const message = error.message.replace(/ on line \d+$/, '') + excelFormulaHint(raw, this.config.delimiter);
    if (raw.includes('\n')) {
      // csv-parse names no column when it reports the record's length.
      const column = typeof error.column === 'string' ? error.column : typeof error.column === 'number' ? this.header[error.column] : undefined;
      // The record's length is reported once its end is read: its text is whole; any other error stops the text where it is.
      const cut = error.code !== 'CSV_RECORD_INCONSISTENT_COLUMNS' && error.code !== 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH';
      this.spanned(line - countLines(raw) + 1, line, raw, column !== undefined && !this.multiline.has(column) ? column : undefined, cut, message);
      this.rejected = undefined;
      return;
    }
    this.issue('CSV_UNPARSEABLE', line, message);
    this.rejected = { line, issue: this.issues.length - 1 };
    this.holdRejected(error, raw);
    this.brokenRow(error, raw, this.rejected.issue);
  }

  /**
   * A one-line record csv-parse gave up on, as it reported it (perhaps twice, the second time with
   * more of its text): kept to read the groups it names once the file is read.
   */
  private brokenRow(error: CsvErrorInfo, raw: string, issue: number): void {
    if (!this.config.groups || error.lines === undefined) return;
    // The record's length is reported once its end is read: its text is whole; any other error stops the text where it is.
    const cut = error.code !== 'CSV_RECORD_INCONSISTENT_COLUMNS' && error.code !== 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH';
    const seen = this.brokenRows.get(error.lines);
    if (!seen || raw.length > seen.raw.length) this.brokenRows.set(error.lines, { raw, cut, issue });
  }

  /**
   * Holds the person whose row could not be parsed, so that they are neither updated nor read as
   * gone: their key from the fields csv-parse did split, or from the row's text up to where it gave
   * up (a quote inside a field stops it mid-row, with no fields), when the key column lies before.
   */
  private holdRejected(error: CsvErrorInfo, raw: string): void {
    // At most a few fields past the header's: a row of thousands of delimiters is not split for a key.
    const fromRaw = () => {
      const fields: string[] = [];
      for (const f of fieldsOfLine(raw, this.config.delimiter)) if (fields.push(f) > this.header.length + 16) break;
      return fields;
    };
    // csv-parse gives the fields of a whole record; a quote inside a field stops it mid-row, with the text so far.
    const fields = Array.isArray(error.record) ? undefined : fromRaw();
    // A key written as Excel's ="E1001" stops the parse inside it, but is whole once its closing quote is read.
    const excelKey = fields && /^\s*="([^"]+)"/.exec(fields[this.keyIndex] ?? '')?.[1]?.trim();
    const key = Array.isArray(error.record)
      ? keyOfBrokenRow(error.record, true, this.keyIndex, this.header.length)
      : excelKey || keyOfBrokenRow(fields!, false, this.keyIndex, this.header.length);
    if (!key || this.heldKeys.has(key)) return;
    this.heldKeys.add(key);
    const at = this.rejected?.issue;
    const issue = at === undefined ? undefined : this.issues[at];
    if (issue) this.issues[at!] = { ...issue, message: `${issue.message}; ${this.config.key} ${key} is held` };
  }

  /**
   * A record over lines first..last: invalid when `column` (a quoted field outside multilineColumns)
   * spans them, or when it could not be parsed (`parseError`). Everyone its lines name is held, once
   * the file is read (regionIssue). csv-parse may report one record twice (a bad closing quote, then
   * the record's length, with its whole text): one region, counted once, read from the longer text.
   */
  private spanned(first: number, last: number, raw: string, column: string | undefined, cut: boolean, parseError?: string, recordKey?: string): void {
    const text = raw.endsWith('\n') ? raw.slice(0, -1) : raw;
    const seen = this.regions.get(first);
    if (!seen) {
      this.regions.set(first, { first, last, raw: text, cut, column, parseError, recordKey });
      return;
    }
    // Reported again: the caller counted it as a record (and a row) once more.
    this.rows--;
    this.records--;
    seen.last = Math.max(seen.last, last);
    if (text.length > seen.raw.length) {
      seen.raw = text;
      seen.cut = cut;
    }
  }

  /** The last lines of the regions whose text stops where parsing gave up (csv-parse skips the rest of such a line). */
  cutLines(): Set<number> {
    const rows = [...this.brokenRows].filter(([, r]) => r.cut).map(([line]) => line);
    return new Set([...[...this.regions.values()].filter((r) => r.cut).map((r) => r.last), ...rows]);
  }

  /**
   * The cut regions' last lines whole, as the file holds them: a region whose cut text such a line
   * continues (the file unchanged since) is read with it, so the row on it is read whole.
   */
  completeLines(lines: ReadonlyMap<number, string>): void {
    for (const region of this.regions.values()) {
      const whole = region.cut ? lines.get(region.last) : undefined;
      const start = region.raw.lastIndexOf('\n') + 1;
      if (whole === undefined || !whole.startsWith(region.raw.slice(start))) continue;
      region.raw = region.raw.slice(0, start) + whole;
      region.cut = false;
    }
    for (const [line, row] of this.brokenRows) {
      const whole = row.cut ? lines.get(line) : undefined;
      if (whole !== undefined && whole.startsWith(row.raw)) this.brokenRows.set(line, { ...row, raw: whole, cut: false });
    }
  }

  /** The issue a region makes, its people and groups held (heldKeys), and their rows counted. */
  private regionIssue(region: SwallowedRegion, shape: ReturnType<typeof keyShape>): SourceIssue {
    const { first, last, column, parseError } = region;
    const groups = this.config.groups;
    const read = readSwallowedLines(region.raw, {
      delimiter: this.config.delimiter,
      keyIndex: this.keyIndex,
      width: this.header.length,
      ...(groups ? { groups: { index: this.header.indexOf(groups.column), separator: groups.separator } } : {}),
      shape,
      cut: region.cut,
      ...(region.recordKey !== undefined ? { recordKey: region.recordKey } : {}),
    });
    const { keys } = read;
    this.records += Math.max(0, read.rows - 1);
    for (const key of keys) this.heldKeys.add(key);
    // A group named only on these lines would read as gone from the source: held, not deleted.
    const onlyHere = read.groups.filter((g) => !this.groupMembers.has(g));
    for (const group of onlyHere) this.heldKeys.add(group);
    const what =
      column !== undefined
        ? `a quoted field in column ${column} spans ${last - first + 1} lines, and ${column} is not in source.multilineColumns (a stray quote on line ${first}?)`
        : `a record spanning ${last - first + 1} lines cannot be read: ${parseError ?? 'invalid'}`;
    const held = keys.length > 0 ? `; the ${keys.length} ${keys.length === 1 ? 'person' : 'people'} these lines name ${keys.length === 1 ? 'is' : 'are'} held: ${listKeys(keys)}` : '';
    const heldGroups =
      onlyHere.length > 0 ? `; so ${onlyHere.length === 1 ? 'is the group' : 'are the groups'} named only on these lines, not deleted: ${listKeys(onlyHere)}` : '';
    const lines = (offsets: readonly number[]) => `line${offsets.length === 1 ? '' : 's'} ${listKeys(offsets.map((i) => String(first + i)))}`;
    const unread = [
      ...(read.keyUnread.length > 0 ? [`${lines(read.keyUnread)} may hold ${read.keyUnread.length === 1 ? 'a person whose key' : 'people whose keys'} cannot be read`] : []),
      ...(read.groupsUnread.length > 0 ? [`the groups of the ${read.groupsUnread.length === 1 ? 'person' : 'people'} on ${lines(read.groupsUnread)} cannot be read`] : []),
    ];
    const hides = unread.length > 0;
    const unknown = hides
      ? `; ${unread.join(', and ')}: nobody is deprovisioned and no group deleted as gone from this read, whatever safety.holdDeprovisionsOnInvalidRecords says`
      : '';
    return {
      code: 'CSV_MULTILINE_FIELD',
      message: `${this.config.path}: lines ${first}\u2013${last}: ${what}${held}${heldGroups}${unknown}`,
      ref: { location: this.config.path, line: first },
      ...(hides ? { hidesPeople: true as const } : {}),
      ...(onlyHere.length > 0 ? { holdsGroups: onlyHere } : {}),
    };
  }

  private value(raw: string | undefined, column: string): SourceValue {
    if (raw === undefined) return null;
    const text = raw.trim();
    if (text === '') return null;
    if (this.config.multiValueSeparator && this.multi.has(column)) {
      const parts = text.split(this.config.multiValueSeparator).map((p) => p.trim()).filter((p) => p !== '');
      return parts.length === 0 ? null : parts;
    }
    return text;
  }

  accept(record: Record<string, string>, endLine: number, raw: string): void {
    // The key column first: a person's row is told from a blank one without looking further.
    const keyText = record[this.config.key] ?? '';
    if ((keyText === '' || keyText.trim() === '') && isBlankRow(Object.values(record))) {
      this.lastLine = endLine;
      this.skipBlank(endLine);
      return;
    }
    if (this.trailerMarker !== undefined && this.takeTrailer(this.header.map((h) => record[h]), endLine)) return;
    this.blanksBetween();
    this.rows++;
    this.lastRowLine = Math.max(this.lastRowLine, endLine);
    this.records++;
    let newlines = 0;
    let spanning: string | undefined;
    for (const column in record) {
      if (record[column]!.includes('="')) record[column] = unwrapExcelText(record[column]!);
      const n = countLines(record[column]!) - 1;
      newlines += n;
      if (n > 0 && spanning === undefined && !this.multiline.has(column)) spanning = column;
    }
    const line = endLine - newlines;
    this.lastLine = endLine;
    if (spanning !== undefined) {
      // The key csv-parse read, unless the key's own column is the one spanning lines.
      const recordKey = spanning === this.config.key ? undefined : record[this.config.key]?.trim();
      this.spanned(line, endLine, raw, spanning, false, undefined, recordKey);
      return;
    }

    const key = record[this.config.key]?.trim() ?? '';
    if (key === '') {
      this.issue('CSV_MISSING_KEY', line, `empty key column "${this.config.key}"`);
      this.rejectedRowGroups(record);
      return;
    }
    if (key.length === this.keyLower.length && key.toLowerCase() === this.keyLower) {
      // Two exports joined into one file: the second's rows may be the first's people again, or
      // another run's. Invalid, so the read is dirty and deprovisioning waits for a whole export.
      this.issue('CSV_REPEATED_HEADER', line, `the header repeats here (two exports joined into one?): the file is not one export`);
      return;
    }
    const filled = this.unnamed.length === 0 ? undefined : this.unnamed.find((column) => record[column]!.trim() !== '');
    if (filled !== undefined) {
      this.issue('CSV_UNNAMED_COLUMN', line, `a value in column ${this.header.indexOf(filled) + 1}, which the header leaves unnamed (a row shifted by a stray delimiter?)`, key);
      this.rejectedRowGroups(record);
      return;
    }
    const firstLine = this.byKey.get(key);
    if (firstLine !== undefined) {
      // Which row is right is unknowable: keep the first, report the second, touch neither.
      this.issue('CSV_DUPLICATE_KEY', line, `key "${key}" already used on line ${firstLine}`, key);
      this.rejectedRowGroups(record);
      return;
    }
    this.byKey.set(key, line);

    const attributes = this.newAttributes();
    // By the header (the record's keys, in order): no entry arrays per record, one object shape for all.
    for (const column of this.named) attributes[column] = this.value(record[column], column);
    for (let i = 0; i < this.mappedAttributes.length; i++) attributes[this.mappedAttributes[i]!] = this.value(record[this.mappedColumns[i]!], this.mappedColumns[i]!);

    if (!this.claimUserName(attributes['userName'], key, line)) {
      this.rejectedRowGroups(record);
      return;
    }

    const status = this.config.inactive ? (record[this.config.inactive.column]?.trim().toLowerCase() ?? '') : undefined;
    const active = status === undefined || !this.inactiveValues.has(status);
    if (active && status !== undefined && this.activeValues && !this.activeValues.has(status)) {
      // A status HR added since the config was written ("Terminated - Involuntary") is as likely
      // a leaver as not: kept as they are, and said, rather than left active everywhere in silence.
      const shown = record[this.config.inactive!.column]!.trim();
      this.warnings.push({
        code: 'CSV_UNKNOWN_STATUS',
        message: `${this.config.path}:${line}: ${this.config.inactive!.column} ${JSON.stringify(shown.length > 40 ? `${shown.slice(0, 40)}…` : shown)} is in neither source.inactive.values nor source.inactive.activeValues: ${key} is held (neither updated nor deactivated) until the config lists it`,
        ref: { location: this.config.path, line },
      });
      this.heldKeys.add(key);
    }
    const managerKey = this.config.manager ? (record[this.config.manager]?.trim() || null) : undefined;
    const groups = this.config.groups ? this.groupsOf(record[this.config.groups.column] ?? '', this.config.groups.separator, key) : undefined;
    const ref = { location: this.config.path, line };
    // Literals in one key order (key, active, attributes, managerKey, groups, ref): no spread of a
    // throwaway object per person.
    if (managerKey === undefined && !groups) this.users.push({ key, active, attributes, ref });
    else if (!groups) this.users.push({ key, active, attributes, managerKey: managerKey as string | null, ref });
    else if (managerKey === undefined) this.users.push({ key, active, attributes, groups, ref });
    else this.users.push({ key, active, attributes, managerKey, groups, ref });
  }

  /** False (and the record held) when an earlier record has this userName. */
  private claimUserName(userName: SourceValue | undefined, key: string, line: number): boolean {
    if (typeof userName !== 'string') return true;
    const folded = foldUserName(userName);
    const owner = this.userNames.get(folded);
    if (owner !== undefined) {
      this.issue('CSV_DUPLICATE_USERNAME', line, `userName "${userName}" already used by key "${owner}"`, key);
      return false;
    }
    this.userNames.set(folded, key);
    return true;
  }

  /**
   * The groups a row the source rejects names (its issue the last one so far). The person is not
   * added to them, but the row is evidence that they still exist: one no valid row names is held,
   * not deleted (heldRejectedGroups), as for the lines a stray quote swallows (regionIssue).
   */
  private rejectedRowGroups(record: Record<string, string>): void {
    const groups = this.config.groups;
    const names = groups ? groupNames(record[groups.column] ?? '', groups.separator) : [];
    if (names.length > 0) this.rejectedGroups.set(this.issues.length - 1, names);
  }

  /** The groups of the one-line records csv-parse gave up on, from their lines read as rows of their own (readSwallowedLines). */
  private readBrokenRows(): void {
    const groups = this.config.groups;
    if (!groups) return;
    for (const { raw, cut, issue } of this.brokenRows.values()) {
      const read = readSwallowedLines(raw, {
        delimiter: this.config.delimiter,
        keyIndex: this.keyIndex,
        width: this.header.length,
        groups: { index: this.header.indexOf(groups.column), separator: groups.separator },
        // Any key will do: the row is one row, whoever's it is.
        shape: undefined,
        cut,
      });
      if (read.groups.length > 0) this.rejectedGroups.set(issue, read.groups);
    }
  }

  /** Holds the groups named on rejected rows and on no valid one, each said in its row's issue. */
  private heldRejectedGroups(): void {
    this.readBrokenRows();
    for (const [at, names] of this.rejectedGroups) {
      const onlyHere = names.filter((g) => !this.groupMembers.has(g));
      if (onlyHere.length === 0) continue;
      for (const group of onlyHere) this.heldKeys.add(group);
      const what = onlyHere.length === 1 ? 'the group named on this row and on no valid one is' : 'the groups named on this row and on no valid one are';
      this.issues[at] = { ...this.issues[at]!, message: `${this.issues[at]!.message}; ${what} held, not deleted: ${listKeys(onlyHere)}`, holdsGroups: onlyHere };
    }
  }

  private groupsOf(cell: string, separator: string, key: string): string[] {
    const names = groupNames(cell, separator);
    for (const name of names) {
      let members = this.groupMembers.get(name);
      if (!members) {
        members = [];
        this.groupMembers.set(name, members);
      }
      members.push(key);
    }
    return names;
  }

  finish(): DirectorySnapshot {
    // An empty file (or only blank lines) is no export of nobody: it fails as the header check does.
    if (this.keyIndex < 0) throw new SourceError(`${this.config.path}:1: no header line`);
    if (this.trailerMarker !== undefined) {
      const { path } = this.config;
      if (!this.trailer) throw new SourceError(`${path}: no trailer row ("${this.trailerMarker},<rows>") at the end: the export is incomplete, or source.trailer is wrong`);
      if (this.lastRowLine > this.trailer.line) throw new SourceError(`${path}:${this.trailer.line}: the trailer row is not the last row (line ${this.lastRowLine} follows)`);
      if (this.trailer.count !== this.rows) {
        throw new SourceError(`${path}:${this.trailer.line}: the trailer counts ${this.trailer.count} rows, the file holds ${this.rows}: the export is incomplete or damaged`);
      }
    }
    const blank = this.pendingBlank;
    if (blank.length > 0) {
      const shown = blank.slice(0, BLANK_LINES_SHOWN);
      const more = blank.length > shown.length ? ` and ${blank.length - shown.length} more` : '';
      this.warnings.unshift({
        code: 'CSV_BLANK_ROWS',
        message: `${this.config.path}: ${blank.length} row${blank.length === 1 ? '' : 's'} of only delimiters after the last person skipped (line${blank.length === 1 ? '' : 's'} ${shown.join(', ')}${more})`,
        ref: { location: this.config.path, line: blank[0]! },
      });
    }
    this.heldRejectedGroups();
    if (this.regions.size > 0) {
      const shape = keyShape(this.byKey.keys());
      for (const region of this.regions.values()) this.issues.push(this.regionIssue(region, shape));
    }
    const groups = [...this.groupMembers].map(([name, memberKeys]) => ({
      key: name,
      displayName: name,
      memberKeys,
      ref: { location: this.config.path },
    }));
    return {
      source: `csv:${this.config.path}`,
      users: this.users,
      groups,
      // Parse errors surface before the records buffered ahead of them: report in file order.
      issues: this.issues.sort((a, b) => (a.ref.line ?? 0) - (b.ref.line ?? 0)),
      ...(this.warnings.length > 0 ? { warnings: this.warnings } : {}),
      heldKeys: [...this.heldKeys],
      recordsRead: this.records,
    };
  }
}

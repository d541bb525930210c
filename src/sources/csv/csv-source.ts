/**
 * HR export as CSV. Streams the file; each bad record becomes a SourceIssue naming file and line and
 * is skipped, and its key (when readable) is held so the planner neither updates nor deprovisions
 * that person on a row it could not trust. A structurally broken file (an unclosed quote swallows
 * the rest) fails the whole read.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { parse, type Info } from 'csv-parse';
import type { CsvSourceConfig } from '../../config/schema.js';
import { SourceError } from '../../errors.js';
import type { CanonicalUser, DirectorySnapshot, SourceIssue, SourceValue } from '../../model/canonical.js';
import type { SourceDirectory } from '../source-directory.js';
import { readMemberships } from './memberships-file.js';
import { decodeToLf } from './text-stream.js';

interface CsvErrorInfo extends Error {
  code?: string;
  lines?: number;
  record?: string[];
}

export class CsvSource implements SourceDirectory {
  readonly description: string;

  constructor(private readonly config: CsvSourceConfig) {
    this.description = `csv:${config.path}`;
  }

  async read(): Promise<DirectorySnapshot> {
    const { path } = this.config;
    try {
      await stat(path);
    } catch (error) {
      throw new SourceError(`cannot read CSV ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const builder = new SnapshotBuilder(this.config);
    const parser = parse({
      columns: (header: string[]) => builder.setHeader(header),
      delimiter: this.config.delimiter,
      info: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      trim: false,
    });
    parser.on('skip', (error: CsvErrorInfo) => builder.rejectUnparseable(error));
    const consume = (async () => {
      for await (const item of parser as AsyncIterable<{ record: Record<string, string>; info: Info }>) {
        builder.accept(item.record, item.info.lines);
      }
    })();
    try {
      await Promise.all([pipeline(createReadStream(path), decodeToLf(this.config.encoding), parser), consume]);
    } catch (error) {
      if (error instanceof SourceError) throw error;
      throw new SourceError(`cannot read CSV ${path}: ${(error as Error).message}`, {}, { cause: error });
    }
    const snapshot = builder.finish();
    if (!this.config.memberships) return snapshot;
    const memberships = await readMemberships(this.config.memberships, this.config.delimiter, this.config.encoding);
    return {
      ...snapshot,
      groups: [...snapshot.groups, ...memberships.groups],
      issues: [...snapshot.issues, ...memberships.issues],
      recordsRead: snapshot.recordsRead + memberships.recordsRead,
    };
  }
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
  private readonly multi: Set<string>;
  private readonly inactiveValues: Set<string>;
  /** Groups named in the groups column: name -> member keys, in first-seen order. */
  private readonly groupMembers = new Map<string, string[]>();

  constructor(private readonly config: CsvSourceConfig) {
    this.multi = new Set(config.multiValueColumns);
    this.inactiveValues = new Set((config.inactive?.values ?? []).map((v) => v.toLowerCase()));
  }

  setHeader(header: string[]): string[] {
    const names = header.map((h) => h.trim());
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(name)) throw new SourceError(`${this.config.path}:1: column "${name}" appears twice in the header`);
      seen.add(name);
    }
    const needed: [string, string][] = [
      ['key', this.config.key],
      ...Object.entries(this.config.columns).map(([attr, col]): [string, string] => [`columns.${attr}`, col]),
      ...(this.config.inactive ? [['inactive.column', this.config.inactive.column] as [string, string]] : []),
      ...(this.config.manager ? [['manager', this.config.manager] as [string, string]] : []),
      ...(this.config.groups ? [['groups.column', this.config.groups.column] as [string, string]] : []),
    ];
    const missing = needed.filter(([, col]) => !seen.has(col)).map(([opt, col]) => `source.${opt} names column "${col}"`);
    if (missing.length > 0) {
      throw new SourceError(`${this.config.path}:1: header lacks configured columns: ${missing.join('; ')}`);
    }
    for (const [attr, col] of Object.entries(this.config.columns)) this.columnFor.set(attr, col);
    this.keyIndex = names.indexOf(this.config.key);
    return names;
  }

  private issue(code: string, line: number, message: string, key?: string): void {
    this.issues.push({ code, message: `${this.config.path}:${line}: ${message}`, ref: { location: this.config.path, line } });
    if (key) this.heldKeys.add(key);
  }

  rejectUnparseable(error: CsvErrorInfo): void {
    this.records++;
    if (error.code === 'CSV_QUOTE_NOT_CLOSED') {
      // Everything after the opening quote was swallowed into one field: nothing after it is known.
      throw new SourceError(
        `${this.config.path}:${this.lastLine + 1}: a quoted field opened at or after this line is never closed; the rest of the file cannot be read`,
      );
    }
    const line = error.lines ?? this.lastLine + 1;
    this.lastLine = line;
    // The fields csv-parse did split still tell whose row it was, so that person is held, not lost.
    const raw = Array.isArray(error.record) ? error.record[this.keyIndex]?.trim() : undefined;
    const key = raw ? raw : undefined;
    this.issue('CSV_UNPARSEABLE', line, error.message.replace(/ on line \d+$/, ''), key);
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

  accept(record: Record<string, string>, endLine: number): void {
    this.records++;
    let newlines = 0;
    for (const v of Object.values(record)) for (let i = v.indexOf('\n'); i !== -1; i = v.indexOf('\n', i + 1)) newlines++;
    const line = endLine - newlines;
    this.lastLine = endLine;

    const key = record[this.config.key]?.trim() ?? '';
    if (key === '') {
      this.issue('CSV_MISSING_KEY', line, `empty key column "${this.config.key}"`);
      return;
    }
    const firstLine = this.byKey.get(key);
    if (firstLine !== undefined) {
      // Which row is right is unknowable: keep the first, report the second, touch neither.
      this.issue('CSV_DUPLICATE_KEY', line, `key "${key}" already used on line ${firstLine}`, key);
      return;
    }
    this.byKey.set(key, line);

    const attributes: Record<string, SourceValue> = {};
    for (const [column, raw] of Object.entries(record)) attributes[column] = this.value(raw, column);
    for (const [attr, column] of this.columnFor) attributes[attr] = this.value(record[column], column);

    const userName = attributes['userName'];
    if (typeof userName === 'string') {
      const folded = userName.toLowerCase();
      const owner = this.userNames.get(folded);
      if (owner !== undefined) {
        this.issue('CSV_DUPLICATE_USERNAME', line, `userName "${userName}" already used by key "${owner}"`, key);
        return;
      }
      this.userNames.set(folded, key);
    }

    const status = this.config.inactive ? record[this.config.inactive.column]?.trim().toLowerCase() : undefined;
    const managerKey = this.config.manager ? (record[this.config.manager]?.trim() || null) : undefined;
    const groups = this.config.groups ? this.groupsOf(record[this.config.groups.column] ?? '', this.config.groups.separator, key) : undefined;
    this.users.push({
      key,
      active: status === undefined || !this.inactiveValues.has(status),
      attributes,
      ...(managerKey !== undefined ? { managerKey } : {}),
      ...(groups ? { groups } : {}),
      ref: { location: this.config.path, line },
    });
  }

  private groupsOf(cell: string, separator: string, key: string): string[] {
    const names = [...new Set(cell.split(separator).map((g) => g.trim()).filter((g) => g !== ''))];
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
      heldKeys: [...this.heldKeys],
      recordsRead: this.records,
    };
  }
}

/**
 * A memberships CSV: one row per (group, member). Groups get their key from one column (so a
 * rename is a displayName change, not a new group) and may nest (a member row of type "group").
 * Bad rows are reported with file and line and skipped. As in the people file (csv-source.ts), a
 * skipped row is not read as nothing: the member it names is held (their memberships kept, as the
 * row may have been theirs), and a group it names that no valid row names is held, not deleted.
 * A quoted field spanning lines (a stray quote) is such a row, and so is every line it swallowed
 * (read as rows of their own, stray-quote.ts).
 */
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Info } from 'csv-parse';
import type { CsvSourceConfig } from '../../config/schema/index.js';
import { SourceError } from '../../errors.js';
import type { CanonicalGroup, SourceIssue } from '../../model/canonical.js';
import type { EncodingOption } from './detect-encoding.js';
import { fieldsOfLine, keyOfBrokenRow, keyShape, listKeys, readSwallowedLines } from './stray-quote.js';
import { textDecoder } from './text-stream.js';
import { joined } from '../../model/joined-lists.js';

type MembershipsConfig = NonNullable<CsvSourceConfig['memberships']>;

interface Building {
  key: string;
  displayName: string;
  memberKeys: Set<string>;
  groupKeys: Set<string>;
  line: number;
}

export interface MembershipsRead {
  groups: CanonicalGroup[];
  issues: SourceIssue[];
  /** Members and groups named on rows the file rejects (see above). */
  heldKeys: string[];
  recordsRead: number;
}

/** A row the file rejects, by its issue: the group and member it names, when they read. */
interface Rejected {
  issue: number;
  group?: string | undefined;
  member?: string | undefined;
}

/** Lines first..last, one record a quoted field spans (the text csv-parse read, `cut` where it gave up). */
interface Spanned {
  issue: number;
  first: number;
  raw: string;
  cut: boolean;
}

export async function readMemberships(config: MembershipsConfig, delimiter: string, encoding: EncodingOption): Promise<MembershipsRead> {
  const groups = new Map<string, Building>();
  const issues: SourceIssue[] = [];
  const rejected: Rejected[] = [];
  const spans: Spanned[] = [];
  let records = 0;
  const issue = (line: number, message: string) =>
    issues.push({ code: 'CSV_BAD_MEMBERSHIP', message: `${config.path}:${line}: ${message}`, ref: { location: config.path, line } }) - 1;
  const reject = (line: number, message: string, group: string | undefined, member: string | undefined) => {
    rejected.push({ issue: issue(line, message), group: group || undefined, member: member || undefined });
  };
  /** A record over lines that no column may span (a stray quote, most often): who its lines name is read at the end. */
  const spanned = (last: number, raw: string, cut: boolean, what: (lines: number) => string) => {
    const text = raw.endsWith('\n') ? raw.slice(0, -1) : raw;
    const first = last - text.split('\n').length + 1;
    const at = issues.push({ code: 'CSV_MULTILINE_FIELD', message: `${config.path}: lines ${first}\u2013${last}: ${what(last - first + 1)}`, ref: { location: config.path, line: first } }) - 1;
    spans.push({ issue: at, first, raw: text, cut });
  };

  const decode = await textDecoder(config.path, encoding);
  // Loaded here, not at start: see csv-source.ts.
  const { parse } = await import('csv-parse');
  let header: string[] = [];
  const columns = (names: string[]) => {
    header = names;
    const missing = [config.group, config.member, config.groupName, config.memberType].filter((c): c is string => !!c && !names.includes(c));
    if (missing.length > 0) throw new SourceError(`${config.path}:1: header lacks configured columns: ${missing.join(', ')}`);
    return names;
  };
  // raw: the text of each record, to read the rows a stray quote swallowed.
  const parser = parse({ columns, delimiter, info: true, raw: true, skip_empty_lines: true, skip_records_with_error: true });
  let unclosed = false;
  let lastLine = 1;
  parser.on('skip', (error: Error & { lines?: number; code?: string; record?: string[]; raw?: string }) => {
    records++;
    if (error.code === 'CSV_QUOTE_NOT_CLOSED') {
      unclosed = true;
      return;
    }
    const line = error.lines ?? lastLine + 1;
    lastLine = line;
    const message = error.message.replace(/ on line \d+$/, '');
    const raw = error.raw?.replace(/\n$/, '') ?? '';
    // The record's length is reported once its end is read: its text is whole; any other error stops the text where it is.
    const complete = error.code === 'CSV_RECORD_INCONSISTENT_COLUMNS' || error.code === 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH';
    if (raw.includes('\n')) return spanned(line, raw, !complete, (n) => `a record spanning ${n} lines cannot be read: ${message}`);
    const fields = Array.isArray(error.record) ? error.record : [...fieldsOfLine(raw, delimiter)];
    const field = (column: string) => keyOfBrokenRow(fields, Array.isArray(error.record), header.indexOf(column), header.length);
    reject(line, message, field(config.group), field(config.member));
  });
  const consume = (async () => {
    for await (const { record, info, raw } of parser as AsyncIterable<{ record: Record<string, string>; info: Info; raw: string }>) {
      records++;
      const line = info.lines;
      lastLine = line;
      const spanning = header.find((column) => record[column]?.includes('\n'));
      if (spanning !== undefined) {
        spanned(line, raw, false, (n) => `a quoted field in column ${spanning} spans ${n} lines (a stray quote on line ${line - n + 1}?)`);
        continue;
      }
      const key = record[config.group]?.trim() ?? '';
      const member = record[config.member]?.trim() ?? '';
      if (key === '' || member === '') {
        reject(line, `empty ${key === '' ? `group column "${config.group}"` : `member column "${config.member}"`}`, key, member);
        continue;
      }
      const type = config.memberType ? (record[config.memberType]?.trim().toLowerCase() || 'user') : 'user';
      if (type !== 'user' && type !== 'group') {
        reject(line, `member type "${type}" is neither "user" nor "group"`, key, member);
        continue;
      }
      const name = config.groupName ? record[config.groupName]?.trim() || key : key;
      let group = groups.get(key);
      if (!group) {
        group = { key, displayName: name, memberKeys: new Set(), groupKeys: new Set(), line };
        groups.set(key, group);
      } else if (group.displayName !== name) {
        issue(line, `group "${key}" is named "${name}" here but "${group.displayName}" on line ${group.line}; keeping the first`);
      }
      (type === 'group' ? group.groupKeys : group.memberKeys).add(member);
    }
  })();
  try {
    await Promise.all([pipeline(createReadStream(config.path), decode, parser), consume]);
  } catch (error) {
    if (error instanceof SourceError) throw error;
    throw new SourceError(`cannot read memberships CSV ${config.path}: ${(error as Error).message}`, {}, { cause: error });
  }
  if (unclosed) {
    throw new SourceError(`${config.path}: a quoted field is never closed; the rest of the file cannot be read`);
  }
  const heldKeys = holdRejected({ config, header, groups, issues, rejected, spans, delimiter });
  return {
    groups: [...groups.values()].map((g) => ({
      key: g.key,
      displayName: g.displayName,
      memberKeys: [...g.memberKeys],
      groupKeys: [...g.groupKeys],
      ref: { location: config.path, line: g.line },
    })),
    issues: issues.sort((a, b) => (a.ref.line ?? 0) - (b.ref.line ?? 0)),
    heldKeys,
    recordsRead: records,
  };
}

/**
 * Holds what the rejected rows name (see above), said in each row's issue: the members, and the
 * groups no valid row names. A spanned record's lines are read as rows of their own; a line whose
 * member or group does not read may hide a membership nobody can name: nobody is deprovisioned
 * and no group deleted that run (SourceIssue.hidesPeople). Returns the keys held.
 */
function holdRejected(read: {
  config: MembershipsConfig;
  header: readonly string[];
  groups: ReadonlyMap<string, Building>;
  issues: SourceIssue[];
  rejected: readonly Rejected[];
  spans: readonly Spanned[];
  delimiter: string;
}): string[] {
  const { config, header, groups, issues } = read;
  const held = new Set<string>();
  const say = (at: number, where: string, members: readonly string[], named: readonly string[], hides: string) => {
    const onlyHere = [...new Set(named)].filter((g) => !groups.has(g));
    for (const key of [...members, ...onlyHere]) held.add(key);
    const parts = [
      ...(members.length > 0 ? [members.length === 1 ? `member ${members[0]!} is held` : `members ${listKeys(members)} are held`] : []),
      ...(onlyHere.length > 0 ? [`${onlyHere.length === 1 ? 'the group' : 'the groups'} named ${where} and on no valid row ${onlyHere.length === 1 ? 'is' : 'are'} held, not deleted: ${listKeys(onlyHere)}`] : []),
    ];
    if (parts.length === 0 && hides === '') return;
    issues[at] = {
      ...issues[at]!,
      message: `${issues[at]!.message}${parts.length > 0 ? `; ${parts.join('; ')}` : ''}${hides}`,
      ...(hides ? { hidesPeople: true as const } : {}),
      ...(onlyHere.length > 0 ? { holdsGroups: onlyHere } : {}),
    };
  };
  for (const r of read.rejected) say(r.issue, 'on this row', r.member ? [r.member] : [], r.group ? [r.group] : [], '');
  if (read.spans.length === 0) return [...held];
  const shape = keyShape(joined([...groups.values()].map((g) => [...g.memberKeys])));
  for (const span of read.spans) {
    const lines = readSwallowedLines(span.raw, {
      delimiter: read.delimiter,
      keyIndex: header.indexOf(config.member),
      width: header.length,
      // One group a row: no separator splits it (no field of one line holds a line break).
      groups: { index: header.indexOf(config.group), separator: '\n' },
      shape,
      cut: span.cut,
    });
    const unread = [...new Set([...lines.keyUnread, ...lines.groupsUnread])].sort((a, b) => a - b).map((i) => String(span.first + i));
    const hides =
      unread.length > 0
        ? `; the membership${unread.length === 1 ? '' : 's'} on line${unread.length === 1 ? '' : 's'} ${listKeys(unread)} cannot be read: nobody is deprovisioned and no group deleted as gone from this read, whatever safety.holdDeprovisionsOnInvalidRecords says`
        : '';
    say(span.issue, 'on these lines', lines.keys, lines.groups, hides);
  }
  return [...held];
}

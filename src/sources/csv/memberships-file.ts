/**
 * A memberships CSV: one row per (group, member). Groups get their key from one column (so a
 * rename is a displayName change, not a new group) and may nest (a member row of type "group").
 * Bad rows are reported with file and line and skipped.
 */
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Info } from 'csv-parse';
import type { CsvSourceConfig } from '../../config/schema/index.js';
import { SourceError } from '../../errors.js';
import type { CanonicalGroup, SourceIssue } from '../../model/canonical.js';
import type { EncodingOption } from './detect-encoding.js';
import { textDecoder } from './text-stream.js';

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
  recordsRead: number;
}

export async function readMemberships(config: MembershipsConfig, delimiter: string, encoding: EncodingOption): Promise<MembershipsRead> {
  const groups = new Map<string, Building>();
  const issues: SourceIssue[] = [];
  let records = 0;
  const issue = (line: number, message: string) =>
    issues.push({ code: 'CSV_BAD_MEMBERSHIP', message: `${config.path}:${line}: ${message}`, ref: { location: config.path, line } });

  const decode = await textDecoder(config.path, encoding);
  // Loaded here, not at start: see csv-source.ts.
  const { parse } = await import('csv-parse');
  const parser = parse({ columns: true, delimiter, info: true, skip_empty_lines: true, skip_records_with_error: true });
  let unclosed = false;
  parser.on('skip', (error: Error & { lines?: number; code?: string }) => {
    records++;
    if (error.code === 'CSV_QUOTE_NOT_CLOSED') {
      unclosed = true;
      return;
    }
    issue(error.lines ?? 0, error.message.replace(/ on line \d+$/, ''));
  });
  let header: string[] | null = null;
  const consume = (async () => {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: Info }>) {
      records++;
      if (!header) {
        header = Object.keys(record);
        const missing = [config.group, config.member, config.groupName, config.memberType].filter((c): c is string => !!c && !header!.includes(c));
        if (missing.length > 0) throw new SourceError(`${config.path}:1: header lacks configured columns: ${missing.join(', ')}`);
      }
      const line = info.lines;
      const key = record[config.group]?.trim() ?? '';
      const member = record[config.member]?.trim() ?? '';
      if (key === '' || member === '') {
        issue(line, `empty ${key === '' ? `group column "${config.group}"` : `member column "${config.member}"`}`);
        continue;
      }
      const type = config.memberType ? (record[config.memberType]?.trim().toLowerCase() || 'user') : 'user';
      if (type !== 'user' && type !== 'group') {
        issue(line, `member type "${type}" is neither "user" nor "group"`);
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
  return {
    groups: [...groups.values()].map((g) => ({
      key: g.key,
      displayName: g.displayName,
      memberKeys: [...g.memberKeys],
      groupKeys: [...g.groupKeys],
      ref: { location: config.path, line: g.line },
    })),
    issues: issues.sort((a, b) => (a.ref.line ?? 0) - (b.ref.line ?? 0)),
    recordsRead: records,
  };
}

/**
 * The newest records of the provisioning log that match a search, for a long-running process (the
 * console): the log can be a gigabyte (20 rotated files of 50 MB by default), and reading all of it
 * at once would hold the service's event loop for seconds, long enough for webhooks to time out and
 * a liveness probe to kill the service. So the files are read from their end backwards, a chunk per
 * turn of the event loop, newest file first, and the search stops as soon as nothing older can be
 * among the newest `limit` matches, or after `maxBytes` (then it says how far back it looked).
 *
 * A rotated file holds nothing newer than its stamp (it was moved aside then), or than when it was
 * last written (logrotate's); an active file may hold anything up to now. A compressed file cannot
 * be read from its end: it is decompressed as a stream, its lines kept (one rotated file's worth),
 * then given last first. Within a file records are in append order, which is time order up to the
 * few milliseconds by which processes on one host may interleave their batches.
 */
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import type { AuditRecord, Initiator } from './audit-sink.js';
import { parseLogLine } from './read-log.js';
import { gunzipped, logFileList } from './log-files.js';

export interface LogSearchOptions {
  /** Matches returned at most, newest first. */
  limit: number;
  /** Records older than this are not wanted: files and parts of files before it are not read. */
  since?: Date;
  /** Bytes read at most before the search stops (it then says how far back it got). Default 256 MiB. */
  maxBytes?: number;
  /** Bytes read per turn of the event loop. Default 1 MiB. */
  chunkBytes?: number;
}

export interface LogSearchResult {
  /** The newest matches, newest first, at most `limit`. */
  records: AuditRecord[];
  /** Matches found in what was read: every match when `exhaustive`, else at least this many. */
  matched: number;
  /** Every record that could match was read. */
  exhaustive: boolean;
  /** Set when `maxBytes` stopped the search: the time of the oldest record it read. */
  searchedBackTo?: string;
  /** Lines that are not records (damaged or foreign), in what was read. */
  unreadable: number;
}

const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;
const DEFAULT_CHUNK_BYTES = 1024 * 1024;

/** Complete lines of `file`, last first, a chunk's worth per step. A last line without its newline is still being written: not given. */
async function* linesBackward(file: string, chunkBytes: number): AsyncGenerator<{ lines: string[]; bytes: number }> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return; // Rotated away or pruned since it was listed.
  }
  try {
    let position = (await handle.stat()).size;
    /**
     * The bytes after the chunk being read up to the first newline in them (the end of a line that
     * starts in this chunk or before), as read: latest first. Kept apart while no newline comes, so
     * a long line costs its length once (joined at each chunk, it was quadratic in the line).
     */
    let tail: Buffer[] = [];
    let first = true;
    while (position > 0) {
      const start = Math.max(0, position - chunkBytes);
      const read = Buffer.alloc(position - start);
      const { bytesRead } = await handle.read(read, 0, read.length, start);
      position = start;
      let chunk = read.subarray(0, bytesRead);
      if (first) {
        chunk = chunk.subarray(0, chunk.lastIndexOf(0x0a) + 1);
        first = false;
      }
      const newline = chunk.indexOf(0x0a);
      if (start > 0 && newline === -1) {
        // All of it is inside one line that starts in an earlier chunk: counted against the budget.
        tail.push(chunk);
        yield { lines: [], bytes: bytesRead };
        continue;
      }
      const text = tail.length === 0 ? chunk : Buffer.concat([chunk, ...tail.reverse()]);
      // Bytes before the first newline may be the end of a line that starts in the previous chunk.
      const cut = start > 0 ? newline + 1 : 0;
      tail = [Buffer.from(text.subarray(0, cut))];
      // A newline byte is never part of a UTF-8 sequence, so lines split on bytes decode alone.
      const lines = text.subarray(cut).toString('utf8').split('\n');
      lines.pop();
      yield { lines: lines.reverse(), bytes: bytesRead };
    }
  } finally {
    await handle.close();
  }
}

/** Complete lines of a gzipped `file`, last first, about `chunkBytes` of them per step (see the top). */
async function* gzipLinesBackward(file: string, chunkBytes: number): AsyncGenerator<{ lines: string[]; bytes: number }> {
  const lines: string[] = [];
  // A chunk may end inside a character: the decoder keeps its first bytes for the next.
  const decoder = new StringDecoder('utf8');
  let rest = '';
  try {
    for await (const chunk of gunzipped(file)) {
      const parts = (rest + decoder.write(chunk)).split('\n');
      rest = parts.pop()!;
      lines.push(...parts);
    }
  } catch {
    // Damaged: what came before is read, the rest counted as one unreadable line.
    rest = '\u0000';
  }
  if (rest !== '') lines.push(rest);
  let batch: string[] = [];
  let bytes = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    batch.push(lines[i]!);
    bytes += lines[i]!.length + 1;
    if (bytes >= chunkBytes) {
      yield { lines: batch, bytes };
      batch = [];
      bytes = 0;
    }
  }
  if (batch.length > 0) yield { lines: batch, bytes };
}

/** The log's files, those that may hold the newest records first; `newest`: no record in it is newer. */
function newestFirst(file: string): { path: string; gz: boolean; newest: number }[] {
  return logFileList(file)
    .map(({ path, gz, rotated, stamp, mtimeMs }) => {
      const m = stamp ? /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)(\d{3})Z/.exec(stamp) : null;
      const newest = !rotated ? Infinity : m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!) : mtimeMs;
      return { path, gz, newest };
    })
    .sort((a, b) => b.newest - a.newest);
}

/**
 * How far before the oldest match shown its cycle's first record is looked for (it names who started
 * the cycle; records written by workers do not): longer than any cycle runs.
 */
const INITIATOR_LOOKBACK_MS = 6 * 3_600_000;

const cycleOf = (r: AuditRecord): string => r.cycleId ?? r.planId;

export async function searchLog(file: string, match: (record: AuditRecord) => boolean, options: LogSearchOptions): Promise<LogSearchResult> {
  const { limit } = options;
  const since = options.since?.getTime() ?? -Infinity;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  let found: { record: AuditRecord; at: number }[] = [];
  let matched = 0;
  let unreadable = 0;
  let bytes = 0;
  let oldestRead = Infinity;
  let exhaustive = true;
  let budgetSpent = false;
  /** False once the newest matches are known: reading goes on only for their cycles' initiators. */
  let matching = true;
  const initiators = new Map<string, { initiator: Initiator; by?: string }>();
  /** Records older than this cannot be among the newest `limit` matches. */
  const floor = (): number => {
    if (found.length < limit) return since;
    found.sort((a, b) => b.at - a.at);
    found = found.slice(0, limit);
    return Math.max(since, found[limit - 1]!.at);
  };
  /** Matching ends at records older than `before`; `exhaustive` unless it was the limit that ended it. */
  const endMatching = (before: number): void => {
    exhaustive &&= !(found.length >= limit && before >= since);
    matching = false;
  };
  /** Whether records older than `before` may still name a shown record's initiator. */
  const initiatorsWanted = (before: number): boolean => {
    const unnamed = found.filter((f) => !f.record.initiator && !initiators.has(cycleOf(f.record)));
    return unnamed.length > 0 && before >= Math.min(...unnamed.map((f) => f.at)) - INITIATOR_LOOKBACK_MS;
  };

  files: for (const { path, gz, newest } of newestFirst(file)) {
    // Files come newest first: once one cannot hold a wanted match, no later one can.
    if (matching && newest < floor()) endMatching(newest);
    if (!matching && !initiatorsWanted(newest)) break;
    /** This file's records from here on are older than any wanted match. */
    let pastMatches = !matching;
    for await (const chunk of gz ? gzipLinesBackward(path, chunkBytes) : linesBackward(path, chunkBytes)) {
      bytes += chunk.bytes;
      let last = Infinity;
      for (const line of chunk.lines) {
        const record = parseLogLine(line);
        if (record === 'blank') continue;
        if (!record) {
          unreadable++;
          continue;
        }
        const at = Date.parse(record.time);
        last = Math.min(last, at);
        if (record.initiator) initiators.set(cycleOf(record), { initiator: record.initiator, ...(record.by ? { by: record.by } : {}) });
        if (!pastMatches && match(record)) {
          matched++;
          found.push({ record, at });
        }
      }
      if (!pastMatches) {
        oldestRead = Math.min(oldestRead, last);
        if (last < floor()) {
          pastMatches = true;
          exhaustive &&= !(found.length >= limit && last >= since);
        }
      }
      if (pastMatches && !initiatorsWanted(last)) continue files;
      if (bytes >= maxBytes) {
        // Out of budget while matches may remain: say how far back the search got.
        budgetSpent = !pastMatches;
        exhaustive &&= pastMatches;
        break files;
      }
    }
  }
  floor();
  const records = found.sort((a, b) => b.at - a.at).map(({ record }) => (record.initiator ? record : { ...record, ...initiators.get(cycleOf(record)) }));
  return {
    records,
    matched,
    exhaustive,
    ...(budgetSpent && oldestRead !== Infinity ? { searchedBackTo: new Date(oldestRead).toISOString() } : {}),
    unreadable,
  };
}

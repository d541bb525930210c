/**
 * Reads the provisioning log back: every file of it (rotated by the tool or by logrotate, gzipped
 * or not, and one per host), oldest record first. A reader that follows the log keeps, per file (by inode, since rotation renames the active
 * file), how far it has read, so a poll returns only records appended since; a line not yet ended
 * by its newline waits for the next poll.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import type { AuditRecord, Initiator } from './audit-sink.js';
import { gunzipped, logFileList } from './log-files.js';

export interface LogBatch {
  records: AuditRecord[];
  /** Lines that are not records, with their file and line number (the first few of each file: see `unreadable`). */
  problems: string[];
  /** How many lines were not records, all of them. */
  unreadable: number;
}

/** Lines that are not records named one by one per file (a damaged file could hold millions); the rest are counted. */
const PROBLEMS_PER_FILE = 20;

/** Bytes read from a file at a time: the log can be a gigabyte (20 rotated files of 50 MB by default). */
const CHUNK_BYTES = 4 * 1024 * 1024;

interface FileProgress {
  offset: number;
  line: number;
}

/**
 * A line of the log as its record: 'blank' for an empty line, undefined for one that is not a record
 * (not JSON, or without what every record has: a time that parses, its target and action). A time
 * that does not parse would order nowhere: readers sort and stop early by it.
 */
export function parseLogLine(line: string): AuditRecord | 'blank' | undefined {
  if (line.trim() === '') return 'blank';
  let r: Partial<AuditRecord> | null | undefined;
  try {
    r = JSON.parse(line) as Partial<AuditRecord> | null;
  } catch {
    return undefined;
  }
  return !!r && typeof r === 'object' && typeof r.time === 'string' && !Number.isNaN(Date.parse(r.time)) && typeof r.target === 'string' && typeof r.action === 'string' ? (r as AuditRecord) : undefined;
}

export class LogReader {
  private readonly progress = new Map<number, FileProgress>();
  /** Reads done: the first reads everything, later ones what was appended since. */
  private reads = 0;
  /** Who started each cycle, as its own records say (worker records do not): given to those that do not. */
  private readonly initiators = new Map<string, { initiator: Initiator; by?: string }>();

  constructor(private readonly file: string) {}

  /**
   * Records appended since the last call (all of them the first time), in time order; with `keep`,
   * only those it keeps, chosen as they are read, so that a query over a large log holds its
   * matches, not the whole log.
   */
  async read(keep?: (record: AuditRecord) => boolean): Promise<LogBatch> {
    const batch: LogBatch = { records: [], problems: [], unreadable: 0 };
    for (const file of logFileList(this.file)) {
      if (file.gz) await this.readGzip(file.path, batch, keep);
      else this.readFile(file.path, batch, keep);
    }
    this.reads++;
    batch.records.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    for (const r of batch.records) if (!r.initiator) Object.assign(r, this.initiators.get(r.cycleId ?? r.planId));
    return batch;
  }

  private readFile(file: string, batch: LogBatch, keep: ((record: AuditRecord) => boolean) | undefined): void {
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch {
      return; // Rotated away or pruned since it was listed: its records are read under its new name.
    }
    try {
      const stat = fstatSync(fd);
      const seen = this.progress.get(stat.ino) ?? { offset: 0, line: 0 };
      if (stat.size < seen.offset) Object.assign(seen, { offset: 0, line: 0 });
      this.progress.set(stat.ino, seen);
      let named = 0;
      let chunk = Buffer.alloc(Math.min(CHUNK_BYTES, stat.size - seen.offset));
      while (seen.offset < stat.size) {
        const wanted = Math.min(chunk.length, stat.size - seen.offset);
        let got = 0;
        while (got < wanted) {
          const n = readSync(fd, chunk, got, wanted - got, seen.offset + got);
          if (n === 0) break;
          got += n;
        }
        // Whole lines only: a line cut by the chunk is read again with the next one, and one not
        // yet ended by its newline (being written) waits for the next read.
        const end = chunk.subarray(0, got).lastIndexOf(0x0a) + 1;
        if (end === 0) {
          // A line longer than the chunk: a bigger chunk, unless the file holds no more of it yet.
          if (got < chunk.length || seen.offset + got >= stat.size) break;
          chunk = Buffer.alloc(chunk.length * 2);
          continue;
        }
        for (const line of chunk.subarray(0, end).toString('utf8').split('\n').slice(0, -1)) {
          seen.line++;
          if (!this.take(line, batch, keep)) named = this.unreadable(`${file}:${seen.line}`, named, batch);
        }
        seen.offset += end;
        // Back to the usual size once a long line is read: every later chunk would be decoded as one string that large.
        if (chunk.length > CHUNK_BYTES) chunk = Buffer.alloc(CHUNK_BYTES);
      }
      this.moreUnreadable(file, named, batch);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * A compressed rotated file (logrotate's `compress`, or the tool's files gzipped by a cron job):
   * decompressed as a stream, a chunk at a time, and read once (it is never appended to). A last
   * line without its newline is read as it is: nothing will complete it.
   */
  private async readGzip(file: string, batch: LogBatch, keep: ((record: AuditRecord) => boolean) | undefined): Promise<void> {
    let ino: number;
    try {
      ino = statSync(file).ino;
    } catch {
      return; // pruned since it was listed
    }
    if (this.progress.has(ino)) return;
    this.progress.set(ino, { offset: 0, line: 0 });
    // Compressed after the first read (a follow): the records of a file already read under its
    // uncompressed name (the same inode until gzip replaced it), not to be shown twice.
    if (this.reads > 0) return;
    let line = 0;
    let named = 0;
    let rest: Buffer = Buffer.alloc(0);
    const one = (bytes: Buffer) => {
      line++;
      if (!this.take(bytes.toString('utf8'), batch, keep)) named = this.unreadable(`${file}:${line}`, named, batch);
    };
    try {
      for await (const chunk of gunzipped(file)) {
        // Split on bytes: a newline is never part of a UTF-8 sequence.
        const text = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
        let start = 0;
        for (let end = text.indexOf(0x0a); end !== -1; end = text.indexOf(0x0a, start)) {
          one(text.subarray(start, end));
          start = end + 1;
        }
        rest = Buffer.from(text.subarray(start));
      }
      if (rest.length > 0) one(rest);
    } catch (error) {
      batch.unreadable++;
      batch.problems.push(`${file}: cannot be decompressed after line ${line} (${(error as Error).message}); the rest of it is skipped`);
    }
    this.moreUnreadable(file, named, batch);
  }

  /** Keeps the record `line` holds, as `keep` says; false when it holds none. */
  private take(line: string, batch: LogBatch, keep: ((record: AuditRecord) => boolean) | undefined): boolean {
    const record = parseLogLine(line);
    if (record === 'blank') return true;
    if (!record) return false;
    // Who started each cycle, from every record read: a kept record may not say it itself.
    if (record.initiator) this.initiators.set(record.cycleId ?? record.planId, { initiator: record.initiator, ...(record.by ? { by: record.by } : {}) });
    if (!keep || keep(record)) batch.records.push(record);
    return true;
  }

  /** Counts a line that is not a record at `where` (file:line), named if it is among the file's first few; the file's count so far is `named`. */
  private unreadable(where: string, named: number, batch: LogBatch): number {
    batch.unreadable++;
    if (named < PROBLEMS_PER_FILE) batch.problems.push(`${where}: not a log record (skipped)`);
    return named + 1;
  }

  private moreUnreadable(file: string, named: number, batch: LogBatch): void {
    if (named > PROBLEMS_PER_FILE) batch.problems.push(`${file}: ${named - PROBLEMS_PER_FILE} more lines that are not log records (skipped)`);
  }
}

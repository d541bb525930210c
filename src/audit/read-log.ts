/**
 * Reads the provisioning log back: every file of it (rotated by the tool or by logrotate, gzipped
 * or not, and one per host), oldest record first. A reader that follows the log keeps, per file (by inode, since rotation renames the active
 * file), how far it has read, so a poll returns only records appended since; a line not yet ended
 * by its newline waits for the next poll.
 *
 * An inode alone does not say the content is the one read: logrotate's `copytruncate` empties the
 * file in place and writing starts again at its beginning (by the next poll it may hold more than
 * was read, so a smaller size does not tell), and an inode freed by a pruned file is given to the
 * next one made. So each file's progress also holds its first line as read, and holds only while
 * the file still starts with it; and a file first seen starting with the first line of another,
 * read up to some point, is that one's copy, read on from there (copytruncate's copy would
 * otherwise print everything again).
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

/** At most this much of a file's first line identifies its content (a record's first line holds its time, to the millisecond). */
const HEAD_BYTES = 4096;

interface FileProgress {
  offset: number;
  line: number;
  /** The file's first line with its newline (its first HEAD_BYTES if longer), as read. */
  head: Buffer;
}

/** Reads up to `length` bytes at `position` into the start of `buffer`, as many as the file holds: how many it read. */
function readAt(fd: number, buffer: Buffer, length: number, position: number): number {
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buffer, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** The start of an open file: its first line, cut after the newline, or all there is of it up to HEAD_BYTES; `whole` when that identifies it. */
function fileStart(fd: number, size: number): { bytes: Buffer; whole: boolean } {
  const buffer = Buffer.alloc(Math.min(size, HEAD_BYTES));
  const got = readAt(fd, buffer, buffer.length, 0);
  const newline = buffer.subarray(0, got).indexOf(0x0a);
  if (newline !== -1) return { bytes: buffer.subarray(0, newline + 1), whole: true };
  return { bytes: buffer.subarray(0, got), whole: got === HEAD_BYTES };
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
  /** Compressed files read (by inode): each is read once. */
  private readonly gzipRead = new Set<number>();
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
      const seen = this.progressOf(stat.ino, fileStart(fd, stat.size));
      // Nothing past what was read (a copy still being written may even be shorter).
      if (!seen || stat.size <= seen.offset) return;
      let named = 0;
      let chunk = Buffer.alloc(Math.min(CHUNK_BYTES, stat.size - seen.offset));
      while (seen.offset < stat.size) {
        const got = readAt(fd, chunk, Math.min(chunk.length, stat.size - seen.offset), seen.offset);
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
   * Where to go on reading the file `ino` that starts with `start`; undefined while it holds no
   * whole line that says which content it is (just made, emptied by copytruncate, or being copied),
   * when there is nothing to read yet. Read up to some point, it goes on from there while it starts
   * as it did (a copy still being written may be shorter than that point: nothing is read until it
   * is not). Otherwise, new content: read from its start, or, starting as another file read up to
   * some point starts, a copy of that one, read on from the furthest point it was read to.
   */
  private progressOf(ino: number, start: { bytes: Buffer; whole: boolean }): FileProgress | undefined {
    const known = this.progress.get(ino);
    if (known) {
      const same = start.bytes.length <= known.head.length && known.head.subarray(0, start.bytes.length).equals(start.bytes);
      if (same) return start.whole ? known : undefined;
      this.progress.delete(ino);
    }
    if (!start.whole) return undefined;
    let copied: FileProgress | undefined;
    for (const other of this.progress.values()) if (other.head.equals(start.bytes) && other.offset > (copied?.offset ?? -1)) copied = other;
    const seen = { offset: copied?.offset ?? 0, line: copied?.line ?? 0, head: Buffer.from(start.bytes) };
    this.progress.set(ino, seen);
    return seen;
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
    if (this.gzipRead.has(ino)) return;
    this.gzipRead.add(ino);
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

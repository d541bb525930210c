/**
 * Reads the provisioning log back: every file of it (rotated, and one per host), oldest record
 * first. A reader that follows the log keeps, per file (by inode, since rotation renames the active
 * file), how far it has read, so a poll returns only records appended since; a line not yet ended
 * by its newline waits for the next poll.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { AuditRecord, Initiator } from './audit-sink.js';
import { logFiles } from './log-files.js';

export interface LogBatch {
  records: AuditRecord[];
  /** Lines that are not records, with their file and line number. */
  problems: string[];
}

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
  /** Who started each cycle, as its own records say (worker records do not): given to those that do not. */
  private readonly initiators = new Map<string, { initiator: Initiator; by?: string }>();

  constructor(private readonly file: string) {}

  /** Records appended since the last call (all of them the first time), in time order. */
  read(): LogBatch {
    const batch: LogBatch = { records: [], problems: [] };
    for (const file of logFiles(this.file)) this.readFile(file, batch);
    batch.records.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    for (const r of batch.records) {
      const cycle = r.cycleId ?? r.planId;
      if (r.initiator) this.initiators.set(cycle, { initiator: r.initiator, ...(r.by ? { by: r.by } : {}) });
    }
    for (const r of batch.records) if (!r.initiator) Object.assign(r, this.initiators.get(r.cycleId ?? r.planId));
    return batch;
  }

  private readFile(file: string, batch: LogBatch): void {
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
      const bytes = Buffer.alloc(stat.size - seen.offset);
      for (let done = 0; done < bytes.length; ) {
        const n = readSync(fd, bytes, done, bytes.length - done, seen.offset + done);
        if (n === 0) break;
        done += n;
      }
      const end = bytes.lastIndexOf(0x0a) + 1;
      for (const line of bytes.subarray(0, end).toString('utf8').split('\n').slice(0, -1)) {
        seen.line++;
        const record = parseLogLine(line);
        if (record === 'blank') continue;
        if (record) batch.records.push(record);
        else batch.problems.push(`${file}:${seen.line}: not a log record (skipped)`);
      }
      seen.offset += end;
      this.progress.set(stat.ino, seen);
    } finally {
      closeSync(fd);
    }
  }
}

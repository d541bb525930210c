/**
 * The files of the provisioning log: the active file each process appends to, the rotated ones
 * beside it (`audit.20261130T014907123Z.jsonl`), and retention. `{host}` in the configured path
 * names one file per host, so that workers on several hosts sharing a directory never append to
 * the same file (O_APPEND does not keep writes whole across hosts on a network filesystem);
 * processes on one host share their file, a batch per write (state/line-appender.ts).
 */
import { createReadStream, fstatSync, readdirSync, renameSync, statSync, unlinkSync, existsSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { hostname } from 'node:os';
import { basename, dirname, extname, join } from 'node:path';

export interface RotationSettings {
  /** Megabytes; 0: never by size. */
  maxFileMB: number;
  rotateDaily: boolean;
  /** Rotated files kept; 0: none. */
  retainFiles: number;
  /** Days; 0: no age limit. */
  retainDays: number;
}

const HOST = '{host}';
const STAMP = '\\.\\d{8}T\\d{9}Z(?:-\\d+)?';
/** Longest the rotation goes on what it last saw of the file before looking again (LogRotation.due). */
const RECHECK_MS = 1_000;
const DAY_MS = 86_400_000;

/** The file this process appends to: `{host}` replaced by this host's name, made safe for a file name. */
export function activeLogFile(file: string): string {
  return file.split(HOST).join(hostname().replace(/[^A-Za-z0-9._-]/g, '_'));
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Matches the names of `file`'s family in its directory (`audit*.jsonl*`): the active file(s), the
 * tool's rotated ones (group 1: the stamp), logrotate's (`audit.jsonl.1`, group 2: the number;
 * `audit.jsonl-20261130`, group 3: the date), each perhaps compressed (group 4: `.gz`).
 */
function familyPattern(file: string): RegExp {
  const ext = extname(file);
  const stem = basename(file, ext);
  return new RegExp(`^${stem.split(HOST).map(escape).join('.+?')}(${STAMP})?${escape(ext)}(?:\\.(\\d+)|-(\\d{8,10}))?(\\.gz)?$`);
}

export interface LogFile {
  path: string;
  /** Moved aside (by the tool or by logrotate): nothing is appended to it any more. */
  rotated: boolean;
  /** Moved aside by the tool: its stamp (`20261130T014907123Z`), the time it was moved, which retention prunes by. */
  stamp?: string;
  /** gzip-compressed. */
  gz: boolean;
  /** When it was last written, ms: for a rotated file, no record in it is newer (a clock that jumped aside). */
  mtimeMs: number;
}

/**
 * Every file of the log `file` (`{host}` matching any host), oldest first: rotated files by when
 * they were last written (the tool's stamps and logrotate's numbers or dates name different
 * clocks; for files written in the same millisecond, the older stamp, the higher number or the
 * older date first), then the active ones. Missing directory: none.
 */
export function logFileList(file: string): LogFile[] {
  const dir = dirname(file);
  if (!existsSync(dir)) return [];
  const pattern = familyPattern(file);
  const found = readdirSync(dir).flatMap((name) => {
    const m = pattern.exec(name);
    if (!m) return [];
    const path = join(dir, name);
    let mtimeMs: number;
    try {
      mtimeMs = statSync(path).mtimeMs;
    } catch {
      return []; // rotated away or pruned meanwhile
    }
    const [, stamp, number, date, gz] = m;
    const rotated = !!(stamp || number || date || gz);
    // Within one millisecond: older first, as each kind of name says.
    const order = stamp ? stamp : number ? `${String(1e9 - Number(number)).padStart(10, '0')}` : (date ?? '');
    return [{ path, rotated, gz: !!gz, mtimeMs, order, ...(stamp ? { stamp: stamp.slice(1) } : {}) }];
  });
  const key = (f: (typeof found)[number]) => [f.rotated ? 0 : 1, f.rotated ? f.mtimeMs : 0, f.order, f.path] as const;
  found.sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
    return 0;
  });
  return found.map(({ order: _, ...f }) => f);
}

/** The paths of logFileList. */
export function logFiles(file: string): string[] {
  return logFileList(file).map((f) => f.path);
}

/** The decompressed bytes of a gzipped file, a chunk at a time; a read or decompression error ends the iteration with it. */
export function gunzipped(file: string): AsyncIterable<Buffer> {
  const gunzip = createGunzip();
  const input = createReadStream(file);
  input.on('error', (error) => gunzip.destroy(error));
  return input.pipe(gunzip);
}

function stampOf(now: Date): string {
  return now.toISOString().replace(/[-:.]/g, '');
}

/**
 * The rotation policy of one active file, for LineAppender: `due` moves the file aside when the
 * next batch would take it past the size limit, or when it was last written on an earlier UTC day,
 * then removes rotated files beyond the retention. A rotation that fails (a read-only directory)
 * leaves the file as it is: records are never dropped for the sake of rotation.
 */
export class LogRotation {
  /**
   * What the last look at the open file found, for the writes that follow it: the file's size since
   * (what it was plus what this process wrote), on which descriptor, on which UTC day, and when.
   */
  private known: { fd: number; size: number; day: number; at: number } | undefined;

  constructor(
    private readonly file: string,
    private readonly settings: RotationSettings,
    private readonly now: () => Date = () => new Date(),
  ) {}

  due(fd: number, bytes: number): boolean {
    const now = this.now();
    const at = now.getTime();
    // Days since the epoch: the UTC date toISOString() gives, without making two Dates and two
    // strings for every write of a run.
    const day = Math.floor(at / DAY_MS);
    const limit = this.settings.maxFileMB * 1024 * 1024;
    const known = this.known;
    // An fstat for every write was 3% of an apply. Between looks (at most RECHECK_MS apart, on one
    // UTC day, the file found not due) the size is the last one seen plus this process's writes;
    // another process appending (workers sharing the log) is counted at the next look, so a file
    // may pass maxFileMB by a second of their records. A rotation forgets it (the new file may get
    // the same descriptor number).
    if (known && known.fd === fd && known.day === day && at - known.at < RECHECK_MS && (limit <= 0 || known.size + bytes <= limit)) {
      known.size += bytes;
      return false;
    }
    this.known = undefined;
    try {
      const open = fstatSync(fd);
      if (!open.isFile() || open.size === 0) return false;
      const full = limit > 0 && open.size + bytes > limit;
      // Last written on an earlier UTC day.
      const stale = this.settings.rotateDaily && Math.floor(open.mtimeMs / DAY_MS) < day;
      if (!full && !stale) {
        this.known = { fd, size: open.size + bytes, day, at };
        return false;
      }
      // Another process on this host rotated it first: write to the new file.
      if (statSync(this.file).ino !== open.ino) return true;
      const rotated = this.rotatedName(now);
      renameSync(this.file, rotated);
      this.prune(rotated);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * A name no file has yet: rename would replace one, and a batch larger than a file rotates several
   * times within a millisecond (the stamp's resolution), as another process may at the same time.
   */
  private rotatedName(now: Date): string {
    const ext = extname(this.file);
    const base = join(dirname(this.file), `${basename(this.file, ext)}.${stampOf(now)}`);
    if (!existsSync(`${base}${ext}`)) return `${base}${ext}`;
    for (let k = 1; ; k++) {
      const name = `${base}-${process.pid}${k === 1 ? '' : k}${ext}`;
      if (!existsSync(name)) return name;
    }
  }

  /**
   * Removes rotated files past the retention. A clock that jumped ahead (a bad NTP answer, a wrong
   * RTC) must not delete the history: files are ranked by when they were last written (not by the
   * stamp in their names, which such a clock wrote), ages are counted back from the newest record no
   * later than now, and the newest `retainDays` files are never removed by age. A log rotated at most
   * once a day holds no file younger than `retainDays` past those, whatever the clock said when it
   * wrote them. The file just rotated (`kept`) stays unless `retainFiles` is 0.
   */
  private prune(kept: string): void {
    // The tool's own rotated files (compressed too): logrotate's are logrotate's to keep.
    const rotated = logFileList(this.file)
      .filter((f) => f.stamp !== undefined && f.path !== this.file)
      .map((f) => ({ f: f.path, mtime: f.mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime);
    const { retainFiles, retainDays } = this.settings;
    const now = this.now().getTime();
    const reference = rotated.find((r) => r.mtime <= now)?.mtime ?? now;
    const oldest = reference - retainDays * DAY_MS;
    rotated.forEach(({ f, mtime }, i) => {
      const count = i + 1;
      if (f === kept && retainFiles > 0) return;
      try {
        if (count > retainFiles || (retainDays > 0 && count > retainDays && mtime < oldest)) unlinkSync(f);
      } catch {
        // Removed by another process already.
      }
    });
  }
}

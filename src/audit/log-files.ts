/**
 * The files of the provisioning log: the active file each process appends to, the rotated ones
 * beside it (`audit.20261130T014907123Z.jsonl`), and retention. `{host}` in the configured path
 * names one file per host, so that workers on several hosts sharing a directory never append to
 * the same file (O_APPEND does not keep writes whole across hosts on a network filesystem);
 * processes on one host share their file, a batch per write (state/line-appender.ts).
 */
import { fstatSync, readdirSync, renameSync, statSync, unlinkSync, existsSync } from 'node:fs';
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
const DAY_MS = 86_400_000;

/** The file this process appends to: `{host}` replaced by this host's name, made safe for a file name. */
export function activeLogFile(file: string): string {
  return file.split(HOST).join(hostname().replace(/[^A-Za-z0-9._-]/g, '_'));
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Matches the names of `file`'s family in its directory: the active file(s) and the rotated ones (group 1: the stamp). */
function familyPattern(file: string): RegExp {
  const ext = extname(file);
  const stem = basename(file, ext);
  return new RegExp(`^${stem.split(HOST).map(escape).join('.+?')}(${STAMP})?${escape(ext)}$`);
}

/**
 * Every file of the log `file` (`{host}` matching any host), oldest first: rotated files by their
 * stamp, then the active ones. Missing directory: none.
 */
export function logFiles(file: string): string[] {
  const dir = dirname(file);
  if (!existsSync(dir)) return [];
  const pattern = familyPattern(file);
  const found = readdirSync(dir).flatMap((name) => {
    const m = pattern.exec(name);
    return m ? [{ name, stamp: m[1] ? m[1].slice(1) : '~' }] : [];
  });
  return found.sort((a, b) => (a.stamp === b.stamp ? a.name.localeCompare(b.name) : a.stamp < b.stamp ? -1 : 1)).map((f) => join(dir, f.name));
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
  constructor(
    private readonly file: string,
    private readonly settings: RotationSettings,
    private readonly now: () => Date = () => new Date(),
  ) {}

  due(fd: number, bytes: number): boolean {
    try {
      const open = fstatSync(fd);
      if (!open.isFile() || open.size === 0) return false;
      const now = this.now();
      const full = this.settings.maxFileMB > 0 && open.size + bytes > this.settings.maxFileMB * 1024 * 1024;
      // Last written on an earlier UTC day (days since the epoch: the date toISOString() gives, without
      // making two Dates and two strings for every write of a run).
      const stale = this.settings.rotateDaily && Math.floor(open.mtimeMs / DAY_MS) < Math.floor(now.getTime() / DAY_MS);
      if (!full && !stale) return false;
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

  private rotatedName(now: Date): string {
    const ext = extname(this.file);
    const base = join(dirname(this.file), `${basename(this.file, ext)}.${stampOf(now)}`);
    return existsSync(`${base}${ext}`) ? `${base}-${process.pid}${ext}` : `${base}${ext}`;
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
    const rotated = logFiles(this.file)
      .filter((f) => f !== this.file)
      .flatMap((f) => {
        try {
          return [{ f, mtime: statSync(f).mtimeMs }];
        } catch {
          return [];
        }
      })
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

/**
 * Audit records that could not be written to the log (a full disk): when the log is a regular file,
 * they are kept in a spill file elsewhere, under the system's temporary directory (usually another filesystem than the state
 * directory; the first start that can write the log appends them back to it), and printed on stderr,
 * which cron mails, marked as what they are. The spill file is named after the log it belongs to,
 * in a directory only this user can enter (0700, checked: a temporary directory is shared).
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, lstatSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { explainCode } from '../state/state-dir.js';

/** The mark of a record on stderr: `grep '^unwritten audit record: ' | cut -c 25-` gives the JSON lines back. */
export const UNWRITTEN_MARK = 'unwritten audit record: ';

/** Where the records that `logFile` did not take are kept; `base`: default the system's temporary directory. */
export function spillFile(logFile: string, base = tmpdir()): string {
  const uid = process.getuid?.() ?? 'user';
  const id = createHash('sha256').update(resolve(logFile)).digest('hex').slice(0, 16);
  return join(base, `scim-sync-${uid}`, `unwritten-audit-${id}.jsonl`);
}

/** The spill directory, made if missing, refused unless it is ours and only ours (not a link planted there). */
function ownDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const s = lstatSync(dir);
  const uid = process.getuid?.();
  if (!s.isDirectory() || (uid !== undefined && s.uid !== uid) || (s.mode & 0o077) !== 0) throw Object.assign(new Error(`${dir} is not a private directory of this user`), { code: 'EPERM' });
}

/** Appends `lines` (whole JSON lines) to the spill file; throws what went wrong. */
export function spill(file: string, lines: string): void {
  ownDir(join(file, '..'));
  const fd = openSync(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  try {
    const bytes = Buffer.from(lines);
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done);
  } finally {
    closeSync(fd);
  }
}

/**
 * Takes what the spill file holds, to be appended to the log: renamed first, so of two processes
 * starting together one takes it. `release(rest)`: the lines of it that are not in the log (after
 * a failed append) go back to the spill file, and the taken file goes.
 */
export function takeSpill(file: string): { lines: string; release(rest: string): void } | null {
  const taken = `${file}.${process.pid}`;
  try {
    renameSync(file, taken);
  } catch {
    return null; // none (the usual case), or not ours to take
  }
  const lines = readFileSync(taken, 'utf8');
  return {
    lines,
    release: (rest) => {
      try {
        if (rest !== '') spill(file, rest);
        unlinkSync(taken);
      } catch {
        // Left as it is (`.<pid>` beside the spill file): still on disk, for a person to append.
      }
    },
  };
}

/** Counts the lines of `text` (each ends in a newline). */
export const countLines = (text: string): number => text.split('\n').length - 1;

/**
 * Where the `count` records went, for the error that ends the run: printed on stderr, and kept in
 * the spill file (its path), or not (why: the spill failed too, or the log is no file: a device or
 * a pipe, /dev/stdout in a container, whose records stay with stderr).
 */
export function unwrittenSummary(count: number, spilled: string | { error: unknown } | 'no file'): string {
  const where =
    spilled === 'no file'
      ? ' only (the log is not a regular file: nothing is kept to append to it later)'
      : typeof spilled === 'string'
        ? ` and kept in ${spilled}, appended to the log by the next start that can write it`
        : ` only (the spill file could not be written either: ${explainCode(spilled.error)})`;
  return `${count} audit record${count === 1 ? '' : 's'} could not be written to the log: printed on stderr (lines starting "${UNWRITTEN_MARK.trim()}")${where}`;
}

/**
 * Appends lines to a file (the link journal, the audit log). Lines added during one turn of the
 * event loop go out together in one synchronous write at the end of that turn: operations finish
 * many to a turn when the target answers quickly, and a write costs the same for one line as for
 * fifty. A synchronous write, not the thread pool's: a few microseconds against tens, and the batch
 * is with the operating system before the next turn starts. With O_APPEND, one batch never
 * interleaves with another process's (distributed workers share the audit log).
 *
 * A write that fails (a full disk) is not retried: the lines it did not write whole, and every line
 * appended after it, are kept, for the owner to take (`takeUnwritten`) and put somewhere else. A
 * line cut by a partial write stays torn in the file (others may have appended after it: it cannot
 * be cut back), and is kept whole; the next line written to the file starts on a new one.
 */
import { closeSync, constants, existsSync, fchmodSync, fstatSync, ftruncateSync, openSync, readSync, statSync, truncateSync, writeSync } from 'node:fs';

/**
 * Opens `file` for appending, 0600 whatever it was before: the journal and the audit log name
 * people and accounts. A file someone else owns (we may write it but not chmod it) keeps its
 * owner's choice; a device (/dev/null) is left alone.
 */
function openPrivate(file: string): number {
  // Write-only: a+ would hold a read end of a FIFO or pipe (audit.file: /dev/stdout under Docker),
  // so a reader that died would block the write forever instead of failing it (EPIPE). A named FIFO
  // is probed without blocking first: opened for writing with no reader, it would block the process.
  // The probe stays open until the real open has returned: closed before, it could be the pipe's
  // only writer, and its reader would see the end of the stream and go.
  const probe = isFifo(file) ? openSync(file, constants.O_WRONLY | constants.O_APPEND | constants.O_NONBLOCK) : null;
  let fd: number;
  try {
    fd = openSync(file, 'a', 0o600);
  } finally {
    if (probe !== null) closeSync(probe);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isFile() && (stat.mode & 0o077) !== 0) fchmodSync(fd, 0o600);
  } catch {
    // See above: not ours to change.
  }
  return fd;
}

function isFifo(file: string): boolean {
  try {
    return statSync(file).isFIFO();
  } catch {
    return false;
  }
}

/**
 * Whether the file ends in the middle of a line: a crash, a full disk or a kill mid-write leaves a
 * torn last line, and the next line appended must not continue it (the two would be lost as one).
 */
function endsTorn(fd: number, file: string): boolean {
  const stat = fstatSync(fd);
  if (!stat.isFile() || stat.size === 0) return false;
  let reader: number;
  try {
    reader = openSync(file, 'r');
  } catch {
    // Appendable but not readable (another user's file): the next line may continue a torn one.
    return false;
  }
  try {
    const last = Buffer.alloc(1);
    return readSync(reader, last, 0, 1, stat.size - 1) === 1 && last[0] !== 0x0a;
  } finally {
    closeSync(reader);
  }
}

interface Waiting {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

const NEWLINE = Buffer.from('\n');

export class LineAppender {
  private fd: number | null = null;
  private batch = '';
  private waiting: Waiting | null = null;
  private scheduled: NodeJS.Immediate | null = null;
  private failure: Error | null = null;
  /** The open file ends in a torn line: the next write starts on a fresh one. */
  private torn = false;
  /** Whole lines not written, since a write failed. */
  private unwritten = '';

  /**
   * `failed` turns a write error's code into the error callers see (naming the file); `onFailure`
   * hears of the first failed write at once, so that a run can stop taking operations.
   */
  constructor(
    private readonly file: string,
    private readonly failed: (code: string, cause: unknown) => Error,
    private readonly onFailure?: (error: Error) => void,
    /**
     * Asked before each write with the open file and the size of the batch: true when it has moved
     * the file aside (rotation), so the batch goes to a new file at the same path.
     */
    private readonly rotate?: (fd: number, bytes: number) => boolean,
  ) {}

  /** Opens the file now, so that a file that cannot be written is found before anything is done. */
  open(): void {
    try {
      this.fd ??= this.openFile();
    } catch (error) {
      throw this.failed((error as NodeJS.ErrnoException).code ?? 'error', error);
    }
  }

  /** Queues `text` (whole lines, each ending in a newline) for this turn's write. */
  append(text: string): void {
    if (this.failure) {
      this.unwritten += text;
      return;
    }
    this.batch += text;
    this.scheduled ??= setImmediate(() => this.flush());
  }

  /** Resolves once everything appended so far is written; rejects if that write failed. */
  written(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.batch === '') return Promise.resolve();
    if (!this.waiting) {
      let resolve!: () => void;
      let reject!: (error: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.waiting = { promise, resolve, reject };
    }
    return this.waiting.promise;
  }

  /** The first write error, if any: later appends are not written, so callers must look before closing. */
  get error(): Error | null {
    return this.failure;
  }

  /** The whole lines not written since a write failed (see the top), given once. */
  takeUnwritten(): string {
    const lines = this.unwritten;
    this.unwritten = '';
    return lines;
  }

  /** Writes what is queued now. */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = null;
    const waiting = this.waiting;
    this.waiting = null;
    if (this.batch === '' || this.failure) {
      if (this.failure) waiting?.reject(this.failure);
      else waiting?.resolve();
      return;
    }
    const bytes = Buffer.from(this.batch);
    this.batch = '';
    // How much of `bytes` is written: on a failure, the lines from the one it cut are kept.
    let done = 0;
    try {
      this.fd ??= this.openFile();
      // A batch that does not fit goes line by line, a new file wherever the one open is full (a
      // turn's records can be more than a whole file of maxFileMB; a file holds at least one line).
      const fits = !this.rotate?.(this.fd, bytes.length);
      if (!fits) this.reopen();
      while (done < bytes.length) {
        const end = fits ? bytes.length : bytes.indexOf(0x0a, done) + 1 || bytes.length;
        if (!fits && done > 0 && this.rotate!(this.fd, end - done)) this.reopen();
        if (this.torn) {
          for (let n = 0; n < NEWLINE.length; ) n += writeSync(this.fd, NEWLINE, n);
          this.torn = false;
        }
        while (done < end) done += writeSync(this.fd, bytes, done, end - done);
      }
    } catch (error) {
      // From the start of the line the failure cut (a newline is never inside a UTF-8 character).
      const from = done === 0 ? 0 : bytes.lastIndexOf(0x0a, done - 1) + 1;
      if (done > 0) this.torn = bytes[done - 1] !== 0x0a;
      this.unwritten += bytes.subarray(from).toString('utf8').replace(/^\n/, '');
      this.failure = this.failed((error as NodeJS.ErrnoException).code ?? 'error', error);
      this.onFailure?.(this.failure);
      waiting?.reject(this.failure);
      return;
    }
    waiting?.resolve();
  }

  private reopen(): void {
    // Forgotten before it is closed: an open that fails must not leave a closed number here, which
    // close() would close again (by then, perhaps another file's).
    const old = this.fd!;
    this.fd = null;
    closeSync(old);
    this.fd = this.openFile();
  }

  private openFile(): number {
    const fd = openPrivate(this.file);
    this.torn = endsTorn(fd, this.file);
    return fd;
  }

  /** Writes what is queued, then empties the file. */
  truncate(): void {
    this.flush();
    try {
      if (this.fd !== null) ftruncateSync(this.fd, 0);
      else if (existsSync(this.file)) truncateSync(this.file, 0);
      this.torn = false;
    } catch (error) {
      throw this.failed((error as NodeJS.ErrnoException).code ?? 'error', error);
    }
  }

  /** Writes what is queued and closes the file (it is opened again by the next append). */
  close(): void {
    this.flush();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

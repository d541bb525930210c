/**
 * The real CLI as a child process (bin/scim-sync.js, so dist/ must be built: `npm test` builds
 * first), for what only a process shows: signals, exit codes, and a file size limit (RLIMIT_FSIZE,
 * `ulimit -f`) under which writes past the limit fail with EFBIG as they would on a full disk.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TOKEN } from './harness.js';

export const BIN = fileURLToPath(new URL('../../bin/scim-sync.js', import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

export class CliProcess {
  out = '';
  err = '';
  readonly exited: Promise<Exit>;
  private readonly child: ChildProcess;

  /** `fileSizeLimitKiB`: no file the process writes may grow past this many KiB. */
  constructor(args: readonly string[], options: { fileSizeLimitKiB?: number } = {}) {
    const env = { ...process.env, TEST_SCIM_TOKEN: TOKEN };
    this.child =
      options.fileSizeLimitKiB === undefined
        ? spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn('bash', ['-c', `ulimit -f ${options.fileSizeLimitKiB} && exec "$0" "$@"`, process.execPath, BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (chunk: Buffer) => (this.out += chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.err += chunk.toString()));
    this.exited = new Promise((resolve) =>
      this.child.once('close', (code, signal) => resolve({ code, signal, out: this.out, err: this.err })),
    );
  }

  /**
   * Resolves with the first match of `pattern` in stdout or stderr (a long-running command's log),
   * as soon as it is printed; rejects after `timeoutMs` or when the process exits first.
   */
  waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(this.out) ?? pattern.exec(this.err);
        if (!m) return false;
        done();
        resolve(m);
        return true;
      };
      const timer = setTimeout(() => (done(), reject(new Error(`no ${pattern} in ${timeoutMs} ms; stdout:\n${this.out}\nstderr:\n${this.err}`))), timeoutMs);
      const onData = () => void check();
      const onClose = () => (done(), reject(new Error(`exited before printing ${pattern}; stdout:\n${this.out}\nstderr:\n${this.err}`)));
      const done = () => {
        clearTimeout(timer);
        this.child.stdout!.off('data', onData);
        this.child.stderr!.off('data', onData);
        this.child.off('close', onClose);
      };
      this.child.stdout!.on('data', onData);
      this.child.stderr!.on('data', onData);
      this.child.once('close', onClose);
      check();
    });
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

/**
 * A real process holding a staged set taken for a decision (staged-taker.ts), alive until the test
 * kills it: the approve whose machine died midway, as recovery must see it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const TAKER = fileURLToPath(new URL('./staged-taker.ts', import.meta.url));
const running = new Set<StagedTaker>();

export class StagedTaker {
  readonly pid: number;
  private readonly exited: Promise<unknown>;

  private constructor(private readonly child: ChildProcess) {
    this.pid = child.pid!;
    this.exited = new Promise((resolve) => child.once('exit', resolve));
  }

  /** Takes set `id` of the file store in `stateDir`, or of Redis (`{ url, prefix }`); resolves once it holds it. */
  static async start(store: string | { url: string; prefix: string }, id: string, timeoutMs = 20_000): Promise<StagedTaker> {
    const args = typeof store === 'string' ? ['file', store, id] : ['redis', store.url, store.prefix, id];
    const child = spawn(process.execPath, ['--import', 'tsx', TAKER, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    const taker = new StagedTaker(child);
    running.add(taker);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the taker of ${id} did not take it in ${timeoutMs} ms`)), timeoutMs);
      const settle = (error?: Error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      child.once('exit', (code) => settle(new Error(`the taker of ${id} exited (${code}) before taking it`)));
      createInterface({ input: child.stdout! }).on('line', (line) => settle(line === 'taken' ? undefined : new Error(`the taker of ${id}: ${line}`)));
    });
    return taker;
  }

  /** SIGKILL, as the OOM killer or a lost machine ends it: nothing of it runs once this resolves. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
    running.delete(this);
  }
}

/** Kills every taker a test left running (for afterEach). */
export async function killTakers(): Promise<void> {
  await Promise.all([...running].map((t) => t.kill()));
}

/**
 * Distributed-mode test support: the shared Redis (127.0.0.1:6379, started by .ci/run) with a random
 * key prefix per test, workers in this process or as real `scim-sync worker` processes, a private
 * redis-server for restart tests, and condition waits with a bounded timeout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { AuditSink } from '../../src/audit/audit-sink.js';
import { JsonlAuditSink } from '../../src/audit/jsonl-audit-sink.js';
import { loadConfig } from '../../src/config/load.js';
import { startWorkers, type WorkerHandle } from '../../src/execution/bullmq/bullmq-worker.js';
import { selectTargets } from '../../src/config/select-targets.js';
import { connectRedis } from '../../src/state/redis-connection.js';
import { TOKEN } from './harness.js';

export const REDIS_URL = process.env['SCIM_SYNC_TEST_REDIS'] ?? 'redis://127.0.0.1:6379';
const BIN = fileURLToPath(new URL('../../bin/scim-sync.js', import.meta.url));

export function randomPrefix(): string {
  return `test-${randomBytes(6).toString('hex')}`;
}

/** A `queue:` block; short stall detection so a dead worker's jobs move on quickly. */
export function queueYaml(prefix: string, url = REDIS_URL, extra = ''): string {
  return `queue:
  redis: ${url}
  prefix: ${prefix}
  lockDurationMs: 2000
  stalledIntervalMs: 500
${extra}`;
}

/** Deletes every key of a test's prefix. */
export async function cleanRedis(prefix: string, url = REDIS_URL): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** A connection to the shared Redis under a prefix of its own; `cleanups` gets what ends it (disconnect, then delete the prefix's keys). */
export function prefixedRedis(cleanups: (() => Promise<void> | void)[]): { redis: Redis; prefix: string } {
  const prefix = randomPrefix();
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  cleanups.push(async () => {
    redis.disconnect();
    await cleanRedis(prefix);
  });
  return { redis, prefix };
}

/** Polls `condition` every `everyMs` until it holds; fails after `timeoutMs` naming what it waited for. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * Workers in this process, for tests about what a worker does rather than about processes.
 * `targets`: the targets whose chunks it runs (default every enabled one; [] takes control jobs only).
 * `env`: what its config's references read besides the test token (another installation's token).
 */
export async function inProcessWorkers(configFile: string, name = 'test-worker', targets?: string[], env: NodeJS.ProcessEnv = {}): Promise<WorkerHandle & { lines: string[] }> {
  process.env['TEST_SCIM_TOKEN'] = TOKEN;
  const loaded = loadConfig(configFile, { ...process.env, ...env });
  const redis = await connectRedis(loaded.config.queue!.redis);
  const audit: AuditSink = new JsonlAuditSink(loaded.auditFile);
  const lines: string[] = [];
  const handle = await startWorkers({
    loaded,
    redis,
    targets: targets ?? selectTargets(loaded).map(([n]) => n),
    audit,
    log: (l) => lines.push(l),
    name,
  });
  return {
    lines,
    close: async () => {
      await handle.close();
      await audit.close();
      redis.disconnect();
    },
  };
}

/** A real `scim-sync worker` (or `schedule`) process (dist/ must be built: `npm test` builds first). */
/** A log line's message: a JSON log record (the process's stderr off a terminal) gives its `msg`; anything else is itself. */
export function logMessage(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const record = JSON.parse(line) as { msg?: unknown };
    return typeof record.msg === 'string' ? record.msg : line;
  } catch {
    return line;
  }
}

export class WorkerProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private listeners: (() => void)[] = [];

  constructor(configFile: string, readonly name: string, command: 'worker' | 'schedule' = 'worker') {
    this.child = spawn(process.execPath, [BIN, command, '--config', configFile, '--name', name], {
      env: { ...process.env, TEST_SCIM_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        this.lines.push(logMessage(line));
        for (const l of this.listeners) l();
      });
    }
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves once a line matches (already printed or later); rejects when the process exits first. */
  waitForLine(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.lines.find((l) => pattern.test(l));
        if (found === undefined) return false;
        cleanup();
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`worker ${this.name}: no line matching ${pattern} after ${timeoutMs} ms:\n${this.lines.join('\n')}`));
      }, timeoutMs);
      const onExit = () => {
        if (check()) return;
        cleanup();
        reject(new Error(`worker ${this.name} exited before printing ${pattern}:\n${this.lines.join('\n')}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== listener);
        this.child.off('exit', onExit);
      };
      const listener = () => void check();
      if (check()) return;
      this.listeners.push(listener);
      this.child.once('exit', onExit);
    });
  }

  ready(): Promise<string> {
    return this.waitForLine(/ ready: /);
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGTERM, then wait for the exit (a graceful worker finishes its jobs first). */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}

/** A free TCP port on loopback (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * A private redis-server (for restart tests: the shared one must stay up for other tests). It keeps
 * an append-only file in a temp folder, so a restart finds the queue where it was, as a production
 * Redis with persistence would; `persistent: false` keeps nothing, so a restart forgets everything.
 */
export class PrivateRedis {
  private child: ChildProcess | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), 'scim-sync-redis-'));

  private constructor(
    readonly port: number,
    private readonly persistent: boolean,
  ) {}

  static async start(options: { persistent?: boolean } = {}): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort(), options.persistent ?? true);
    await redis.up();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  private async up(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', ...(this.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'])],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    const lines = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('redis-server did not start in 10 s')), 10_000);
      lines.on('line', (line) => {
        if (/Ready to accept connections/.test(line)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}`));
      });
    });
  }

  /** Stops it (SIGTERM: Redis syncs its append-only file) and waits for the exit. */
  async down(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
    this.child = null;
  }

  async restart(): Promise<void> {
    await this.down();
    await this.up();
  }

  async close(): Promise<void> {
    await this.down();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

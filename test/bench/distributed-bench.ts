/**
 * Distributed throughput, measured from the start of the enqueue to the report, workers already
 * running, each measurement on a fresh sandbox in its own process:
 * - against embedded mode: 10,000 creates executed by 2 `scim-sync worker` processes, and by the
 *   inline executor, at the same concurrency per target (per worker process in distributed mode);
 * - horizontal scale: the same creates against a sandbox that answers after 50 ms (`scim-sync
 *   sandbox --latency 50`, as a real SaaS would), by 1, 2 and 4 worker processes: where the target's
 *   latency is the limit, more workers must mean proportionally more throughput.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/load.js';
import { BullmqExecutor } from '../../src/execution/bullmq/bullmq-executor.js';
import { totals } from '../../src/execution/run-report.js';
import { createTargetRuntime } from '../../src/execution/target-runtime.js';
import { acquireTargetLocks } from '../../src/state/redis-run-lock.js';
import { targetFingerprint } from '../../src/config/target-fingerprint.js';
import { cleanRedis } from '../support/distributed.js';
import { TOKEN, engineRun, makePlan, startServer, stopServer } from './apply-bench.js';

const CLI = new URL('./cli-process.js', import.meta.url).pathname;

const REDIS_URL = process.env['SCIM_SYNC_BENCH_REDIS'] ?? 'redis://127.0.0.1:6379';

export interface DistributedBenchResult {
  creates: number;
  /** Creates each side ran before being timed (steady state). */
  warmUp: number;
  workers: number;
  concurrency: number;
  embeddedOpsPerSec: number;
  bullmqOpsPerSec: number;
  /** Median of the paired per-round ratios (BullMQ / embedded, each round on fresh servers). */
  ratio: number;
  /** Each round's ratio. */
  ratios: number[];
  /** CPU time (user + system) per create, ms, median over the rounds: the inline executor's process, and the worker processes together. */
  embeddedCpuMsPerCreate: number;
  workersCpuMsPerCreate: number;
}

export interface ScalingBenchResult {
  creates: number;
  latencyMs: number;
  concurrency: number;
  /** Worker processes -> ops/s, median over the rounds. */
  opsPerSec: Record<number, number>;
  /** Throughput of the most workers over one worker: median of the per-round ratios, and each round's. */
  speedup: number;
  speedups: number[];
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** CPU time (user + system) a process has used so far, ms, from /proc (Linux's clock ticks are 10 ms). */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** WORKER_NODE_ARGS: node options for the workers only, e.g. `--cpu-prof --cpu-prof-dir=<dir>` (not allowed in NODE_OPTIONS). */
const workerProfile = process.env['WORKER_NODE_ARGS']?.split(' ').filter(Boolean) ?? [];

function startWorker(config: string, name: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...workerProfile, new URL('./worker-process.js', import.meta.url).pathname, config, name], {
    env: { ...process.env, BENCH_TOKEN: TOKEN },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  // The worker's log is on stderr: watched for its ready line, and passed on.
  const lines = createInterface({ input: child.stderr! });
  return new Promise((resolve, reject) => {
    lines.on('line', (line) => {
      process.stderr.write(`${line}\n`);
      if (line.includes('ready: targets')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`bench worker exited with ${code}`)));
  });
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** `scim-sync sandbox --latency <ms>` as a process, on a free port. */
async function startSlowSandbox(latencyMs: number): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [CLI, 'sandbox', '--port', '0', '--latency', String(latencyMs), '--token-env', 'BENCH_TOKEN'], {
    env: { ...process.env, BENCH_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      const m = /listening on (\S+)/.exec(line);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`sandbox exited with ${code}`)));
  });
  return { url, child };
}

/**
 * Steady state on both sides: before the timed plan, the workers run a cycle of other people as
 * large as it (uncounted; WARM_UP sets another size), and so does the inline executor once before
 * the first round. A `scim-sync worker` lives through many cycles; started fresh for each round, it
 * compiles its hot code (JIT) inside its first ones, while the inline executor runs in a process
 * warmed by every earlier row and round. With 3,000 creates of warm-up (about 1,500 per worker) the
 * workers still spent 0.02 to 0.03 ms of CPU per create more than after 10,000, and a 20,000 warm-up
 * is a little warmer yet: the row is of workers after one cycle like the timed one, not of fully
 * warm ones. WARM_UP=0 measures fresh workers.
 */
const warmUpOf = (n: number): number => (process.env['WARM_UP'] !== undefined ? Number(process.env['WARM_UP']) : n);

async function bullmqRun(url: string, plan: ReturnType<typeof makePlan>, concurrency: number, workers: number, cpu: number[] = [], warmUp = 0): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-dist-'));
  const prefix = `bench-${randomBytes(5).toString('hex')}`;
  const config = join(dir, 'org.yaml');
  writeFileSync(join(dir, 'people.csv'), 'id\n');
  writeFileSync(
    config,
    `version: 1
state: { dir: state }
source: { type: csv, path: people.csv, key: id }
targets:
  bench:
    url: ${url}
    auth: { type: bearer, token: "\${env:BENCH_TOKEN}" }
    concurrency: ${concurrency}
queue:
  redis: ${REDIS_URL}
  prefix: ${prefix}
`,
  );
  process.env['BENCH_TOKEN'] = TOKEN;
  const loaded = loadConfig(config);
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const children: ChildProcess[] = [];
  try {
    for (let i = 0; i < workers; i++) children.push(await startWorker(config, `bench-${i + 1}`));
    const runtime = createTargetRuntime('bench', loaded.config.targets['bench']!);
    // Each plan says where the planner points the target, as a real plan does; that fingerprint is
    // made when planning (a key derivation of the credential, about 0.1 s), so before the timing.
    const bound = (p: ReturnType<typeof makePlan>, id: string) => ({ ...p, id, binding: { ...p.binding, targets: { bench: targetFingerprint(loaded.config.targets['bench']!, id) } } });
    // Each cycle under its own lock, as the planner takes one per cycle (the workers free it when the cycle ends).
    const cycle = async (p: ReturnType<typeof bound>) => {
      const { locks } = await acquireTargetLocks(redis, prefix, ['bench']);
      try {
        const executor = new BullmqExecutor({ redis, queue: loaded.config.queue!, safety: loaded.config.safety, locks, wait: true, pollMs: 20 });
        return await executor.execute(p, new Map([['bench', runtime]]));
      } finally {
        await locks.release();
      }
    };
    if (warmUp > 0) await cycle(bound(makePlan(warmUp, plan.targets[0]!.phases[0]!.operations.length), `warm-${prefix}`));
    const timed = bound(plan, `plan-${prefix}`);
    const cpuBefore = children.reduce((sum, c) => sum + cpuMsOf(c.pid!), 0);
    const start = performance.now();
    const report = await cycle(timed);
    const ms = performance.now() - start;
    cpu.push(children.reduce((sum, c) => sum + cpuMsOf(c.pid!), 0) - cpuBefore);
    const t = totals(report);
    if (t.ok !== plan.targets[0]!.phases[0]!.operations.length) throw new Error(`BullMQ run: ${t.ok} ok, ${t.failed} failed: ${report.targets[0]?.failures[0]?.message}`);
    return ms;
  } finally {
    await Promise.all(children.map(stopWorker));
    await cleanRedis(prefix, REDIS_URL);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function redisAnswers(): Promise<boolean> {
  const probe = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => null });
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/**
 * Paired rounds: each round measures both sides on fresh servers, one after the other, and gives one
 * ratio; the median ratio is reported (a busy neighbour on a shared 2-core machine disturbs a round,
 * not the verdict). The throughputs shown are the medians of each side. null when no Redis answers
 * (the benchmark then says so instead of failing).
 */
export async function distributedBench(n = 10_000, concurrency = 8, workers = 2, rounds = 5): Promise<DistributedBenchResult | null> {
  if (!(await redisAnswers())) return null;
  const plan = makePlan(n);
  const embedded: number[] = [];
  const bullmq: number[] = [];
  const embeddedCpu: number[] = [];
  const workersCpu: number[] = [];
  const warmUp = warmUpOf(n);
  if (warmUp > 0) {
    const { url, child } = await startServer();
    try {
      await engineRun(url, makePlan(warmUp, n), concurrency);
    } finally {
      await stopServer(child);
    }
  }
  // Interleaved rounds, each on a fresh server: drift on a shared machine hits both sides alike.
  for (let r = 0; r < rounds; r++) {
    for (const side of ['embedded', 'bullmq'] as const) {
      const { url, child } = await startServer();
      try {
        if (side === 'embedded') {
          const before = process.cpuUsage();
          embedded.push(await engineRun(url, plan, concurrency));
          const used = process.cpuUsage(before);
          embeddedCpu.push((used.user + used.system) / 1000);
        } else bullmq.push(await bullmqRun(url, plan, concurrency, workers, workersCpu, warmUp));
      } finally {
        await stopServer(child);
      }
    }
  }
  const ratios = embedded.map((ms, r) => ms / bullmq[r]!);
  return {
    creates: n,
    workers,
    concurrency,
    embeddedOpsPerSec: Math.round((n / median(embedded)) * 1000),
    bullmqOpsPerSec: Math.round((n / median(bullmq)) * 1000),
    ratio: median(ratios),
    ratios,
    warmUp,
    embeddedCpuMsPerCreate: median(embeddedCpu) / n,
    workersCpuMsPerCreate: median(workersCpu) / n,
  };
}

/**
 * Horizontal scale: `n` creates against a sandbox answering after `latencyMs`, by each number of
 * worker processes in `workerCounts`, every round on fresh sandboxes; the speedup of the most workers
 * over one is paired per round, the median reported. null when no Redis answers. At the default
 * concurrency (4 per worker), one worker is bound by the target's latency (80 creates/s at 50 ms)
 * and four need about half a core between them, workers, sandbox and Redis together: the measure is of
 * what more workers bring where latency is the limit, not of how many processes 2 cores can feed.
 */
export async function scalingBench(n = 4000, latencyMs = 50, concurrency = 4, workerCounts = [1, 2, 4], rounds = 3): Promise<ScalingBenchResult | null> {
  if (!(await redisAnswers())) return null;
  const plan = makePlan(n);
  const ms = new Map<number, number[]>(workerCounts.map((w) => [w, []]));
  for (let r = 0; r < rounds; r++) {
    for (const workers of workerCounts) {
      const { url, child } = await startSlowSandbox(latencyMs);
      try {
        ms.get(workers)!.push(await bullmqRun(url, plan, concurrency, workers));
      } finally {
        await stopServer(child);
      }
    }
  }
  const most = Math.max(...workerCounts);
  const speedups = ms.get(Math.min(...workerCounts))!.map((one, r) => one / ms.get(most)![r]!);
  return {
    creates: n,
    latencyMs,
    concurrency,
    opsPerSec: Object.fromEntries([...ms].map(([w, xs]) => [w, Math.round((n / median(xs)) * 1000)])),
    speedup: median(speedups),
    speedups,
  };
}

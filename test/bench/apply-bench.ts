/**
 * Apply throughput, in memory: 10,000 creates through the engine (planner output, inline executor,
 * link store, audit log) against the bare node:http keep-alive loop POSTing the same bodies with the
 * same concurrency (the limit), and the same loop through got (what the library costs alone). Each
 * measurement on a fresh sandbox in its own process, so server and client each get a core.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { JsonlAuditSink } from '../../src/audit/jsonl-audit-sink.js';
import { loadConfig } from '../../src/config/load.js';
import { createTargetRuntime } from '../../src/execution/target-runtime.js';
import { InlineExecutor } from '../../src/execution/inline-executor.js';
import { totals } from '../../src/execution/run-report.js';
import { compileScope } from '../../src/mapping/scope.js';
import { compileUserMapping } from '../../src/mapping/user-mapping.js';
import { operationsOf, type CreateUserOp } from '../../src/model/plan.js';
import { buildPlan, planTarget } from '../../src/planning/build-plan.js';
import { FileLinkStore } from '../../src/state/file-link-store.js';
import { snapshotOf, syntheticUser } from './fixtures.js';
import { bareGotCreates, bareHttpCreates } from './bare-loops.js';
import { loadNow, median, pairedRounds, round2, type Load } from './paired.js';

export const TOKEN = 'bench-token-0123456789';

/** A sandbox in its own process; `seedUsers`: holding that many seeded users (src/sandbox/seed.ts); `dataFile`: its --data. */
export async function startServer(seedUsers = 0, dataFile?: string): Promise<{ url: string; child: ChildProcess }> {
  // BENCH_SANDBOX: another build's sandbox-process.js, so two builds are measured against the same server.
  const server = process.env['BENCH_SANDBOX'] ?? new URL('./sandbox-process.js', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--max-old-space-size=4096', server], {
    env: { ...process.env, BENCH_TOKEN: TOKEN, BENCH_SEED_USERS: String(seedUsers), ...(dataFile ? { BENCH_DATA_FILE: dataFile } : {}) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`sandbox exited with ${code}`)));
  });
  return { url, child };
}

export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** `from`: the first synthetic person's index (a plan of other people than another's, for a warm-up). */
export function makePlan(n: number, from = 0) {
  const users = Array.from({ length: n }, (_, i) => syntheticUser(from + i));
  const snapshot = snapshotOf(users);
  const mapping = compileUserMapping({}, new Set(Object.keys(users[0]!.attributes)));
  const tp = planTarget(snapshot, {
    name: 'bench',
    mapping,
    inScope: compileScope(undefined),
    actualUsers: [],
    userLinks: new Map(),
    settings: { operations: { create: true, update: true, deactivate: true }, deprovision: 'deactivate', adopt: 'none', updateMethod: 'patch' },
    manager: false,
  });
  return buildPlan(snapshot, [tp], {
    id: `plan-bench-${randomUUID()}`,
    now: new Date(),
    configFile: 'bench',
    binding: { source: { type: 'csv', location: 'bench', readAt: '', contentHash: '' }, targets: {} },
    maxAgeHours: 24,
  });
}

export async function engineRun(url: string, plan: ReturnType<typeof makePlan>, concurrency: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-state-'));
  const links = await FileLinkStore.open(dir);
  const audit = new JsonlAuditSink(join(dir, 'audit.jsonl'));
  writeFileSync(join(dir, 'people.csv'), 'id\n');
  writeFileSync(
    join(dir, 'org.yaml'),
    `version: 1
source: { type: csv, path: people.csv, key: id }
targets:
  bench:
    url: ${url}
    auth: { type: bearer, token: "\${env:BENCH_TOKEN}" }
    concurrency: ${concurrency}
`,
  );
  process.env['BENCH_TOKEN'] = TOKEN;
  const loaded = loadConfig(join(dir, 'org.yaml'));
  const config = loaded.config.targets['bench']!;
  const runtime = createTargetRuntime('bench', config);
  const start = performance.now();
  const report = await new InlineExecutor({ links, audit, safety: loaded.config.safety }).execute(plan, new Map([['bench', runtime]]));
  const ms = performance.now() - start;
  await audit.close();
  rmSync(dir, { recursive: true, force: true });
  const t = totals(report);
  if (t.failed > 0) throw new Error(`engine run had ${t.failed} failures: ${report.targets[0]?.failures[0]?.message}`);
  return ms;
}

export interface ApplyBenchResult {
  creates: number;
  concurrency: number;
  rounds: number;
  /** Medians, creates per second. */
  engineOpsPerSec: number;
  httpOpsPerSec: number;
  gotOpsPerSec: number;
  /** Median of the per-round ratios engine / node:http loop, and each round's. */
  ratio: number;
  ratios: number[];
  /** Median of the per-round ratios got loop / node:http loop. */
  gotRatio: number;
  /**
   * Medians of the bench process's CPU per create while each side ran, µs: the client's own cost
   * (the server is a process of its own), what the distance between the sides is made of on a host
   * whose two cores the client and the server share.
   */
  engineCpuUs: number;
  httpCpuUs: number;
  load: Load;
}

export async function applyBench(n = 10_000, concurrency = 8, rounds = 5): Promise<ApplyBenchResult> {
  const plan = makePlan(n);
  const bodies = operationsOf(plan.targets[0]!).map((op) => (op as CreateUserOp).resource);
  const sides = {
    http: (url: string) => bareHttpCreates(url, TOKEN, bodies, concurrency),
    got: (url: string) => bareGotCreates(url, TOKEN, bodies, concurrency),
    engine: (url: string) => engineRun(url, plan, concurrency),
  };
  const before = loadNow();
  const cpuUs: Record<keyof typeof sides, number[]> = { http: [], got: [], engine: [] };
  // Paired rounds, each side on a fresh server: a round's ratio compares runs made moments apart.
  const ms = await pairedRounds(rounds, sides, async (side, name) => {
    const { url, child } = await startServer();
    try {
      const cpu = process.cpuUsage();
      const took = await side(url);
      const used = process.cpuUsage(cpu);
      cpuUs[name].push((used.user + used.system) / n);
      return took;
    } finally {
      await stopServer(child);
    }
  });
  const perSec = (xs: number[]) => Math.round((n / median(xs)) * 1000);
  const ratios = ms.engine.map((e, r) => ms.http[r]! / e);
  return {
    creates: n,
    concurrency,
    rounds,
    engineOpsPerSec: perSec(ms.engine),
    httpOpsPerSec: perSec(ms.http),
    gotOpsPerSec: perSec(ms.got),
    ratio: median(ratios),
    ratios: ratios.map(round2),
    gotRatio: median(ms.got.map((g, r) => ms.http[r]! / g)),
    engineCpuUs: Math.round(median(cpuUs.engine)),
    httpCpuUs: Math.round(median(cpuUs.http)),
    load: { before, after: loadNow(), cpus: cpus().length },
  };
}

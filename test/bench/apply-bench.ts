/**
 * Apply throughput: 10,000 creates through the engine (planner output, inline executor, link store,
 * audit log) against a bare got loop POSTing the same bodies with the same concurrency to the same
 * kind of sandbox (a fresh one for each measurement, in its own process).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import got from 'got';
import { JsonlAuditSink } from '../../src/audit/jsonl-audit-sink.js';
import { Secret } from '../../src/config/secret.js';
import { createTargetRuntime } from '../../src/execution/target-runtime.js';
import { InlineExecutor } from '../../src/execution/inline-executor.js';
import { totals } from '../../src/execution/run-report.js';
import { compileScope } from '../../src/mapping/scope.js';
import { compileUserMapping } from '../../src/mapping/user-mapping.js';
import { operationsOf, type CreateUserOp } from '../../src/model/plan.js';
import { buildPlan, planTarget } from '../../src/planning/build-plan.js';
import { FileLinkStore } from '../../src/state/file-link-store.js';
import { snapshotOf, syntheticUser } from './fixtures.js';
import type { TargetConfig } from '../../src/config/schema/index.js';

export const TOKEN = 'bench-token-0123456789';

export async function startServer(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [new URL('./sandbox-process.js', import.meta.url).pathname], {
    env: { ...process.env, BENCH_TOKEN: TOKEN },
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
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

export function makePlan(n: number) {
  const users = Array.from({ length: n }, (_, i) => syntheticUser(i));
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
  const config = {
    url,
    auth: { type: 'bearer', token: new Secret(TOKEN, 'bench') },
    timeoutMs: 30_000,
    concurrency,
    retries: 5,
    profile: 'generic',
    quirks: {},
    writeChecks: { verify: 'learn', parkAfterRuns: 3 },
  } as unknown as TargetConfig;
  const runtime = createTargetRuntime('bench', config);
  const start = performance.now();
  const report = await new InlineExecutor({ links, audit }).execute(plan, new Map([['bench', runtime]]));
  const ms = performance.now() - start;
  await audit.close();
  rmSync(dir, { recursive: true, force: true });
  const t = totals(report);
  if (t.failed > 0) throw new Error(`engine run had ${t.failed} failures: ${report.targets[0]?.failures[0]?.message}`);
  return ms;
}

async function bareRun(url: string, bodies: unknown[], concurrency: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const client = got.extend({
    agent: { http: agent },
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/scim+json', accept: 'application/scim+json' },
    retry: { limit: 0 },
  });
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++];
        await client.post(`${url}/Users`, { body: JSON.stringify(body) });
      }
    }),
  );
  const ms = performance.now() - start;
  agent.destroy();
  return ms;
}

export interface ApplyBenchResult {
  creates: number;
  concurrency: number;
  engineOpsPerSec: number;
  bareOpsPerSec: number;
  ratio: number;
}

export async function applyBench(n = 10_000, concurrency = 8, rounds = 3): Promise<ApplyBenchResult> {
  const plan = makePlan(n);
  const bodies = operationsOf(plan.targets[0]!).map((op) => (op as CreateUserOp).resource);
  const engine: number[] = [];
  const bare: number[] = [];
  // Interleaved rounds, each on a fresh server: drift on a shared machine hits both sides alike.
  for (let r = 0; r < rounds; r++) {
    for (const side of ['bare', 'engine'] as const) {
      const { url, child } = await startServer();
      try {
        if (side === 'bare') bare.push(await bareRun(url, bodies, concurrency));
        else engine.push(await engineRun(url, plan, concurrency));
      } finally {
        await stopServer(child);
      }
    }
  }
  const best = (xs: number[]) => Math.min(...xs);
  const engineOpsPerSec = (n / best(engine)) * 1000;
  const bareOpsPerSec = (n / best(bare)) * 1000;
  return { creates: n, concurrency, engineOpsPerSec: Math.round(engineOpsPerSec), bareOpsPerSec: Math.round(bareOpsPerSec), ratio: engineOpsPerSec / bareOpsPerSec };
}

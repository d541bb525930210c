/**
 * The CLI as an operator runs it, timed from spawn to exit, next to the bare node:http loops on the
 * same kind of server (a sandbox in its own process, so client and server each get a core):
 *
 * - run: `scim-sync run` creating 2,000 people from a CSV, against the bare keep-alive POST loop of
 *   the same bodies at the same concurrency, also a process of its own timed spawn to exit (so both
 *   pay for starting node); each side on a fresh sandbox, every round.
 * - plan: `scim-sync plan` of 100,000 people against a sandbox seeded with them (and a state that
 *   links them, made once by a first `run`), so nothing changes; against the bare paged GET loop of
 *   the same /Users, same page size, same pages in flight, also a process timed spawn to exit. With
 *   the plan process's peak RSS.
 *
 * Paired rounds; ratios are taken within each round and their median reported.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, stopServer, TOKEN } from './apply-bench.js';
import { bareHttpListing } from './bare-loops.js';
import { loadNow, median, pairedRounds, round2, type Load } from './paired.js';

/** BENCH_CLI: another build's cli-process.js (a baseline), measured by this harness against this build's sandbox. */
const CLI = process.env['BENCH_CLI'] ?? new URL('./cli-process.js', import.meta.url).pathname;
const RSS_PROBE = new URL('./rss-probe.js', import.meta.url).pathname;
export const BARE = new URL('./bare-process.js', import.meta.url).pathname;

/**
 * `scim-sync <args>` (or another `program`) in a fresh node process: ms from spawn to exit, its
 * output (`stdout` alone, `out` with stderr), its peak RSS and the CPU it used.
 */
export function cli(
  args: readonly string[],
  program = CLI,
  env: NodeJS.ProcessEnv = {},
): Promise<{ ms: number; code: number; out: string; stdout: string; peakRssMb: number; cpuMs: number }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, ['--import', RSS_PROBE, program, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BENCH_SCIM_TOKEN: TOKEN, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out.length < 1 << 16 ? (out += d.toString('utf8')) : undefined));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = performance.now() - start;
      const probe = /BENCH_MAX_RSS_KB=(\d+) BENCH_CPU_US=(\d+)/.exec(err);
      resolve({ ms, code: code ?? -1, out: out + err, stdout: out, peakRssMb: probe ? Math.round(Number(probe[1]) / 1024) : NaN, cpuMs: probe ? Number(probe[2]) / 1000 : NaN });
    });
  });
}

/**
 * A bare loop (bare-process.js) in a process of its own, timed spawn to exit like the CLI, with the
 * same probe: its CPU beside the CLI's says how much of the machine each side asked for.
 */
async function bareProcess(args: readonly string[]): Promise<{ ms: number; cpuMs: number; stdout: string }> {
  const r = await cli(args, BARE, { BENCH_TOKEN: TOKEN });
  if (r.code !== 0) throw new Error(`the bare loop ${args.join(' ')} exited ${r.code}: ${r.out.slice(-2000)}`);
  return r;
}

/** The bare paged GET loop of /Users in a process of its own (bare-process.js), timed spawn to exit. */
export async function bareListing(url: string, pageSize: number, concurrency: number): Promise<{ ms: number; cpuMs: number; resources: number }> {
  const { ms, cpuMs, stdout } = await bareProcess(['list', url, String(pageSize), String(concurrency)]);
  return { ms, cpuMs, resources: Number(stdout) };
}

/** A CSV of people 0..n-1 that maps onto the sandbox's seeded users unchanged, and a config for it. */
export function workspace(url: string, people: number, concurrency: number): { dir: string; config: string } {
  const dir = mkdtempSync(join(tmpdir(), 'scim-sync-cli-bench-'));
  const rows = ['employee_id,first_name,last_name,email,department'];
  for (let i = 0; i < people; i++) rows.push(`E${i},Given${i},Family${i},user${i}@seed.example,Dept ${i % 20}`);
  writeFileSync(join(dir, 'people.csv'), `${rows.join('\n')}\n`);
  mkdirSync(join(dir, 'state'));
  const config = join(dir, 'org.yaml');
  writeFileSync(
    config,
    `version: 1
state: { dir: state }
source:
  type: csv
  path: people.csv
  key: employee_id
  columns: { userName: email, email: email, givenName: first_name, familyName: last_name, department: department }
targets:
  app:
    url: ${url}
    auth: { type: bearer, token: "\${env:BENCH_SCIM_TOKEN}" }
    concurrency: ${concurrency}
`,
  );
  return { dir, config };
}

export interface CliRunResult {
  creates: number;
  concurrency: number;
  rounds: number;
  /** Medians, ms. */
  cliMs: number;
  httpMs: number;
  /** Median CPU time of the CLI process, ms (what it cost, however loaded the machine). */
  cliCpuMs: number;
  /** Median CPU time of the bare loop's process, ms. */
  httpCpuMs: number;
  /** Median of the per-round ratios node:http loop / CLI (1 = as fast as the bare loop), and each round's. */
  ratio: number;
  ratios: number[];
  load: Load;
}

export async function cliRunBench(creates = 2_000, concurrency = 8, rounds = 5): Promise<CliRunResult> {
  const before = loadNow();
  const cpu: number[] = [];
  const httpCpu: number[] = [];
  const ms = await pairedRounds(rounds, { http: 'http', cli: 'cli' } as const, async (side) => {
    const { url, child } = await startServer();
    try {
      if (side === 'http') {
        const bare = await bareProcess([url, String(creates), String(concurrency)]);
        httpCpu.push(bare.cpuMs);
        return bare.ms;
      }
      const { dir, config } = workspace(url, creates, concurrency);
      try {
        const r = await cli(['run', '--config', config]);
        if (r.code !== 0 || !r.out.includes(`created ${creates}`)) throw new Error(`scim-sync run exited ${r.code}: ${r.out.slice(-2000)}`);
        cpu.push(r.cpuMs);
        return r.ms;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    } finally {
      await stopServer(child);
    }
  });
  const ratios = ms.cli.map((c, r) => ms.http[r]! / c);
  return {
    creates,
    concurrency,
    rounds,
    cliMs: Math.round(median(ms.cli)),
    httpMs: Math.round(median(ms.http)),
    cliCpuMs: Math.round(median(cpu)),
    httpCpuMs: Math.round(median(httpCpu)),
    ratio: median(ratios),
    ratios: ratios.map(round2),
    load: { before, after: loadNow(), cpus: cpus().length },
  };
}

export interface CliPlanResult {
  people: number;
  pageSize: number;
  concurrency: number;
  rounds: number;
  /** Medians, ms. */
  cliMs: number;
  listingMs: number;
  /**
   * The same loop run inside this (long-lived, warmed) bench process, as the bench measured it
   * before: no node start, its JIT warm from earlier rounds. Shown beside, not the goal's yardstick.
   */
  warmListingMs: number;
  warmRatio: number;
  /** Median CPU time of the plan process, ms. */
  cliCpuMs: number;
  /** Median CPU time of the bare listing's process, ms. */
  listingCpuMs: number;
  /** Median of the per-round ratios CLI / bare paged loop (goal: at most 1.2), and each round's. */
  ratio: number;
  ratios: number[];
  /** Largest peak RSS of the plan process over the rounds, MB. */
  peakRssMb: number;
  load: Load;
}

/** `pageSize`: what the sandbox admits (behaviour.maxPageSize), which the CLI picks from discovery. */
export async function cliPlanBench(people = 100_000, concurrency = 4, rounds = 5, pageSize = 200): Promise<CliPlanResult> {
  const { url, child } = await startServer(people);
  const { dir, config } = workspace(url, people, concurrency);
  try {
    // Once: link everyone (no writes: the accounts already match), so each plan finds nothing to do.
    const first = await cli(['run', '--config', config]);
    if (first.code !== 0 || !first.out.includes(`linked ${people}`)) throw new Error(`the first run did not just link everyone (exit ${first.code}): ${first.out.slice(-2000)}`);
    const before = loadNow();
    const rss: number[] = [];
    const cpu: number[] = [];
    const listingCpu: number[] = [];
    const ms = await pairedRounds(rounds, { listing: 'listing', warm: 'warm', cli: 'cli' } as const, async (side) => {
      if (side === 'warm') {
        const listed = await bareHttpListing(url, TOKEN, pageSize, concurrency);
        if (listed.resources !== people) throw new Error(`the warm bare listing saw ${listed.resources} users, not ${people}`);
        return listed.ms;
      }
      if (side === 'listing') {
        const listed = await bareListing(url, pageSize, concurrency);
        if (listed.resources !== people) throw new Error(`the bare listing saw ${listed.resources} users, not ${people}`);
        listingCpu.push(listed.cpuMs);
        return listed.ms;
      }
      const r = await cli(['plan', '--config', config]);
      if (r.code !== 0 || !r.out.includes('no changes')) throw new Error(`scim-sync plan exited ${r.code}: ${r.out.slice(-2000)}`);
      rss.push(r.peakRssMb);
      cpu.push(r.cpuMs);
      return r.ms;
    });
    const ratios = ms.cli.map((c, r) => c / ms.listing[r]!);
    const warmRatios = ms.cli.map((c, r) => c / ms.warm[r]!);
    return {
      people,
      pageSize,
      concurrency,
      rounds,
      cliMs: Math.round(median(ms.cli)),
      listingMs: Math.round(median(ms.listing)),
      warmListingMs: Math.round(median(ms.warm)),
      warmRatio: median(warmRatios),
      cliCpuMs: Math.round(median(cpu)),
      listingCpuMs: Math.round(median(listingCpu)),
      ratio: median(ratios),
      ratios: ratios.map(round2),
      peakRssMb: Math.max(...rss),
      load: { before, after: loadNow(), cpus: cpus().length },
    };
  } finally {
    await stopServer(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

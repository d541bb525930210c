/**
 * Startup: `scim-sync --version` in a fresh node process, spawn to exit, next to `node -e 0` (the
 * floor no CLI goes below), in paired rounds.
 */
import { cpus } from 'node:os';
import { timedProcess } from './ldap-bench.js';
import { loadNow, median, pairedRounds, type Load } from './paired.js';

const CLI = process.env['BENCH_CLI'] ?? new URL('./cli-process.js', import.meta.url).pathname;

export interface StartupResult {
  rounds: number;
  /** Medians, ms. */
  versionMs: number;
  nodeMs: number;
  load: Load;
}

export async function startupBench(rounds = 15): Promise<StartupResult> {
  const before = loadNow();
  const ms = await pairedRounds(rounds, { node: ['-e', '0'], version: [CLI, '--version'] }, async (args) => (await timedProcess(process.execPath, args)).ms);
  return { rounds, versionMs: Math.round(median(ms.version)), nodeMs: Math.round(median(ms.node)), load: { before, after: loadNow(), cpus: cpus().length } };
}

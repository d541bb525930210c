/**
 * The sandbox filling up with --data: 100,000 creates POSTed by the bare node:http loop (8 in
 * flight) to a sandbox process keeping its data in a file, against the same loop to one keeping
 * nothing (what persistence costs), in paired rounds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededUser } from '../../src/sandbox/seed.js';
import { startServer, stopServer, TOKEN } from './apply-bench.js';
import { bareHttpCreates } from './bare-loops.js';
import { loadNow, median, pairedRounds, round2, type Load } from './paired.js';

export interface FillResult {
  creates: number;
  rounds: number;
  /** Medians, creates per second. */
  withDataPerSec: number;
  inMemoryPerSec: number;
  /** Median of the per-round ratios with --data / in memory. */
  ratio: number;
  load: Load;
}

export async function fillBench(creates = 100_000, rounds = 3): Promise<FillResult> {
  const bodies = Array.from({ length: creates }, (_, i) => seededUser(i));
  const before = loadNow();
  const ms = await pairedRounds(rounds, { data: true, memory: false }, async (withData) => {
    const dir = mkdtempSync(join(tmpdir(), 'scim-sync-fill-bench-'));
    const { url, child } = await startServer(0, withData ? join(dir, 'sandbox.json') : undefined);
    try {
      return await bareHttpCreates(url, TOKEN, bodies, 8);
    } finally {
      await stopServer(child);
      rmSync(dir, { recursive: true, force: true });
    }
  });
  const perSec = (xs: number[]) => Math.round((creates / median(xs)) * 1000);
  return {
    creates,
    rounds,
    withDataPerSec: perSec(ms.data),
    inMemoryPerSec: perSec(ms.memory),
    ratio: round2(median(ms.data.map((d, r) => ms.memory[r]! / d))),
    load: { before, after: loadNow(), cpus: cpus().length },
  };
}

/**
 * Two builds side by side, not part of `npm run bench`: the CLI rows with a baseline build's CLI as
 * a third side of every paired round (`BASELINE_CLI`: its cli-process.js). Prints one JSON line per
 * row: medians (ms) and the per-round ratios to the bare loop, for the baseline and for this build.
 * `node .bench-dist/test/bench/before-after.js [rounds]`.
 */
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { startServer, stopServer, TOKEN } from './apply-bench.js';
import { BARE, bareListing, cli, workspace } from './cli-bench.js';
import { timedProcess } from './ldap-bench.js';
import { loadNow, median, pairedRounds, round2 } from './paired.js';

const baseline = process.env['BASELINE_CLI'];
if (!baseline) throw new Error('set BASELINE_CLI to the baseline build\'s .bench-dist/test/bench/cli-process.js');
const current = new URL('./cli-process.js', import.meta.url).pathname;
const rounds = Number(process.argv[2] ?? 5);

function summary(name: string, ms: Record<string, number[]>, yardstick: string, before: number, ratio: (side: number, yard: number) => number) {
  const sides = Object.keys(ms).filter((k) => k !== yardstick);
  const out: Record<string, unknown> = { row: name, rounds, load: { before, after: loadNow(), cpus: cpus().length } };
  for (const k of Object.keys(ms)) out[`${k}Ms`] = Math.round(median(ms[k]!));
  for (const k of sides) {
    const ratios = ms[k]!.map((v, r) => ratio(v, ms[yardstick]![r]!));
    out[`${k}Ratio`] = round2(median(ratios));
    out[`${k}Ratios`] = ratios.map(round2);
  }
  console.log(JSON.stringify(out));
}

{
  const before = loadNow();
  const ms = await pairedRounds(rounds * 2, { node: ['-e', '0'], baseline: [baseline, '--version'], current: [current, '--version'] }, async (args) => (await timedProcess(process.execPath, args)).ms);
  summary('startup --version', ms, 'node', before, (v, y) => v / y);
}

{
  const creates = 2000;
  const before = loadNow();
  const ms = await pairedRounds(rounds, { http: '', baseline, current }, async (program) => {
    const { url, child } = await startServer();
    try {
      if (program === '') return (await timedProcess(process.execPath, [BARE, url, String(creates), '8'], { ...process.env, BENCH_TOKEN: TOKEN })).ms;
      const { dir, config } = workspace(url, creates, 8);
      try {
        const r = await cli(['run', '--config', config], program);
        if (r.code !== 0 || !r.out.includes(`created ${creates}`)) throw new Error(`run exited ${r.code}: ${r.out.slice(-1000)}`);
        return r.ms;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    } finally {
      await stopServer(child);
    }
  });
  summary('run 2,000 creates (ratio: bare loop / CLI)', ms, 'http', before, (v, y) => y / v);
}

{
  const people = 100_000;
  const { url, child } = await startServer(people);
  // A state directory of each build's own, linked by that build's first run: each reads the link
  // store as it writes it (a newer build may write a layout an older one does not read).
  const spaces = { [baseline]: workspace(url, people, 4), [current]: workspace(url, people, 4) };
  try {
    for (const [program, { config }] of Object.entries(spaces)) {
      const first = await cli(['run', '--config', config], program);
      if (first.code !== 0) throw new Error(`first run exited ${first.code}: ${first.out.slice(-1000)}`);
    }
    const before = loadNow();
    const rss: Record<string, number[]> = { baseline: [], current: [] };
    const ms = await pairedRounds(rounds, { listing: '', baseline, current }, async (program) => {
      if (program === '') return (await bareListing(url, 200, 4)).ms;
      const r = await cli(['plan', '--config', spaces[program]!.config], program);
      if (r.code !== 0 || !r.out.includes('no changes')) throw new Error(`plan exited ${r.code}: ${r.out.slice(-1000)}`);
      rss[program === baseline ? 'baseline' : 'current']!.push(r.peakRssMb);
      return r.ms;
    });
    summary('plan 100,000, nothing to change (ratio: CLI / bare paged loop)', ms, 'listing', before, (v, y) => v / y);
    console.log(JSON.stringify({ row: 'plan peak RSS MB (max over rounds)', baseline: Math.max(...rss['baseline']!), current: Math.max(...rss['current']!) }));
  } finally {
    await stopServer(child);
    for (const { dir } of Object.values(spaces)) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Only the CLI-process rows, for working on them (`npm run bench` runs everything):
 * `npx tsc -p tsconfig.bench.json && node .bench-dist/test/bench/cli-only.js [run|plan] [rounds] [size]`.
 */
import { cliPlanBench, cliRunBench } from './cli-bench.js';

const [which, rounds, size] = process.argv.slice(2);
if (which !== 'plan') console.log(JSON.stringify(await cliRunBench(Number(size) || undefined, 8, Number(rounds) || undefined)));
if (which !== 'run') console.log(JSON.stringify(await cliPlanBench(Number(size) || undefined, 4, Number(rounds) || undefined)));

/**
 * Only the distributed benchmarks, for working on them (`npm run bench` runs everything):
 * `npx tsc -p tsconfig.bench.json && N=10000 ROUNDS=3 node .bench-dist/test/bench/distributed-only.js`;
 * `ONLY=scaling` or `ONLY=embedded` runs one of the two. For working on the workers' CPU:
 * `WARM_UP=3000` (the uncounted warm-up cycle's size; as many as timed by default), `WORKER_NODE_ARGS="--cpu-prof
 * --cpu-prof-dir=/tmp/prof"` (node options for the workers only); see distributed-bench.ts.
 */
import { distributedBench, scalingBench } from './distributed-bench.js';

const only = process.env['ONLY'];
const rounds = Number(process.env['ROUNDS'] ?? 3);
if (only !== 'scaling') console.log(await distributedBench(Number(process.env['N'] ?? 10_000), 8, 2, rounds));
if (only !== 'embedded') console.log(await scalingBench(Number(process.env['SCALING_N'] ?? 4000), 50, Number(process.env['CONCURRENCY'] ?? 4), [1, 2, 4], rounds));

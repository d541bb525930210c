/**
 * Only the distributed benchmark, for working on it (`npm run bench` runs everything):
 * `npx tsc -p tsconfig.bench.json && N=10000 ROUNDS=3 node .bench-dist/test/bench/distributed-only.js`.
 */
import { distributedBench } from './distributed-bench.js';

console.log(await distributedBench(Number(process.env['N'] ?? 10_000), 8, 2, Number(process.env['ROUNDS'] ?? 3)));

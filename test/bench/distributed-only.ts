import { distributedBench } from './distributed-bench.js';
console.log(await distributedBench(Number(process.env['N'] ?? 10_000), 8, 2, Number(process.env['ROUNDS'] ?? 1)));

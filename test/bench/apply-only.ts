/** `node .bench-dist/test/bench/apply-only.js [creates] [rounds]`: the in-memory apply rows alone. */
import { applyBench } from './apply-bench.js';

const [n, rounds] = process.argv.slice(2).map(Number);
console.log(JSON.stringify(await applyBench(n || undefined, 8, rounds || undefined)));

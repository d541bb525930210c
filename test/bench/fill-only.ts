/** Only the sandbox fill row: `node .bench-dist/test/bench/fill-only.js [creates] [rounds]`. */
import { fillBench } from './fill-bench.js';

const [creates, rounds] = process.argv.slice(2).map(Number);
console.log(JSON.stringify(await fillBench(creates || undefined, rounds || undefined)));

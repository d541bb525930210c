/** Only the startup row: `node .bench-dist/test/bench/startup-only.js`. */
import { startupBench } from './startup-bench.js';

console.log(JSON.stringify(await startupBench()));

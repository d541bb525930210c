// `node test/bench/run-bundle.mjs BUNDLE ARGS...`: loads BUNDLE as the installed CLI is loaded (with
// its code cache, bin/load-bundle.js), calls its export run(...ARGS) and prints what it returns,
// and whether V8 took the cache. Plain JS: the bench's tsc build does not copy it, it is run from here.
import { loadBundle } from '../../bin/load-bundle.js';

const [bundle, ...args] = process.argv.slice(2);
const loaded = loadBundle(bundle);
if (!loaded) throw new Error(`run-bundle: no bundle at ${bundle}`);
const result = await loaded.exports.run(...args);
process.stdout.write(`${JSON.stringify({ ...result, cacheRejected: loaded.cacheRejected })}\n`);

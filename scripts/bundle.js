/**
 * Bundles a compiled entry (tsc's output) into one CommonJS file for bin/load-bundle.js, then writes
 * the V8 code cache beside it: the bundle is run once through `warm` (so the functions a command
 * uses are compiled and kept in the cache, not just the top level), and the cache is written to a
 * temporary name and renamed, so a reader never sees half of one.
 *
 *   node scripts/bundle.js                    the CLI: dist/cli/main.js -> dist/bundle/cli.cjs(.cache)
 *   node scripts/bundle.js ENTRY OUT ARGS...  ENTRY's export run(...ARGS) is the warm-up (the LDAP bench's cold read)
 *
 * The cache is made in a process of its own with no flags: V8 rejects a cache made under other flags.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { CLI_BUNDLE, CLI_MAIN, loadBundle } from '../bin/load-bundle.js';

/** Bundles `entry` into `out` and writes `out`.cache after `warm(exports)` has run. */
export async function bundleWithCache(entry, out, warm) {
  rmSync(`${out}.cache`, { force: true });
  await build({
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    // A script, not a module: V8's code cache is offered for scripts only (vm.Script cachedData).
    format: 'cjs',
    platform: 'node',
    target: 'node20.19',
    // Modules that find files next to themselves (config/example.yaml, lazily required packages)
    // see the bundle's own URL; it lies as deep under the package as dist/<dir>/<module>.js does.
    define: { 'import.meta.url': '__bundleUrl' },
    banner: { js: 'const __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
    // Loaded only by the commands that need them (distributed mode, schedules, metrics), through the
    // lazy imports of the modules that use them: kept out of the bundle, required from node_modules
    // when those run, so that every other command does not read and deserialise them (1.3 MB).
    external: ['bullmq', 'ioredis', 'cron-parser', 'prom-client'],
    legalComments: 'none',
    logLevel: 'warning',
  });
  const loaded = loadBundle(out, { cache: false });
  await warm(loaded.exports);
  const temporary = `${out}.cache.${process.pid}`;
  writeFileSync(temporary, loaded.script.createCachedData());
  renameSync(temporary, `${out}.cache`);
}

/** A command every config goes through (load, validate), run silently on the example config. */
async function validateExample({ main }) {
  process.env['SCIM_SYNC_DEMO_URL'] ??= 'http://127.0.0.1:9/scim/v2';
  process.env['SCIM_SYNC_DEMO_TOKEN'] ??= 'code-cache-warm-up-token';
  const config = fileURLToPath(new URL('../config/example.yaml', import.meta.url));
  const silent = { out: () => undefined, err: () => undefined };
  const code = await main(['node', 'scim-sync', 'validate', '--config', config], silent);
  if (code !== 0) throw new Error(`bundle: validate of config/example.yaml exited ${code}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [entry, out, ...args] = process.argv.slice(2);
  if (entry && out) await bundleWithCache(entry, out, (exports) => exports.run(...args));
  else await bundleWithCache(CLI_MAIN, CLI_BUNDLE, validateExample);
}

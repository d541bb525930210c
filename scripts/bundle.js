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
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build, transformSync } from 'esbuild';
import { CLI_BUNDLE, CLI_MAIN, WRAPPER_START, loadBundle } from '../bin/load-bundle.js';

/**
 * The CommonJS wrapper Node's own loader would put around the bundle, written into the file itself:
 * bin/load-bundle.js then compiles the text as read, instead of a concatenation V8 flattens into a
 * second copy of the whole bundle (a few MB more of old generation for every command's first GC).
 */
const WRAPPER = [WRAPPER_START, '\n})'];

/**
 * Escapes what esbuild leaves outside ASCII as \\uXXXX. One such character makes V8 hold the whole
 * source as UTF-16, twice the bytes of the Latin-1 form, decoded from UTF-8 on every start.
 * esbuild escapes strings and identifiers itself; it leaves comments, regular expressions and
 * tagged templates as written, and in the last two an escape need not read as the character it
 * replaces (`String.raw`, a tag reading the raw strings, a regular expression's `\\é`). So the
 * program without its comments (esbuild printing it, whitespace minified) must be ASCII already:
 * then every character escaped is in a comment, where the escape is plain text.
 */
export function asciiOnly(file) {
  const text = readFileSync(file, 'utf8');
  if (/^[\x00-\x7f]*$/.test(text)) return;
  const program = transformSync(text, { charset: 'ascii', legalComments: 'none', minifyWhitespace: true, loader: 'js' }).code;
  const at = program.search(/[^\x00-\x7f]/);
  if (at !== -1) {
    throw new Error(
      `${file}: a character outside ASCII in a regular expression or a tagged template (${JSON.stringify(program.slice(Math.max(0, at - 60), at + 20))}): ` +
        'write it as an escape or an HTML entity in the source',
    );
  }
  writeFileSync(file, text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

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
    banner: { js: `${WRAPPER[0]}const __bundleUrl = require("node:url").pathToFileURL(__filename).href;` },
    footer: { js: WRAPPER[1] },
    // Loaded only by the commands that need them (distributed mode, schedules, metrics), through the
    // lazy imports of the modules that use them: kept out of the bundle, required from node_modules
    // when those run, so that every other command does not read and deserialise them (1.3 MB).
    external: ['bullmq', 'ioredis', 'cron-parser', 'prom-client'],
    legalComments: 'none',
    logLevel: 'warning',
  });
  asciiOnly(out);
  const loaded = loadBundle(out, { cache: false });
  await warm(loaded.exports);
  const temporary = `${out}.cache.${process.pid}`;
  writeFileSync(temporary, loaded.script.createCachedData());
  renameSync(temporary, `${out}.cache`);
}

/** A command every config goes through (load, validate), run silently on the example config, then the demo's sync. */
async function validateExample({ main }) {
  process.env['SCIM_SYNC_DEMO_URL'] ??= 'http://127.0.0.1:9/scim/v2';
  process.env['SCIM_SYNC_DEMO_TOKEN'] ??= 'code-cache-warm-up-token';
  const config = fileURLToPath(new URL('../config/example.yaml', import.meta.url));
  const silent = { out: () => undefined, err: () => undefined };
  const code = await main(['node', 'scim-sync', 'validate', '--config', config], silent);
  if (code !== 0) throw new Error(`bundle: validate of config/example.yaml exited ${code}`);
  // Then a sync as an operator runs one (the demo: the example CSV into a sandbox on a loopback
  // port, twice), so that reading the CSV, planning, the HTTP client and the executor are in the
  // cache too rather than compiled by every `run` before its first write: 20 to 25 ms of CPU of the
  // 420 before the first POST of the bench's `run` of 2,000 creates, and nothing on `--version`.
  // Without it (no loopback port where the package is built) the cache is what validate made.
  try {
    const demo = await main(['node', 'scim-sync', 'demo'], silent);
    if (demo !== 0) throw new Error(`exited ${demo}`);
  } catch (error) {
    process.stderr.write(`bundle: the demo run that warms the code cache failed (${error.message}); the cache holds what validate compiled\n`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [entry, out, ...args] = process.argv.slice(2);
  if (entry && out) await bundleWithCache(entry, out, (exports) => exports.run(...args));
  else await bundleWithCache(CLI_MAIN, CLI_BUNDLE, validateExample);
}

/**
 * Loads the CLI from its bundle (dist/bundle/cli.cjs, one file made by scripts/bundle.js) with the
 * V8 code cache written beside it at build time: a fresh process then neither resolves and reads
 * some 400 modules nor compiles them (on a loaded 2-core machine 170 ms of a cron run's start, down
 * to about 55). The cache is only a shortcut: V8 rejects one made by another Node version or with
 * other flags, and the bundle then compiles as any script does. Without the bundle (a checkout
 * built by tsc alone) the caller imports dist/cli/main.js.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script, constants } from 'node:vm';

/** The CLI's bundle; its code cache is the same path with `.cache` added. */
export const CLI_BUNDLE = fileURLToPath(new URL('../dist/bundle/cli.cjs', import.meta.url));

/** The CommonJS wrapper the bundle runs in, as Node's own loader would give it. */
const wrap = (source) => `(function (exports, require, module, __filename, __dirname) {${source}\n})`;

/**
 * A bundle's exports and its compiled script (for writing a cache), or null when there is no
 * bundle. `cache: false` compiles without the cache (when writing a new one).
 */
export function loadBundle(bundle = CLI_BUNDLE, { cache = true } = {}) {
  let source;
  try {
    source = readFileSync(bundle, 'utf8');
  } catch {
    return null;
  }
  let cachedData;
  if (cache) {
    try {
      cachedData = readFileSync(`${bundle}.cache`);
    } catch {
      // No cache (not written yet, or removed): compiled as it runs.
    }
  }
  const script = new Script(wrap(source), {
    filename: bundle,
    cachedData,
    // import() inside the bundle (none of our own: those are bundled) goes to Node's loader.
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
  return { exports: module.exports, script, cacheRejected: cachedData !== undefined && script.cachedDataRejected === true };
}

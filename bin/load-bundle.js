/**
 * Loads the CLI from its bundle (dist/bundle/cli.cjs, one file made by scripts/bundle.js) with the
 * V8 code cache written beside it at build time: a fresh process then neither resolves and reads
 * some 400 modules nor compiles them (on a loaded 2-core machine 170 ms of a cron run's start, down
 * to about 55). The cache is only a shortcut: V8 rejects one made by another Node version or with
 * other flags, and the bundle then compiles as any script does. Without the bundle (a checkout
 * built by tsc alone), or with one older than tsc's output (see bundleIsStale), the caller imports
 * dist/cli/main.js.
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script, constants } from 'node:vm';

/** The CLI's bundle; its code cache is the same path with `.cache` added. */
export const CLI_BUNDLE = fileURLToPath(new URL('../dist/bundle/cli.cjs', import.meta.url));

/** tsc's output of the CLI's entry, which the bundle is made from. */
export const CLI_MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

/** Only in a checkout, where tsc can rebuild dist/ without the bundle: never in an installed package. */
const BUILD_CONFIG = fileURLToPath(new URL('../tsconfig.build.json', import.meta.url));

/**
 * Whether tsc rebuilt the CLI after its bundle was made (`tsc -p tsconfig.build.json` run alone, or
 * `tsc -w` as it starts: both write every module, main.js with the rest): the bundle then holds
 * older code than dist/.
 * Asked only in a checkout: npm installs a package with the time each file was extracted as its
 * mtime, dist/bundle before dist/cli, so there main.js is always the newer one, and the bundle is
 * still what the build made. Without main.js the bundle is all there is.
 */
export function bundleIsStale(bundle = CLI_BUNDLE, compiled = CLI_MAIN) {
  if (!statSync(BUILD_CONFIG, { throwIfNoEntry: false })) return false;
  const built = statSync(compiled, { throwIfNoEntry: false });
  const bundled = built && statSync(bundle, { throwIfNoEntry: false });
  return !!bundled && built.mtimeMs > bundled.mtimeMs;
}

/** How a bundle written by scripts/bundle.js begins: the CommonJS wrapper Node's loader would add. */
export const WRAPPER_START = '(function (exports, require, module, __filename, __dirname) {';

/**
 * A bundle's exports and its compiled script (for writing a cache), or null when there is no
 * bundle (or only one an older build wrote). `cache: false` compiles without the cache (when
 * writing a new one). The file holds one function expression, the bundle inside the CommonJS
 * wrapper Node's loader would add (scripts/bundle.js writes it so): compiled as read, without a
 * second copy of the text.
 */
export function loadBundle(bundle = CLI_BUNDLE, { cache = true } = {}) {
  let source;
  try {
    // Latin-1, not UTF-8: the build writes the bundle in ASCII only (scripts/bundle.js asciiOnly),
    // which both read alike, and Latin-1 is a plain copy where UTF-8 checks every byte (about 10 of
    // the 35 ms reading 3 MB took on every start).
    source = readFileSync(bundle, 'latin1');
  } catch {
    return null;
  }
  // A bundle made by an older build (not inside its wrapper) is not run: the compiled modules are.
  if (!source.startsWith(WRAPPER_START)) return null;
  let cachedData;
  if (cache) {
    try {
      cachedData = readFileSync(`${bundle}.cache`);
    } catch {
      // No cache (not written yet, or removed): compiled as it runs.
    }
  }
  const script = new Script(source, {
    filename: bundle,
    cachedData,
    // import() inside the bundle (none of our own: those are bundled) goes to Node's loader.
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
  return { exports: module.exports, script, cacheRejected: cachedData !== undefined && script.cachedDataRejected === true };
}

#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm install` through `prepare`), as one
// bundle with its code cache (see load-bundle.js) or, without the bundle or when tsc rebuilt dist/
// after it was made, as tsc wrote it.
import { bundleIsStale, loadBundle } from './load-bundle.js';

const { main } = (bundleIsStale() ? null : loadBundle())?.exports ?? (await import('../dist/cli/main.js'));

main(process.argv).then((code) => {
  process.exitCode = code;
});

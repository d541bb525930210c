#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm install` through `prepare`), as one
// bundle with its code cache (see load-bundle.js) or, without the bundle, as tsc wrote it.
import { loadBundle } from './load-bundle.js';

const { main } = loadBundle()?.exports ?? (await import('../dist/cli/main.js'));

main(process.argv).then((code) => {
  process.exitCode = code;
});

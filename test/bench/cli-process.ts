/**
 * The CLI as a user runs it: this build's bin/scim-sync.js (the bundle with its code cache that
 * `npm run build` makes, which `npm run bench` runs first), with this process's arguments. A
 * baseline build's copy of this file (BENCH_CLI, BASELINE_CLI) runs that build's own bin.
 */
await import(new URL('../../../bin/scim-sync.js', import.meta.url).href);

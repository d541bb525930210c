#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm install` through `prepare`), as one
// bundle with its code cache (see load-bundle.js) or, without the bundle or when tsc rebuilt dist/
// after it was made, as tsc wrote it.
import { bundleIsStale, loadBundle } from './load-bundle.js';

// A reader that went away (`scim-sync --help | head -1`, a pager quit early) is no failure of the
// command: what it writes after that has nowhere to go, and the command finishes as it would have
// (a sync is not cut short by its output's reader), with its own exit code.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  });
}

const { main } = (bundleIsStale() ? null : loadBundle())?.exports ?? (await import('../dist/cli/main.js'));

let finished = false;
main(process.argv).then((code) => {
  finished = true;
  process.exitCode = code;
});
// Nothing left to wait for, yet the command never finished (a request that can never settle): a
// cron job must not read that as success.
process.on('beforeExit', () => {
  if (finished) return;
  process.stderr.write('scim-sync: stopped without finishing (a request was left without an answer); what was done before it is in the provisioning log\n');
  process.exit(1);
});

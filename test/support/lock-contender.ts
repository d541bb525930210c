/**
 * A process that competes for the run lock on command, for the lock race test. Reads lines on
 * stdin: `go <stateDir>` tries to take the lock and prints `held` or `locked`; `release` releases
 * it and prints `released`. Run with `node --import tsx`.
 */
import { createInterface } from 'node:readline';
import { LockedError } from '../../src/errors.js';
import { acquireRunLock, type RunLock } from '../../src/state/run-lock.js';

let lock: RunLock | null = null;
createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, dir] = line.split(' ');
  if (command === 'go') {
    acquireRunLock(dir!).then(
      (l) => {
        lock = l;
        console.log('held');
      },
      (error: unknown) => console.log(error instanceof LockedError ? 'locked' : `error ${String(error)}`),
    );
  } else if (command === 'release') {
    const l = lock;
    lock = null;
    void l?.release().then(() => console.log('released'));
  }
});
console.log('ready');

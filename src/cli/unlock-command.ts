/**
 * `scim-sync unlock`: shows who holds the run lock of the state directory and removes it. A holder
 * that still runs on this host is left alone unless --force (its pid may have been reused by another
 * program); a holder on another host cannot be checked, so the operator's word is enough.
 */
import { EXIT } from './exit-codes.js';
import type { Io } from './io.js';
import { load } from './commands.js';
import { describeHolder, readRunLock, removeRunLock } from '../state/run-lock.js';

export async function unlockCommand(opts: { config: string; force?: boolean }, io: Io): Promise<number> {
  const loaded = load(opts.config, io);
  if (loaded.config.queue) {
    io.err('error: distributed mode locks each target in Redis; those locks expire on their own (see scim-sync status)');
    return EXIT.CONFIG;
  }
  for (;;) {
    const info = await readRunLock(loaded.stateDir);
    if (!info) {
      io.out(`No run lock in ${loaded.stateDir}.`);
      return EXIT.OK;
    }
    if (info.alive && !opts.force) {
      io.err(`error: ${info.file} is held by ${describeHolder(info)}, which is still running; wait for it, or stop it.`);
      io.err(`If that pid is not scim-sync, remove the lock with: scim-sync unlock --config ${opts.config} --force`);
      return EXIT.NOT_RUN;
    }
    if ((await removeRunLock(info)) === 'removed') {
      io.out(`Removed ${info.file}, held by ${describeHolder(info)}.`);
      return EXIT.OK;
    }
  }
}

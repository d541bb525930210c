/** Errors that end a command -> a message and the exit code (see exit-codes.ts). */
import { ConfigError, InterruptedError, LockedError, PlanError, SafetyError, ScimSyncError, SourceError, StateError, describeError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import type { Io } from './io.js';

/** `debug`: show the stack of an internal error (--debug). */
export function exitForError(error: unknown, io: Io, options: { debug?: boolean } = {}): number {
  if (error instanceof SafetyError) {
    io.err(error.message);
    io.err('Nothing was written. Review the plan; rerun with --override-safety to apply it anyway (the override is audited).');
    return EXIT.SAFETY;
  }
  if (error instanceof ConfigError || error instanceof PlanError) {
    io.err(`error: ${error.message}`);
    return EXIT.CONFIG;
  }
  if (error instanceof SourceError || error instanceof StateError || error instanceof LockedError) {
    io.err(`error: ${describeError(error)}`);
    io.err('Nothing was written.');
    return EXIT.NOT_RUN;
  }
  if (error instanceof InterruptedError) {
    io.err(`${error.signal}: stopped before any write. Nothing was written.`);
    return error.signal === 'SIGINT' ? EXIT.INTERRUPTED : EXIT.TERMINATED;
  }
  if (error instanceof ScimSyncError) {
    io.err(`error: ${describeError(error)}`);
    return EXIT.FAILED_OPERATIONS;
  }
  // A bug of ours. An operator needs one line; a bug report needs the stack, which --debug shows.
  if (options.debug) io.err(`internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  else {
    io.err(`internal error: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    io.err('rerun with --debug for details');
  }
  return EXIT.FAILED_OPERATIONS;
}

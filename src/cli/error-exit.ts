/**
 * Errors that end a command -> a message and the exit code (see exit-codes.ts). With `--json`,
 * stdout gets the outcome as exactly one JSON document as well; the text goes to stderr.
 */
import { CommanderError } from 'commander';
import { ConfigError, InterruptedError, LockedError, PlanError, SafetyError, ScimSyncError, SourceError, StateError, describeError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import { redisUnreachable, unreachableWhy } from '../state/redis-errors.js';
import type { Io } from './io.js';

export interface ErrorExitOptions {
  /** Print the JSON document on stdout (`--json`, and nothing printed there yet). */
  json?: boolean;
  /** The plan summary a safety stop refused, for that document. */
  plan?: unknown;
  /** Show the stack of an internal error (--debug). */
  debug?: boolean;
}

/** `{ error: { code, message, problems } }`: a config error's message is its first line, its problems the list. */
function errorDocument(code: string, message: string, extra: Record<string, unknown> = {}, problems: readonly string[] = []) {
  return { error: { code, message, problems, ...extra } };
}

export function exitForError(error: unknown, io: Io, options: ErrorExitOptions = {}): number {
  const print = (doc: unknown) => {
    if (options.json) io.out(JSON.stringify(doc, null, 2));
  };
  if (error instanceof CommanderError) {
    // --help and --version end this way too; commander has already written its message to stderr.
    if (error.exitCode === 0) return EXIT.OK;
    print(errorDocument('USAGE', error.message.replace(/^error: /, '')));
    return EXIT.CONFIG;
  }
  if (error instanceof SafetyError) {
    io.err(error.message);
    // A source in doubt: its own message says what to do, and why an override is not the answer.
    io.err(error.sourceInDoubt ? 'Nothing was written.' : 'Nothing was written. Review the plan; rerun with --override-safety to apply it anyway (the override is audited).');
    const staged = error.staged;
    if (error.stagedMessage) io.err(error.stagedMessage);
    print({
      ...(options.plan ? { plan: options.plan } : {}),
      safety: { stopped: true, reasons: error.reasons, ...(staged ? { staged } : {}), ...(error.sourceInDoubt ? { sourceInDoubt: true } : {}) },
    });
    return EXIT.SAFETY;
  }
  if (error instanceof ScimSyncError) {
    const { code, context } = error;
    if (error instanceof ConfigError || error instanceof PlanError) {
      io.err(`error: ${error.message}`);
      const [summary, problems] = error instanceof ConfigError ? [error.summary, error.problems] : [error.message, []];
      print(errorDocument(code, summary, { ...context }, problems));
      return EXIT.CONFIG;
    }
    if (error instanceof InterruptedError) {
      io.err(`${error.signal}: stopped before any write. Nothing was written.`);
      print(errorDocument(code, error.message, { ...context }));
      return error.signal === 'SIGINT' ? EXIT.INTERRUPTED : EXIT.TERMINATED;
    }
    io.err(`error: ${describeError(error)}`);
    print(errorDocument(code, error.message, { ...context }));
    if (error instanceof SourceError || error instanceof StateError || error instanceof LockedError) {
      io.err('Nothing was written.');
      return EXIT.NOT_RUN;
    }
    return EXIT.FAILED_OPERATIONS;
  }
  // Redis not answering somewhere no step named (a command's connection gives up: queue.commandTimeoutMs).
  if (redisUnreachable(error)) {
    const message = `Redis (queue.redis) did not answer: ${unreachableWhy(error)}; the command gave up. Is it up and reachable?`;
    io.err(`error: ${message}`);
    print(errorDocument('STATE', message));
    return EXIT.NOT_RUN;
  }
  // A bug of ours. An operator needs one line; a bug report needs the stack, which --debug shows.
  const message = error instanceof Error ? error.message : String(error);
  if (options.debug) io.err(`internal error: ${error instanceof Error ? (error.stack ?? message) : message}`);
  else {
    io.err(`internal error: ${message.split('\n')[0]}`);
    io.err('rerun with --debug for details');
  }
  print(errorDocument('INTERNAL', message));
  return EXIT.FAILED_OPERATIONS;
}

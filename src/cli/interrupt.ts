/**
 * Ctrl-C and SIGTERM during `run` and `apply` (and `check --write-probe`, whose probe is removed
 * before it exits). The first stops the run gracefully: no operation
 * starts after it, those in flight finish, the report and the audit record are written, the lock is
 * released, and the command exits 130 (SIGINT) or 143 (SIGTERM). The second stops at once; the run
 * lock still goes (state/run-lock.ts removes it on exit), and the operations begun and not recorded
 * are named in the audit log (execution/unrecorded.ts).
 */
import { InterruptedError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import type { Io } from './io.js';

export interface Interrupt {
  /** Aborted by the first signal, with an InterruptedError as its reason. */
  readonly signal: AbortSignal;
  /** Stops listening (the command is over). */
  dispose(): void;
}

export function watchInterrupts(io: Io): Interrupt {
  const controller = new AbortController();
  const on = (name: 'SIGINT' | 'SIGTERM') => () => {
    if (!controller.signal.aborted) {
      io.err(`${name}: stopping; the operations in flight finish, then the report (${name} again stops at once)`);
      controller.abort(new InterruptedError(name));
      return;
    }
    // What an operation in flight sent may be in the target with no record of its own: the executor
    // names those operations in an apply.interrupted record as the process exits (execution/unrecorded.ts).
    io.err(`${name} again: stopping at once; what the operations in flight sent may have reached the target without a record of its own (for run and apply, an apply.interrupted record in the audit log names them)`);
    process.exit(name === 'SIGINT' ? EXIT.INTERRUPTED : EXIT.TERMINATED);
  };
  const sigint = on('SIGINT');
  const sigterm = on('SIGTERM');
  process.on('SIGINT', sigint);
  process.on('SIGTERM', sigterm);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', sigint);
      process.off('SIGTERM', sigterm);
    },
  };
}

/** 130 / 143 when the operator stopped the command; undefined otherwise. */
export function interruptedExit(signal: AbortSignal | undefined): number | undefined {
  if (!signal?.aborted || !(signal.reason instanceof InterruptedError)) return undefined;
  return signal.reason.signal === 'SIGINT' ? EXIT.INTERRUPTED : EXIT.TERMINATED;
}

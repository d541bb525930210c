/**
 * Running a command's work with its run state open, and closing it however the work ends: shared
 * by run, apply and the person and review commands.
 */
import { describeError } from '../errors.js';
import type { RunState } from '../engine/run-state.js';
import { EXIT } from './exit-codes.js';
import { interruptedExit } from './interrupt.js';
import type { Io } from './io.js';

/**
 * Runs `work` (which prints the report), then closes the state. A state write that failed (the
 * audit log or the link journal on a full disk: the executor stopped there) is said after the
 * report, never instead of it, since part of the plan may have reached the targets.
 */
export async function withState(state: RunState, io: Io, signal: AbortSignal | undefined, work: () => Promise<number>): Promise<number> {
  let code: number;
  try {
    code = await work();
  } catch (error) {
    await state.close().catch(() => undefined);
    throw error;
  }
  const halted = state.halted.aborted;
  let failure: unknown = halted ? state.halted.reason : undefined;
  /** Said besides the failure: the close's own error when it is about something else. */
  let also: unknown;
  try {
    await state.close();
  } catch (error) {
    // The close's error about the write that halted the run says more (how many audit records
    // could not be written, and where they went): it is said instead.
    if (failure === undefined || (error as Error).cause === failure) failure = error;
    else also = error;
  }
  if (failure !== undefined) {
    io.err(`error: ${describeError(failure)}`);
    if (also !== undefined) io.err(`error: ${describeError(also)}`);
    io.err(
      halted
        ? 'The run stopped taking operations there: what reached the targets is in the report (and in the audit log as far as it could be written).'
        : 'This happened after the last operation had ended: what reached the targets is in the report.',
    );
    code = EXIT.FAILED_OPERATIONS;
  }
  return interruptedExit(signal) ?? code;
}

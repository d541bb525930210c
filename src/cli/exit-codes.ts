/** Process exit codes: the contract with cron and scripts. Only cli/ turns outcomes into these. */
export const EXIT = {
  /** Everything planned was applied (or nothing needed doing). */
  OK: 0,
  /**
   * The run finished but some operations failed, or a target could not be read, or it stopped
   * part-way because the audit log or the link journal could not be written (after the report).
   */
  FAILED_OPERATIONS: 1,
  /** The config or the command line is wrong. */
  CONFIG: 2,
  /** The safety check stopped the run before any write. */
  SAFETY: 3,
  /** Nothing ran: the source or our state could not be read or written, or another run holds the lock. */
  NOT_RUN: 4,
  /** Stopped by SIGINT (Ctrl-C) after finishing the operations in flight: 128 + 2, as shells say. */
  INTERRUPTED: 130,
  /** Stopped by SIGTERM after finishing the operations in flight: 128 + 15. */
  TERMINATED: 143,
} as const;

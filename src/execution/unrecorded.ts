/**
 * The operations an apply has begun and not yet recorded, for the one moment they would go without
 * a word: the process ending at once (a second Ctrl-C or SIGTERM: cli/interrupt.ts exits). On exit
 * a record per target, `apply.interrupted`, names them, written before the process is gone (the
 * audit sink writes synchronously on flush): what they sent may have reached the target, and they
 * have no record of their own.
 */
import type { AuditSink } from '../audit/audit-sink.js';
import type { Operation } from '../model/plan.js';

/** The applies under way in this process; one exit listener for all of them. */
const open = new Set<Unrecorded>();
const onExit = (): void => {
  for (const u of open) u.recordOnExit();
};

export class Unrecorded {
  /** Each operation begun and not recorded, with its target. */
  private readonly ops = new Map<Operation, string>();

  constructor(
    private readonly planId: string,
    private readonly audit: AuditSink,
  ) {
    if (open.size === 0) process.on('exit', onExit);
    open.add(this);
  }

  begin(target: string, op: Operation): void {
    this.ops.set(op, target);
  }

  /** Its record is written. */
  end(op: Operation): void {
    this.ops.delete(op);
  }

  /** The apply is over: nothing of it is left to record at exit. */
  close(): void {
    this.ops.clear();
    open.delete(this);
    if (open.size === 0) process.off('exit', onExit);
  }

  recordOnExit(): void {
    const byTarget = new Map<string, Operation[]>();
    for (const [op, target] of this.ops) byTarget.set(target, [...(byTarget.get(target) ?? []), op]);
    if (byTarget.size === 0) return;
    const time = new Date().toISOString();
    for (const [target, ops] of byTarget) {
      const named = ops.map((op) => `${op.kind} ${op.label} (${op.externalId})`).join(', ');
      const note =
        `the process ended at once (a second SIGINT or SIGTERM) with ${ops.length} operation${ops.length === 1 ? '' : 's'} begun and not recorded: ` +
        `what ${ops.length === 1 ? 'it' : 'they'} sent may have reached the target: ${named}`;
      this.audit.record({ time, planId: this.planId, target, action: 'apply.interrupted', outcome: 'info', note });
    }
    try {
      this.audit.flush();
    } catch {
      // Exiting: a log that cannot be written has stopped the run already, and nothing more can be done.
    }
  }
}

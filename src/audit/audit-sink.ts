/** Where every change is recorded for audit. One record per operation outcome, never a secret. */
import type { OperationKind } from '../model/plan.js';

/**
 * An operation's kind, or an event: an apply's start and end (`interrupted`: the operator stopped
 * it; `stopped`: a state write failed), the safety check's stop or its override, a target that
 * could not be read or stopped, a distributed cycle's end.
 */
export type AuditAction =
  | OperationKind
  | 'apply.start'
  | 'apply.end'
  | 'apply.interrupted'
  | 'apply.stopped'
  | 'safety.stop'
  | 'safety.override'
  | 'target.failed'
  | 'cycle.end'
  | 'person.provision'
  | 'person.deprovision'
  | 'person.release';

export interface AuditRecord {
  time: string;
  planId: string;
  target: string;
  action: AuditAction;
  externalId?: string;
  label?: string;
  scimId?: string;
  /** `partial`: done without some of what was planned (the note says what and why). */
  outcome: 'ok' | 'partial' | 'failed' | 'skipped' | 'unchanged' | 'info';
  status?: number;
  attempts?: number;
  /** Attribute paths changed (values are left out of the audit log on purpose). */
  changed?: string[];
  error?: { code: string; message: string; detail?: string };
  note?: string;
}

export interface AuditSink {
  record(entry: AuditRecord): void;
  /** Writes what is recorded now; throws (naming the log) when it cannot be written. */
  flush(): void;
  close(): Promise<void>;
}

/** For commands that record nothing. */
export const NO_AUDIT: AuditSink = { record: () => undefined, flush: () => undefined, close: async () => undefined };

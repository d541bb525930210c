/** Where every change is recorded for audit. One record per operation outcome, never a secret. */

export interface AuditRecord {
  time: string;
  planId: string;
  target: string;
  /** Operation kind (createUser, ...) or an event (run.start, safety.override, ...). */
  action: string;
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
  close(): Promise<void>;
}

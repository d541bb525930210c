/**
 * Appends audit records as JSON lines; every line passes through redact() on its way out. The
 * records of one turn of the event loop go out in one write (line-appender.ts). A log that cannot
 * be opened fails at once, `flush` proves an append works before the first write to a target, and
 * a write that fails later is told to `onFailure` at once (the run stops taking operations) and
 * fails the close, so the run cannot end as if every outcome had been recorded.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { redact } from '../config/secret.js';
import { StateError } from '../errors.js';
import { LineAppender } from '../state/line-appender.js';
import { explainCode } from '../state/state-dir.js';
import type { AuditRecord, AuditSink } from './audit-sink.js';

export class JsonlAuditSink implements AuditSink {
  private readonly lines: LineAppender;

  constructor(file: string, onFailure?: (error: Error) => void) {
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new StateError(`cannot create the directory of the audit log ${file}: ${explainCode(error)}`, {}, { cause: error });
    }
    this.lines = new LineAppender(file, (code, cause) => new StateError(`cannot write the audit log ${file}: ${explainCode(code)}`, {}, { cause }), onFailure);
    this.lines.open();
  }

  record(entry: AuditRecord): void {
    this.lines.append(`${redact(JSON.stringify(entry))}\n`);
  }

  flush(): void {
    this.lines.flush();
    if (this.lines.error) throw this.lines.error;
  }

  async close(): Promise<void> {
    this.lines.close();
    if (this.lines.error) throw this.lines.error;
  }
}

/**
 * Appends audit records as JSON lines; every line passes through redact() on its way out. The
 * records of one turn of the event loop go out in one write (line-appender.ts). A log that cannot
 * be opened fails at once; one that fails later fails the close, so the run cannot end as if every
 * outcome had been recorded.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { redact } from '../config/secret.js';
import { StateError } from '../errors.js';
import { LineAppender } from '../state/line-appender.js';
import type { AuditRecord, AuditSink } from './audit-sink.js';

export class JsonlAuditSink implements AuditSink {
  private readonly lines: LineAppender;

  constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    this.lines = new LineAppender(file, (code) => new StateError(`audit log ${file}: cannot append (${code})`));
    this.lines.open();
  }

  record(entry: AuditRecord): void {
    this.lines.append(`${redact(JSON.stringify(entry))}\n`);
  }

  async close(): Promise<void> {
    this.lines.close();
    if (this.lines.error) throw this.lines.error;
  }
}

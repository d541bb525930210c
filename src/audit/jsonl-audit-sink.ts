/** Appends audit records as JSON lines; every line passes through redact() on its way out. */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { redact } from '../config/secret.js';
import type { AuditRecord, AuditSink } from './audit-sink.js';

export class JsonlAuditSink implements AuditSink {
  private readonly stream: WriteStream;

  constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    this.stream = createWriteStream(file, { flags: 'a', mode: 0o600 });
  }

  record(entry: AuditRecord): void {
    this.stream.write(`${redact(JSON.stringify(entry))}\n`);
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => this.stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
  }
}

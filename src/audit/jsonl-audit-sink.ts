/**
 * Appends audit records as JSON lines; every line passes through redact() on its way out, and the
 * values of the attributes `audit.redactAttributes` lists are replaced, in the changes and wherever
 * the record's error, note or steps quote them (a server's 400 naming the value it refused). The records of one turn of
 * the event loop go out in one write (line-appender.ts), to a file rotated by size or day
 * (log-files.ts). A log that cannot be opened fails at once, `flush` proves an append works before
 * the first write to a target, and a write that fails later is told to `onFailure` at once (the run
 * stops taking operations) and fails the close, so the run cannot end as if every outcome had been
 * recorded. The records not written then are not lost (unwritten-records.ts): printed on stderr,
 * kept in a spill file elsewhere, and appended to the log when a later start can write it; the
 * close's error says how many and where.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { redact } from '../config/secret.js';
import { StateError } from '../errors.js';
import { LineAppender } from '../state/line-appender.js';
import { explainCode } from '../state/state-dir.js';
import type { AuditRecord, AuditSink, Initiator } from './audit-sink.js';
import { activeLogFile, LogRotation, type RotationSettings } from './log-files.js';
import { countLines, spill, spillFile, takeSpill, UNWRITTEN_MARK, unwrittenSummary } from './unwritten-records.js';
import { listedValues, redactChanges, scrubValues } from './redact-attributes.js';

export interface AuditSettings extends RotationSettings {
  redactAttributes: readonly string[];
}

/** Without a config (tests of the sink itself): no rotation, nothing but secrets redacted. */
const PLAIN: AuditSettings = { maxFileMB: 0, rotateDaily: false, retainFiles: 0, retainDays: 0, redactAttributes: [] };

export interface AuditSinkOptions {
  /** Told of the first failed write at once. */
  onFailure?: (error: Error) => void;
  /** `config.audit`. */
  settings?: AuditSettings;
  /** Who started the work this process records, stamped on records that do not say. */
  initiator?: { initiator: Initiator; by?: string };
  /** Where a spill file's directory is made; default the system's temporary directory. */
  spillBase?: string;
  /** Takes each record not written, marked (a line without its newline); default: stderr. */
  printUnwritten?: (line: string) => void;
}

function isRegularFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The texts of a record that may quote a server's words (its error, its note, its steps) without `values`. */
function withoutValues<R extends Pick<AuditRecord, 'error' | 'note' | 'steps'>>(record: R, values: readonly string[]): R {
  const { error, note, steps } = record;
  return {
    ...record,
    ...(error ? { error: { ...error, message: scrubValues(error.message, values), ...(error.detail !== undefined ? { detail: scrubValues(error.detail, values) } : {}) } } : {}),
    ...(note !== undefined ? { note: scrubValues(note, values) } : {}),
    ...(steps ? { steps: steps.map((s) => ({ ...s, detail: scrubValues(s.detail, values) })) } : {}),
  };
}

export class JsonlAuditSink implements AuditSink {
  private readonly lines: LineAppender;
  private readonly settings: AuditSettings;
  /** Where records not written are kept; null for a log that is no regular file (a device, a pipe). */
  private readonly spill: string | null;

  constructor(
    configured: string,
    private readonly options: AuditSinkOptions = {},
  ) {
    const file = activeLogFile(configured);
    this.settings = options.settings ?? PLAIN;
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new StateError(`cannot create the directory of the audit log ${file}: ${explainCode(error)}`, {}, { cause: error });
    }
    const rotation = new LogRotation(file, this.settings);
    this.lines = new LineAppender(
      file,
      (code, cause) => new StateError(`cannot write the audit log ${file}: ${explainCode(code)}`, {}, { cause }),
      options.onFailure,
      (fd, bytes) => rotation.due(fd, bytes),
    );
    this.lines.open();
    this.spill = isRegularFile(file) ? spillFile(file, options.spillBase) : null;
    // Records an earlier run could not write: into the log first, in one write, as they were.
    const spilled = this.spill === null ? null : takeSpill(this.spill);
    if (spilled) {
      // A spill cut short (a crash while it was written) ends in a torn line: the next record starts on its own.
      this.lines.append(spilled.lines === '' || spilled.lines.endsWith('\n') ? spilled.lines : `${spilled.lines}\n`);
      this.lines.flush();
      spilled.release(this.lines.takeUnwritten());
    }
  }

  record(entry: AuditRecord): void {
    const { time, planId, modifiedProperties, sends, ...rest } = entry;
    // Only an error or a note quotes anything (the export step repeats one of them).
    const hidden = rest.error || rest.note !== undefined ? listedValues(modifiedProperties, sends, this.settings.redactAttributes) : [];
    const full: AuditRecord = {
      time,
      planId,
      cycleId: planId,
      ...this.options.initiator,
      ...(hidden.length > 0 ? withoutValues(rest, hidden) : rest),
      ...(modifiedProperties ? { modifiedProperties: redactChanges(modifiedProperties, this.settings.redactAttributes) } : {}),
    };
    this.lines.append(`${redact(JSON.stringify(full))}\n`);
  }

  flush(): void {
    this.lines.flush();
    if (this.lines.error) throw this.lines.error;
  }

  async close(): Promise<void> {
    this.lines.close();
    const error = this.lines.error;
    if (!error) return;
    const rest = this.lines.takeUnwritten();
    if (rest === '') throw error;
    const print = this.options.printUnwritten ?? ((line: string) => process.stderr.write(`${line}\n`));
    for (const line of rest.split('\n').slice(0, -1)) print(`${UNWRITTEN_MARK}${line}`);
    let where: string | { error: unknown } | 'no file' = this.spill ?? 'no file';
    try {
      if (this.spill !== null) spill(this.spill, rest);
    } catch (spillError) {
      where = { error: spillError };
    }
    throw new StateError(`${error.message}; ${unwrittenSummary(countLines(rest), where)}`, {}, { cause: error });
  }
}

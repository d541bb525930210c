/**
 * What a command writes besides its answer on stdout: the log (pino, on stderr: JSON off a
 * terminal, short lines on one; --verbose adds debug lines, --quiet keeps warnings and errors) and,
 * for the commands that read and write targets, their progress (progress-view.ts).
 */
import { createLogger, type Log, type LogFields, type LogFormat, type Logger } from '../telemetry/logger.js';
import { observeAll, type SyncObserver } from '../telemetry/sync-events.js';
import { logEvents } from '../telemetry/log-events.js';
import type { Io } from './io.js';
import { startProgress, type ProgressView } from './progress-view.js';
import { DEFAULT_PROGRESS_EVERY_MS } from './progress-state.js';

/** The global options that shape the output. */
export interface OutputFlags {
  verbose?: boolean;
  quiet?: boolean;
  logFormat?: 'auto' | LogFormat;
}


export interface CommandOutput {
  /** The command's io: its lines do not tear through the progress rows. */
  io: Io;
  /** The log, with the fields bound so far (the cycle, once known). */
  readonly log: Log;
  readonly logger: Logger;
  /** Every later line carries these fields too (e.g. the cycle id, once the command knows it). */
  bind(fields: LogFields): void;
  /** Progress and log lines of a sync's events. */
  observer: SyncObserver;
  /** --quiet: a run with nothing to do and nothing to say prints nothing (a cron mail only when it matters). */
  readonly quiet: boolean;
  close(): void;
}

export interface OutputChoice {
  /** Show progress (a command that reads and writes targets), unless --quiet or --json. */
  progress?: boolean;
  json?: boolean;
  progressEveryMs?: number;
}

export function commandOutput(io: Io, flags: OutputFlags, choice: OutputChoice = {}): CommandOutput {
  const terminal = io.terminal;
  const format: LogFormat = !flags.logFormat || flags.logFormat === 'auto' ? (terminal ? 'pretty' : 'json') : flags.logFormat;
  let write = (line: string) => io.err(line);
  const base = createLogger({
    level: flags.quiet ? 'warn' : flags.verbose ? 'debug' : 'info',
    format,
    colour: terminal !== undefined && format === 'pretty',
    write: (line) => write(line),
  });
  let current = base;
  const log: Log = (line, fields) => current.log(line, fields);
  const logger: Logger = { log, child: (fields) => current.child(fields), enabled: (level) => current.enabled(level) };
  let progress: ProgressView | undefined;
  if (choice.progress && !flags.quiet && !choice.json) {
    progress = terminal ? startProgress({ kind: 'terminal', stream: terminal }) : startProgress({ kind: 'lines', everyMs: choice.progressEveryMs ?? DEFAULT_PROGRESS_EVERY_MS, logger });
  }
  const shown = progress ? progress.around(io) : io;
  write = (line) => shown.err(line);
  return {
    io: shown,
    log,
    logger,
    bind: (fields) => {
      current = base.child(fields);
    },
    observer: observeAll(progress?.observer, logEvents(log))!,
    quiet: !!flags.quiet,
    close: () => progress?.stop(),
  };
}

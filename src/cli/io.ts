import { redact } from '../config/secret.js';
import type { Log } from '../telemetry/logger.js';

/** Where commands write. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** stderr when it is a terminal (live progress, pretty log lines); absent otherwise. */
  readonly terminal?: NodeJS.WriteStream | undefined;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  get terminal() {
    return process.stderr.isTTY ? process.stderr : undefined;
  },
};

/** `io` behind the redactor: main() wraps whatever it is given, so no secret reaches a terminal or a log file. */
export function redacting(io: Io): Io {
  return { out: (text) => io.out(redact(text)), err: (text) => io.err(redact(text)), terminal: io.terminal };
}

/** Where a warning goes: one line, without a "warning:" prefix. */
export type Warn = (line: string) => void;

/** Warnings as text on stderr, for the commands that keep no log. */
export const stderrWarning =
  (io: Io): Warn =>
  (line) =>
    io.err(`warning: ${line}`);

/**
 * A command's warnings (the config's, the run state's, the notifier's) in its log at level warn:
 * JSON under cron or a service manager, where a plain line would break the stream a log shipper
 * parses. Without a log, stderr.
 */
export function logWarning(output: { readonly log: Log } | undefined, io: Io): Warn {
  return output ? (line) => output.log(line, { level: 'warn' }) : stderrWarning(io);
}

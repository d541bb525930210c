import { redact } from '../config/secret.js';

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

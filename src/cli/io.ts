import { redact } from '../config/secret.js';

/** Where commands write. Everything passes redact(): no secret reaches a terminal or a log file. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(`${redact(text)}\n`),
  err: (text) => process.stderr.write(`${redact(text)}\n`),
};

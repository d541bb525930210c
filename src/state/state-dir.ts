/**
 * The state directory's failures, named for an operator: which directory or file, and why, in words
 * rather than only an errno.
 */
import { mkdirSync } from 'node:fs';
import { StateError } from '../errors.js';

const CAUSES: Record<string, string> = {
  ENOTDIR: 'it or a parent is a file, not a directory',
  EEXIST: 'it is a file, not a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  EISDIR: 'it is a directory',
  ENXIO: 'a named pipe that no process reads',
  EPIPE: 'the process reading the pipe has gone',
};

/** An error (or its errno code) -> `ENOSPC (no space left on the device)`. */
export function explainCode(error: unknown): string {
  const code = typeof error === 'string' ? error : ((error as NodeJS.ErrnoException)?.code ?? (error instanceof Error ? error.message : String(error)));
  return CAUSES[code] ? `${code} (${CAUSES[code]})` : code;
}

/** Creates the state directory (0700) or says why it cannot be used. */
export function ensureStateDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new StateError(`cannot use the state directory ${dir}: ${explainCode(error)}`, {}, { cause: error });
  }
}

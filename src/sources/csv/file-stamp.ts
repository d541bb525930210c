/**
 * What a file looks like from outside (size, times, inode), to tell whether it changed between two
 * moments without reading it: a write moves the size or mtime, a rename over it the inode.
 */
import { stat } from 'node:fs/promises';

export interface FileStamp {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  readonly ctimeMs: number;
}

/** The file's stamp, or null when it does not exist. */
export async function stampOf(path: string): Promise<FileStamp | null> {
  try {
    const s = await stat(path);
    return { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino, ctimeMs: s.ctimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Same size, modification time and inode: no write and no replacement between the two stamps. */
export function sameContent(a: FileStamp | null, b: FileStamp | null): boolean {
  return a === b || (a !== null && b !== null && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino);
}

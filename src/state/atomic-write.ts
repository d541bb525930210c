import { randomBytes } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { PIECE_CHARS, textPieces } from '../model/text-pieces.js';

/**
 * Write a file so readers see the old or the new content, never half: temp file, fsync, rename. A
 * write that fails (a full disk) removes its temp file: failures must not leave litter behind.
 * `data` may come as texts to write one after the other; a long one is encoded and written a piece
 * at a time into one buffer (see model/text-pieces.ts): a saved plan of 100,000 creates, 130 MB,
 * took a second to encode whole.
 */
export async function writeFileAtomic(path: string, data: string | readonly string[], mode = 0o600): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(tmp, 'w', mode);
  try {
    try {
      await writeTexts(handle, typeof data === 'string' ? [data] : data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
}

async function writeTexts(handle: FileHandle, texts: readonly string[]): Promise<void> {
  // UTF-8 takes at most three bytes for each UTF-16 unit (four for a pair of them).
  let buffer: Buffer | undefined;
  for (const text of texts) {
    if (text.length <= PIECE_CHARS) {
      await handle.writeFile(text, 'utf8');
      continue;
    }
    buffer ??= Buffer.allocUnsafe(3 * PIECE_CHARS);
    for (const piece of textPieces(text)) {
      const bytes = buffer.write(piece);
      for (let done = 0; done < bytes; ) done += (await handle.write(buffer, done, bytes - done)).bytesWritten;
    }
  }
}

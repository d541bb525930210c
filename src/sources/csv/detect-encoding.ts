/**
 * `encoding: auto`: which encoding a file is in. A byte order mark decides (UTF-8, UTF-16LE,
 * UTF-16BE), and so does UTF-16 without one (a CSV starts with an ASCII character, so one of its
 * first two bytes is zero); then a file that is valid UTF-8 is UTF-8, and one that holds no UTF-8
 * sequence at all is Windows-1252 (a superset of what latin1 exports hold in practice). A file
 * with both well-formed UTF-8 sequences and bytes that are not UTF-8 is a damaged UTF-8 file:
 * guessing Windows-1252 there would turn every "é" in it into "Ã©" in every app, so that is a
 * DecodeFault instead.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { isAscii, isUtf8 } from 'node:buffer';
import { countNewlines, DecodeFault, utf8SequenceAt, type TextEncoding } from './byte-decoders.js';

export type EncodingOption = TextEncoding | 'auto';

function markedEncoding(head: Uint8Array): TextEncoding | undefined {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return 'utf-8';
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  if (head.length >= 2 && head[0] !== 0 && head[1] === 0) return 'utf-16le';
  if (head.length >= 2 && head[0] === 0 && head[1] !== 0) return 'utf-16be';
  return undefined;
}

/** Where a character possibly cut by the chunk's end starts (it waits for the next chunk). */
function lastLead(buf: Uint8Array): number {
  let k = buf.length - 1;
  while (k >= 0 && buf.length - k <= 3 && (buf[k]! & 0xc0) === 0x80) k--;
  return k >= 0 && buf[k]! >= 0xc0 ? k : buf.length;
}

/** Reads the whole file once (streamed). */
export async function detectEncoding(path: string): Promise<TextEncoding> {
  let head = true;
  let carry: Buffer = Buffer.alloc(0);
  let offset = 0;
  let newlines = 0;
  let multibyte = false;
  let invalid: { offset: number; newlines: number } | undefined;
  const scan = (body: Buffer): void => {
    if (isUtf8(body)) multibyte ||= !isAscii(body);
    else {
      for (let i = 0; i < body.length; ) {
        const n = utf8SequenceAt(body, i);
        if (n > 1) multibyte = true;
        if (n === 0 && !invalid) invalid = { offset: offset + i, newlines: newlines + countNewlines(body.toString('latin1', 0, i)) };
        i += Math.max(n, 1);
      }
    }
    // String#indexOf on the chunk as latin1 (one copy), not Buffer#indexOf per line: each of those
    // calls goes through Node's argument checks, a few microseconds a line on a cold start.
    if (!invalid) newlines += countNewlines(body.toString('latin1'));
    offset += body.length;
    if (multibyte && invalid) {
      throw new DecodeFault(invalid.offset, invalid.newlines, 'this byte is not UTF-8, though the file holds UTF-8 elsewhere (a damaged UTF-8 file?); encoding auto does not guess here');
    }
  };
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    if (head) {
      const marked = markedEncoding(chunk);
      if (marked) return marked;
      head = false;
    }
    const buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    const cut = lastLead(buf);
    scan(buf.subarray(0, cut));
    carry = Buffer.from(buf.subarray(cut));
  }
  scan(carry);
  return invalid ? 'cp1252' : 'utf-8';
}

/** The file's first bytes, as many as a byte order mark or a UTF-16 start needs. */
async function head(path: string): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4), 0, 4, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The file as stat sees it: a change of content or a replaced file gives another version. */
const versionOf = async (path: string): Promise<string> => {
  const s = await stat(path, { bigint: true });
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
};

/**
 * Files found to be UTF-8, by version. A plan reads the header (offeredAttributes) and then the
 * records: without this, `auto` scanned the whole file twice before parsing it once. Only UTF-8 is
 * remembered because a stale answer is then harmless: should a file be rewritten with the same
 * size within the clock's resolution, its UTF-8 decoder is strict and fails on a byte that is not
 * UTF-8, where a remembered Windows-1252 would turn a new UTF-8 file's "é" into "Ã©" silently.
 * UTF-16 is decided by the first bytes, which cost nothing to look at again: a hit reads them (a
 * UTF-16 file of ASCII text is valid UTF-8, every other byte a NUL, so no decoder would catch it).
 */
const utf8Files = new Map<string, string>();
/** A watched drop folder names a new file per drop: the oldest results are forgotten past this. */
const MAX_REMEMBERED = 64;

export async function resolveEncoding(path: string, option: EncodingOption): Promise<TextEncoding> {
  if (option !== 'auto') return option;
  const before = await versionOf(path);
  if (utf8Files.get(path) === before) return markedEncoding(await head(path)) ?? 'utf-8';
  const encoding = await detectEncoding(path);
  // Kept only when the file did not change while it was scanned.
  if (encoding === 'utf-8' && (await versionOf(path)) === before) {
    utf8Files.delete(path);
    utf8Files.set(path, before);
    if (utf8Files.size > MAX_REMEMBERED) utf8Files.delete(utf8Files.keys().next().value!);
  }
  return encoding;
}

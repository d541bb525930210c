/**
 * Strict streaming decoders: bytes -> text, or a DecodeFault naming the first byte that does not
 * decode. A replacement character would be written to every app as part of a name, so nothing
 * is ever replaced. Chunks may split a character anywhere; the decoder carries the tail.
 */
import { isUtf8 } from 'node:buffer';

/** Encodings a file is read in (`auto` resolves to one of them, see detect-encoding.ts). */
export type TextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'cp1252' | 'latin1';

export class DecodeFault extends Error {
  constructor(
    /** Offset of the first bad byte from the start of the file. */
    readonly byteOffset: number,
    /** Line feeds before the bad byte that the thrower has seen (a decoder: in the chunk at hand). */
    readonly newlines: number,
    detail: string,
  ) {
    super(detail);
  }
}

export function countNewlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

export interface ByteDecoder {
  write(chunk: Buffer): string;
  /** Throws when the file ends inside a character. */
  end(): string;
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => `0x${b.toString(16).toUpperCase().padStart(2, '0')}`).join(' ');
}

/** Length of a well-formed UTF-8 sequence at `i` (RFC 3629: no overlongs, surrogates or > U+10FFFF), 0 if none. */
export function utf8SequenceAt(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  let n: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c === 0xe0) lo = 0xa0;
    if (c === 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c === 0xf0) lo = 0x90;
    if (c === 0xf4) hi = 0x8f;
  } else return 0;
  const c1 = b[i + 1];
  if (c1 === undefined || c1 < lo || c1 > hi) return 0;
  for (let k = 2; k < n; k++) {
    const ck = b[i + k];
    if (ck === undefined || (ck & 0xc0) !== 0x80) return 0;
  }
  return n;
}

/** Where the last character of `b` starts when it is cut off by the chunk's end, else b.length. */
function completeUtf8(b: Uint8Array): number {
  for (let i = b.length - 1; i >= Math.max(0, b.length - 3); i--) {
    const c = b[i]!;
    if ((c & 0xc0) === 0x80) continue;
    const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return i + need > b.length ? i : b.length;
  }
  return b.length;
}

class Utf8Decoder implements ByteDecoder {
  private carry: Buffer = Buffer.alloc(0);
  private consumed = 0;

  write(chunk: Buffer): string {
    const buf = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const cut = completeUtf8(buf);
    const body = buf.subarray(0, cut);
    if (!isUtf8(body)) {
      let i = 0;
      for (let n = utf8SequenceAt(body, 0); n > 0; n = utf8SequenceAt(body, i)) i += n;
      throw new DecodeFault(this.consumed + i, countNewlines(body.toString('utf8', 0, i)), `byte ${hex(body.subarray(i, i + 1))} is not valid UTF-8`);
    }
    this.carry = Buffer.from(buf.subarray(cut));
    this.consumed += cut;
    return body.toString('utf8');
  }

  end(): string {
    if (this.carry.length > 0) throw new DecodeFault(this.consumed, 0, `the file ends inside a UTF-8 character (${hex(this.carry)})`);
    return '';
  }
}

class Utf16Decoder implements ByteDecoder {
  private carry: Buffer = Buffer.alloc(0);
  private consumed = 0;

  constructor(private readonly littleEndian: boolean) {}

  write(chunk: Buffer): string {
    const buf = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const le = this.littleEndian;
    const unit = (i: number) => (le ? buf[i]! | (buf[i + 1]! << 8) : (buf[i]! << 8) | buf[i + 1]!);
    let end = buf.length & ~1;
    for (let i = 0; i < end; i += 2) {
      const u = unit(i);
      if (u < 0xd800 || u > 0xdfff) continue;
      if (u <= 0xdbff && i + 2 >= end) {
        end = i;
        break;
      }
      if (u > 0xdbff || unit(i + 2) < 0xdc00 || unit(i + 2) > 0xdfff) {
        throw new DecodeFault(this.consumed + i, countNewlines(this.text(buf.subarray(0, i))), `${hex(buf.subarray(i, i + 2))} is not valid UTF-16 (an unpaired surrogate)`);
      }
      i += 2;
    }
    this.carry = Buffer.from(buf.subarray(end));
    this.consumed += end;
    return this.text(buf.subarray(0, end));
  }

  private text(bytes: Buffer): string {
    return this.littleEndian ? bytes.toString('utf16le') : Buffer.from(bytes).swap16().toString('utf16le');
  }

  end(): string {
    if (this.carry.length > 0) throw new DecodeFault(this.consumed, 0, `the file ends inside a UTF-16 character (${hex(this.carry)})`);
    return '';
  }
}

/** Windows-1252 at 0x80-0x9F (where it differs from latin1); its five unassigned bytes stay C1 controls, which values refuse. */
const CP1252_HIGH = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸ';

class SingleByteDecoder implements ByteDecoder {
  constructor(private readonly cp1252: boolean) {}

  write(chunk: Buffer): string {
    const text = chunk.toString('latin1');
    return this.cp1252 ? text.replace(/[\u0080-\u009f]/g, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80]!) : text;
  }

  end(): string {
    return '';
  }
}

export function byteDecoder(encoding: TextEncoding): ByteDecoder {
  switch (encoding) {
    case 'utf-8':
      return new Utf8Decoder();
    case 'utf-16le':
    case 'utf-16be':
      return new Utf16Decoder(encoding === 'utf-16le');
    case 'cp1252':
    case 'latin1':
      return new SingleByteDecoder(encoding === 'cp1252');
  }
}

/**
 * The little of BER (X.690) that reading LDAP answers needs: definite lengths, one-byte tags,
 * integers and octet strings. Reading 100,000 entries walks millions of these headers, so the walk
 * allocates nothing: `readTlv` returns the tag and leaves the bounds in the shared `tlv` record.
 * Every read is bounded by the enclosing element; what does not fit is a BerError, never a guess.
 */

export class BerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BerError';
  }
}

// Buffer's own slicers: toString's argument handling costs as much as decoding a short value, and a
// directory read decodes millions of them.
type Slicer = (this: Buffer, start: number, end: number) => string;
const slicers = Buffer.prototype as unknown as { utf8Slice?: Slicer; latin1Slice?: Slicer };
export const utf8Slice: Slicer = slicers.utf8Slice ?? function (this: Buffer, start, end) { return this.toString('utf8', start, end); };
export const latin1Slice: Slicer = slicers.latin1Slice ?? function (this: Buffer, start, end) { return this.toString('latin1', start, end); };

/** Where the contents of the last element `readTlv` read start and end. */
export const tlv = { start: 0, end: 0 };

/**
 * Reads the header of the element at `pos`, which must end by `limit`, into `tlv`, and returns its
 * tag. LDAP uses one-byte tags and definite lengths only (RFC 4511 section 5.1).
 */
export function readTlv(buf: Buffer, pos: number, limit: number, expected?: number): number {
  if (pos + 2 > limit) throw new BerError(`an element is cut short at byte ${pos}`);
  const tag = buf[pos]!;
  if (expected !== undefined && tag !== expected) {
    throw new BerError(`expected tag 0x${expected.toString(16)} at byte ${pos}, found 0x${tag.toString(16)}`);
  }
  let length = buf[pos + 1]!;
  let p = pos + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0) throw new BerError(`indefinite length at byte ${pos} (not allowed in LDAP)`);
    if (bytes > 4 || p + bytes > limit) throw new BerError(`a length at byte ${pos} is cut short or too large`);
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + buf[p++]!;
  }
  if (p + length > limit) throw new BerError(`an element at byte ${pos} claims ${length} bytes, more than its container holds`);
  tlv.start = p;
  tlv.end = p + length;
  return tag;
}

/**
 * Total size of the element starting at `pos` (header and contents), or -1 while its header is
 * not complete. Frames messages in a stream: the contents may not have arrived yet.
 */
export function elementSize(buf: Buffer, pos: number): number {
  if (pos + 2 > buf.length) return -1;
  const first = buf[pos + 1]!;
  if (!(first & 0x80)) return 2 + first;
  const bytes = first & 0x7f;
  if (bytes === 0 || bytes > 4) throw new BerError(`unsupported length encoding at byte ${pos}`);
  if (pos + 2 + bytes > buf.length) return -1;
  let length = 0;
  for (let i = 0; i < bytes; i++) length = length * 256 + buf[pos + 2 + i]!;
  return 2 + bytes + length;
}

/** The INTEGER (or ENUMERATED) whose contents `tlv` points at; LDAP's fit in 32 bits. */
export function integerAt(buf: Buffer): number {
  const { start, end } = tlv;
  if (end === start || end - start > 4) throw new BerError(`an integer at byte ${start} has ${end - start} bytes`);
  let value = buf[start]! & 0x80 ? -1 : 0;
  for (let i = start; i < end; i++) value = value * 256 + buf[i]!;
  return value;
}

/** The octet string `tlv` points at, as UTF-8 text. */
export function textAt(buf: Buffer): string {
  return utf8Slice.call(buf, tlv.start, tlv.end);
}

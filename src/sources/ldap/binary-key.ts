/**
 * Immutable keys stored as bytes (AD objectGUID, a UUID in an octet string) become stable text.
 * Pure; AD behaviour is tested here, since slapd cannot serve an objectGUID.
 */

export type KeyFormat = 'string' | 'guid' | 'uuid' | 'hex' | 'base64';

function hex(bytes: Uint8Array, from: number, to: number, reverse: boolean): string {
  const part = Array.from(bytes.subarray(from, to), (b) => b.toString(16).padStart(2, '0'));
  return (reverse ? part.reverse() : part).join('');
}

/**
 * AD's objectGUID is a Windows GUID in memory order: the first three fields little-endian, the last
 * eight bytes as they are. This is the string AD tools show (lowercase, as .NET prints it).
 */
export function guidToString(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new RangeError(`a GUID has 16 bytes, got ${bytes.length}`);
  return `${hex(bytes, 0, 4, true)}-${hex(bytes, 4, 6, true)}-${hex(bytes, 6, 8, true)}-${hex(bytes, 8, 10, false)}-${hex(bytes, 10, 16, false)}`;
}

/** RFC 4122 byte order (big-endian throughout). */
export function uuidToString(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new RangeError(`a UUID has 16 bytes, got ${bytes.length}`);
  return `${hex(bytes, 0, 4, false)}-${hex(bytes, 4, 6, false)}-${hex(bytes, 6, 8, false)}-${hex(bytes, 8, 10, false)}-${hex(bytes, 10, 16, false)}`;
}

/** Whether the format needs the raw bytes (requested as a buffer, never decoded as text). */
export function isBinaryFormat(format: KeyFormat): boolean {
  return format !== 'string';
}

/**
 * The key text for a raw attribute value, or an error message when the value cannot be one (a GUID
 * of the wrong length, an empty value).
 */
export function formatKey(value: string | Buffer, format: KeyFormat): { key: string } | { error: string } {
  if (format === 'string') {
    // Bytes that are not UTF-8 (the decoder keeps them as bytes) would decode lossily: two GUIDs
    // could become one key, and a look-up by the key would find no one.
    if (typeof value !== 'string') return { error: 'its value is bytes, not text: use format guid, uuid, hex or base64 for a binary key' };
    const text = value.trim();
    return text === '' ? { error: 'empty value' } : { key: text };
  }
  // A value that was not asked for as bytes arrives as text when it is valid UTF-8, which round-trips exactly.
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  if (bytes.length === 0) return { error: 'empty value' };
  switch (format) {
    case 'guid':
    case 'uuid':
      if (bytes.length !== 16) return { error: `expected 16 bytes for a ${format}, got ${bytes.length}` };
      return { key: format === 'guid' ? guidToString(bytes) : uuidToString(bytes) };
    case 'hex':
      return { key: bytes.toString('hex') };
    case 'base64':
      return { key: bytes.toString('base64') };
  }
}

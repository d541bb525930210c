/**
 * A filter matching one person by key: the key as the source formats it (binary-key.ts) turned
 * back into the attribute's value, every byte of a binary one escaped (RFC 4515), and the special
 * characters of a string one escaped, so a key can never widen the search.
 */
import type { KeyFormat } from './binary-key.js';

const escapeBytes = (bytes: Uint8Array): string => [...bytes].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('');

/** The RFC 4515 escapes of a string value: `*`, `(`, `)`, `\` and NUL, byte by byte of its UTF-8. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[*()\\\0]/g, (c) => escapeBytes(Buffer.from(c, 'utf8')));
}

/** The key's bytes, or null when it cannot be a key of this format (then no entry has it). */
function keyBytes(key: string, format: Exclude<KeyFormat, 'string'>): Buffer | null {
  switch (format) {
    case 'guid':
    case 'uuid': {
      const hex = key.replace(/-/g, '');
      if (!/^[0-9a-fA-F]{32}$/.test(hex)) return null;
      const bytes = Buffer.from(hex, 'hex');
      // A GUID's first three fields are little-endian on the wire (guidToString reverses them).
      if (format === 'guid') {
        bytes.subarray(0, 4).reverse();
        bytes.subarray(4, 6).reverse();
        bytes.subarray(6, 8).reverse();
      }
      return bytes;
    }
    case 'hex':
      return /^([0-9a-fA-F]{2})+$/.test(key) ? Buffer.from(key, 'hex') : null;
    case 'base64': {
      const bytes = Buffer.from(key, 'base64');
      return bytes.length > 0 && bytes.toString('base64') === key ? bytes : null;
    }
  }
}

/** `(attribute=value)` for this key, or null when the key cannot be one of this format. */
export function keyFilter(attribute: string, key: string, format: KeyFormat): string | null {
  if (format === 'string') return `(${attribute}=${escapeFilterValue(key)})`;
  const bytes = keyBytes(key, format);
  return bytes ? `(${attribute}=${escapeBytes(bytes)})` : null;
}

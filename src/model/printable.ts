/**
 * Values from a source or a server, made safe to put on a terminal: a row can hold an ANSI escape
 * that clears the screen or hides lines, a NUL, a bidirectional override that reorders what is
 * shown, or a megabyte of text. Human output passes every such value through `clip`; JSON output
 * escapes control characters by itself and keeps values whole.
 */

/** Default longest value shown, in characters. */
export const MAX_SHOWN = 200;

// C0 controls, DEL, C1 controls (0x9B is a one-byte CSI on some terminals), and the Unicode
// bidirectional embeddings, overrides and isolates.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const escapeChar = (c: string): string => {
  switch (c) {
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    default:
      return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  }
};

/** `text` with unsafe characters escaped, shortened past `max` characters (saying by how much). */
export function clip(text: string, max = MAX_SHOWN): string {
  const head = text.length > max ? text.slice(0, max) : text;
  const safe = head.replace(UNSAFE, escapeChar);
  return text.length > max ? `${safe}… (${text.length - max} more characters)` : safe;
}

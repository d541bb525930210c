/**
 * A long text handled a piece at a time. On the virtual machines scim-sync runs on, a string or
 * buffer of tens of megabytes (a saved plan of 100,000 creates is about 130 MB of JSON) is dear to
 * make beyond its bytes: each is fresh memory, mapped and faulted in page by page. Lowering the case
 * of a plan's 73 MB of JSON took 75 to 480 ms as one string, and encoding 55 MB as UTF-8 one and a
 * half times as long as in pieces that reuse the same young memory.
 */

/** Characters per piece: each piece's string stays well under V8's large-object size (128 KiB). */
export const PIECE_CHARS = 32 * 1024;

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

/**
 * `text` cut into consecutive pieces of about `size` characters that join back to it, never between
 * the two halves of a surrogate pair (each half alone would be encoded as U+FFFD).
 */
export function* textPieces(text: string, size = PIECE_CHARS): Generator<string> {
  for (let from = 0; from < text.length; ) {
    let end = Math.min(text.length, from + size);
    if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end--;
    yield text.slice(from, end);
    from = end;
  }
}

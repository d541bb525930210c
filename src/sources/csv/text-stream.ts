/**
 * Decodes a file stream to text and folds CRLF to LF. csv-parse counts a CRLF inside a quoted field
 * as two lines, which would shift every line number after it; with LF only its count is exact.
 */
import { StringDecoder } from 'node:string_decoder';
import { Transform, type TransformCallback } from 'node:stream';

export type TextEncoding = 'utf-8' | 'utf-16le' | 'latin1';

export function decodeToLf(encoding: TextEncoding): Transform {
  const decoder = new StringDecoder(encoding === 'utf-8' ? 'utf8' : encoding);
  let first = true;
  let pendingCr = false;
  const fold = (text: string): string => {
    let t = text;
    if (first) {
      // Byte order marks of UTF-8 and UTF-16 both decode to U+FEFF.
      if (t.charCodeAt(0) === 0xfeff) t = t.slice(1);
      if (t.length > 0) first = false;
    }
    if (pendingCr) {
      t = `\r${t}`;
      pendingCr = false;
    }
    if (t.endsWith('\r')) {
      pendingCr = true;
      t = t.slice(0, -1);
    }
    return t.replace(/\r\n/g, '\n');
  };
  return new Transform({
    readableObjectMode: true,
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      const text = fold(decoder.write(chunk));
      if (text.length > 0) this.push(text);
      done();
    },
    flush(done: TransformCallback) {
      const rest = fold(decoder.end()) + (pendingCr ? '\r' : '');
      if (rest.length > 0) this.push(rest);
      done();
    },
  });
}

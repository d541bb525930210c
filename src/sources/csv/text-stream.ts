/**
 * Decodes a file stream to text and folds CRLF to LF. csv-parse counts a CRLF inside a quoted field
 * as two lines, which would shift every line number after it; with LF only its count is exact.
 * Bytes that do not decode fail the read with file, line and byte offset (see byte-decoders.ts).
 */
import { Transform, type TransformCallback } from 'node:stream';
import { SourceError } from '../../errors.js';
import { byteDecoder, countNewlines, DecodeFault, type TextEncoding } from './byte-decoders.js';
import { resolveEncoding, type EncodingOption } from './detect-encoding.js';

function undecodable(path: string, fault: DecodeFault, line: number, encoding: TextEncoding | undefined, option: EncodingOption): SourceError {
  const read = option !== 'auto' ? `source.encoding ${option}` : encoding ? `source.encoding auto, read as ${encoding}` : 'source.encoding auto';
  const hint = option === 'auto' ? "set source.encoding to the file's encoding" : 'if the file is in another encoding, set source.encoding to it (or to auto)';
  return new SourceError(`${path}:${line}: byte offset ${fault.byteOffset}: ${fault.message} (${read}); ${hint}`, {}, { cause: fault });
}

function decodeToLf(path: string, encoding: TextEncoding, option: EncodingOption = encoding): Transform {
  const decoder = byteDecoder(encoding);
  let first = true;
  let pendingCr = false;
  let newlines = 0;
  const decode = (read: () => string): string => {
    try {
      const text = read();
      newlines += countNewlines(text);
      return text;
    } catch (error) {
      if (!(error instanceof DecodeFault)) throw error;
      throw undecodable(path, error, newlines + error.newlines + 1, encoding, option);
    }
  };
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
      try {
        const text = fold(decode(() => decoder.write(chunk)));
        if (text.length > 0) this.push(text);
        done();
      } catch (error) {
        done(error as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        const rest = fold(decode(() => decoder.end())) + (pendingCr ? '\r' : '');
        if (rest.length > 0) this.push(rest);
        done();
      } catch (error) {
        done(error as Error);
      }
    },
  });
}

/**
 * The decoding stream for a file read with the configured encoding; `auto` reads the file once first
 * to choose (not again while a UTF-8 file is unchanged). Throws a SourceError, never a bare I/O error.
 */
export async function textDecoder(path: string, option: EncodingOption): Promise<Transform> {
  let encoding: TextEncoding;
  try {
    encoding = await resolveEncoding(path, option);
  } catch (error) {
    if (error instanceof DecodeFault) throw undecodable(path, error, error.newlines + 1, undefined, option);
    throw new SourceError(`cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, {}, { cause: error });
  }
  return decodeToLf(path, encoding, option);
}

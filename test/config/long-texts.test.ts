/**
 * Texts of tens of megabytes (a saved plan) are looked at, hashed and written a piece at a time:
 * what crosses a piece's edge must be found, encoded and written as if the text were one piece.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { holdsSecret, redact, registerSecret } from '../../src/config/secret.js';
import { PIECE_CHARS, textPieces } from '../../src/model/text-pieces.js';
import { writeFileAtomic } from '../../src/state/atomic-write.js';

const dir = mkdtempSync(join(tmpdir(), 'long-texts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `n` characters of filler, then `inner` placed so that it starts `before` characters ahead of a piece's edge. */
const across = (inner: string, before: number, pieces = 3) => {
  const start = PIECE_CHARS * 2 - before;
  return 'a'.repeat(start) + inner + 'b'.repeat(PIECE_CHARS * pieces - start);
};

describe('textPieces', () => {
  it('joins back to the text, and never parts a surrogate pair', () => {
    const pair = '\u{1F600}';
    for (const before of [0, 1, 2]) {
      const text = across(`x${pair}y`, before);
      const pieces = [...textPieces(text)];
      expect(pieces.join('')).toBe(text);
      for (const piece of pieces) {
        expect(/^[\udc00-\udfff]/.test(piece)).toBe(false);
        expect(/[\ud800-\udbff]$/.test(piece)).toBe(false);
      }
    }
    expect([...textPieces('')]).toEqual([]);
  });
});

describe('holdsSecret on a long text', () => {
  const secret = 'LongTextSecret-5f2e9b7c1d';
  registerSecret(secret);

  it('finds a credential whole or as a long run, wherever it crosses a piece', () => {
    for (let before = 0; before <= secret.length; before++) {
      const text = across(secret, before);
      expect(redact(text)).not.toBe(text);
      expect(holdsSecret(text), `secret ${before} characters ahead of the edge`).toBe(true);
    }
    const run = secret.slice(2, 16);
    for (const before of [1, 7, 13]) expect(holdsSecret(across(run.toUpperCase(), before))).toBe(true);
  });

  it('a clean text of many pieces holds none; a credential longer than a piece is found too', () => {
    expect(holdsSecret(across('nothing-to-see', 5, 40))).toBe(false);
    const huge = `Huge-${'k7'.repeat(PIECE_CHARS)}-secret`;
    registerSecret(huge);
    expect(holdsSecret(across(huge, 17, 8))).toBe(true);
    expect(holdsSecret(across('nothing-to-see', 5, 8))).toBe(false);
  });
});

describe('writeFileAtomic', () => {
  it('writes long texts a piece at a time as their UTF-8, pairs and three-byte characters across the edges included', async () => {
    const texts = [across('\u{1F600}\u20ac\u00e9', 1), '\n', across('\u20ac\u{1F4A9}', 2, 4), 'end'];
    const file = join(dir, 'out.json');
    await writeFileAtomic(file, texts);
    expect(readFileSync(file, 'utf8')).toBe(texts.join(''));
    expect(readFileSync(file).equals(Buffer.from(texts.join(''), 'utf8'))).toBe(true);
  });
});

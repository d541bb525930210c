/**
 * The CLI's bundle as bin/load-bundle.js compiles it: ASCII only, so V8 holds its text one byte a
 * character (a single other character anywhere, a comment's dash included, makes it UTF-16, twice
 * the memory, decoded on every start), and already inside its CommonJS wrapper, so the loader
 * compiles the text as read instead of a concatenation V8 copies whole.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BUNDLE = fileURLToPath(new URL('../../dist/bundle/cli.cjs', import.meta.url));

describe('the CLI bundle (npm run build)', () => {
  const text = readFileSync(BUNDLE);

  it('is ASCII only', () => {
    const outside = text.findIndex((byte) => byte > 0x7f);
    expect(outside === -1 ? null : text.subarray(Math.max(0, outside - 40), outside + 10).toString('utf8')).toBeNull();
  });

  it('is one function expression, the CommonJS wrapper around the bundled code', () => {
    const source = text.toString('latin1');
    expect(source.startsWith('(function (exports, require, module, __filename, __dirname) {')).toBe(true);
    expect(source.trimEnd().endsWith('})')).toBe(true);
  });
});

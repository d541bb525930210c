/**
 * The CLI's bundle as bin/load-bundle.js compiles it: ASCII only, so V8 holds its text one byte a
 * character (a single other character anywhere, a comment's dash included, makes it UTF-16, twice
 * the memory, decoded on every start), and already inside its CommonJS wrapper, so the loader
 * compiles the text as read instead of a concatenation V8 copies whole. And without what no command
 * runs, which every start would read and deserialise all the same.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript (the build script and the launcher's loader), no declarations
import { asciiOnly } from '../../scripts/bundle.js';
// @ts-expect-error plain JavaScript, no declarations
import { loadBundle } from '../../bin/load-bundle.js';

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

  it("holds zod's English messages and none of its other 60-odd locales", () => {
    // `import { z } from 'zod'` takes zod's whole namespace as one value, locales and JSON Schema
    // converters with it (600 KB of the bundle); `import * as z` lets esbuild keep only what is used.
    const locales = [...text.toString('latin1').matchAll(/^\/\/ \S*node_modules\/zod\/v4\/locales\/([\w-]+)\.js$/gm)].map((m) => m[1]);
    expect(locales.filter((l) => l !== 'index')).toEqual(['en']);
  });
});

describe('making a bundle ASCII only', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scim-sync-ascii-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('escapes characters in comments (strings and plain templates as esbuild writes them), and the program says the same', () => {
    const path = file('comments.cjs', '/* caf\u00e9 \u2014 \u{1F600} */\n// \u00e9\nmodule.exports = ["caf\\xE9", `\\u2014${1}`];\n');
    asciiOnly(path);
    const escaped = readFileSync(path);
    expect(escaped.every((byte) => byte < 0x80)).toBe(true);
    const module = { exports: [] as unknown[] };
    new Function('module', escaped.toString('latin1'))(module);
    expect(module.exports).toEqual(['caf\u00e9', '\u20141']);
  });

  it.each([
    ['a raw template', 'module.exports = String.raw`caf\u00e9`;\n'],
    ['a regular expression', 'module.exports = /\\\u00e9/;\n'],
    ['a cooked tagged template', 'module.exports = ((s) => s[0])`\u2014`;\n'],
  ])('refuses a character outside ASCII in %s, naming it and leaving the file as it was', (_, text) => {
    const path = file('refused.cjs', text);
    expect(() => asciiOnly(path)).toThrow(/regular expression or a tagged template/);
    expect(readFileSync(path, 'utf8')).toBe(text);
  });

  it('a bundle written by an older build (not inside its wrapper) is not run: the launcher falls back to the compiled modules', () => {
    const path = file('old.cjs', 'module.exports.main = () => 0;\n');
    expect(loadBundle(path, { cache: false })).toBeNull();
  });
});

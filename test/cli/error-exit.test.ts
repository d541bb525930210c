/**
 * An error of ours reaches the operator as one line and the way to learn more; the stack only with
 * --debug, which every command takes.
 */
import { describe, expect, it } from 'vitest';
import { exitForError } from '../../src/cli/error-exit.js';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/io.js';

function capture(): Io & { lines: string[] } {
  const lines: string[] = [];
  return { lines, out: (t) => lines.push(t), err: (t) => lines.push(t) };
}

function bug(): Error {
  return new TypeError("Cannot read properties of undefined (reading 'id')\nsecond line");
}

describe('internal errors', () => {
  it('without --debug: one line and "rerun with --debug", no stack; exit 1', () => {
    const io = capture();
    expect(exitForError(bug(), io)).toBe(1);
    expect(io.lines).toEqual(["internal error: Cannot read properties of undefined (reading 'id')", 'rerun with --debug for details']);
  });

  it('with --debug: the stack', () => {
    const io = capture();
    expect(exitForError(bug(), io, { debug: true })).toBe(1);
    expect(io.lines).toHaveLength(1);
    expect(io.lines[0]).toMatch(/^internal error: TypeError: Cannot read properties of undefined \(reading 'id'\)\nsecond line\n\s+at bug /);
  });

  it('--debug is a global option, before or after the command', async () => {
    for (const args of [['--debug', 'schema'], ['schema', '--debug']]) {
      const io = capture();
      expect(await main(['node', 'scim-sync', ...args], io), args.join(' ')).toBe(0);
      expect(io.lines.join('\n')).toContain('"properties"');
    }
  });
});

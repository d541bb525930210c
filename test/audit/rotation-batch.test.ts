/**
 * Rotation within one write: a batch of records larger than a whole file rotates several times in
 * the same millisecond, and no rotated file may replace another; a new file that cannot be opened
 * after a rotation leaves no closed descriptor behind for close() to close again.
 */
import { appendFileSync, closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { LogRotation } from '../../src/audit/log-files.js';
import { LineAppender } from '../../src/state/line-appender.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('a batch several files long keeps every record, however many rotations fall in one millisecond', () => {
  dir = mkdtempSync(join(tmpdir(), 'rotation-batch-'));
  const file = join(dir, 'audit.jsonl');
  const rotation = new LogRotation(file, { maxFileMB: 0.0003, rotateDaily: false, retainFiles: 100_000, retainDays: 0 });
  const appender = new LineAppender(file, (code) => new Error(code), undefined, (fd, bytes) => rotation.due(fd, bytes));
  appender.open();
  appender.append(`${'x'.repeat(500)}\n`);
  appender.flush();
  let batch = '';
  for (let i = 0; i < 300; i++) batch += `${JSON.stringify({ i, pad: 'y'.repeat(400) })}\n`;
  appender.append(batch);
  appender.flush();
  appender.close();
  expect(appender.error).toBeNull();
  const kept = new Set<number>();
  for (const f of readdirSync(dir)) for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) if (line.startsWith('{')) kept.add((JSON.parse(line) as { i: number }).i);
  expect(kept.size).toBe(300);
});

it('a file that cannot be opened after a rotation: the write fails, and close() closes no other descriptor', () => {
  dir = mkdtempSync(join(tmpdir(), 'rotation-batch-'));
  const file = join(dir, 'audit.jsonl');
  let asked = 0;
  // The rotation moves the file aside, and a directory takes its name: the new file cannot be opened.
  const appender = new LineAppender(file, (code) => new Error(`cannot write: ${code}`), undefined, () => {
    if (asked++ > 0) return false;
    renameSync(file, `${file}.1`);
    mkdirSync(file);
    return true;
  });
  appender.open();
  appender.append('first\n');
  appender.flush();
  expect(appender.error?.message).toMatch(/cannot write/);
  // Takes the lowest free number: the one the appender closed.
  const other = openSync(join(dir, 'other.txt'), 'w');
  appender.close();
  expect(() => writeSync(other, 'still mine')).not.toThrow();
});

it('the size is looked at once a second at most: in between, the last size seen plus this process\'s writes decides', () => {
  dir = mkdtempSync(join(tmpdir(), 'rotation-batch-'));
  const file = join(dir, 'audit.jsonl');
  let now = new Date('2026-12-02T10:00:00.000Z');
  const rotation = new LogRotation(file, { maxFileMB: 1000 / (1024 * 1024), rotateDaily: true, retainFiles: 10, retainDays: 0 }, () => now);
  const fd = openSync(file, 'a');
  try {
    writeSync(fd, `${'a'.repeat(399)}\n`);
    expect(rotation.due(fd, 100)).toBe(false); // looked: 400 + 100
    writeSync(fd, `${'b'.repeat(99)}\n`);
    // Another process appends 450 bytes: not seen within the second.
    appendFileSync(file, `${'c'.repeat(449)}\n`);
    now = new Date(now.getTime() + 900);
    expect(rotation.due(fd, 100)).toBe(false); // 500 + 100 by what it knows
    writeSync(fd, `${'d'.repeat(99)}\n`);
    // This process's own writes past the limit: looked at again, and due, within the second too.
    expect(rotation.due(fd, 450)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['audit.20261202T100000900Z.jsonl']);
  } finally {
    closeSync(fd);
  }
  // A new file, a second later: looked at again.
  const next = openSync(file, 'a');
  try {
    writeSync(next, `${'e'.repeat(99)}\n`);
    expect(rotation.due(next, 100)).toBe(false);
    appendFileSync(file, `${'f'.repeat(899)}\n`);
    now = new Date(now.getTime() + 1_000);
    expect(rotation.due(next, 100)).toBe(true);
  } finally {
    closeSync(next);
  }
});

/**
 * Rotation within one write: a batch of records larger than a whole file rotates several times in
 * the same millisecond, and no rotated file may replace another; a new file that cannot be opened
 * after a rotation leaves no closed descriptor behind for close() to close again.
 */
import { mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
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

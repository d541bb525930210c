/**
 * A log that stops taking records (a full disk) loses none of those it did not take: they are
 * printed on stderr, marked, and kept in a spill file elsewhere, which the next start that can
 * write the log appends to it, on a line of its own after a torn one; the error says how many
 * and where. Real failures: /dev/full (ENOSPC on every write) and `ulimit -f` (a write cut short,
 * then EFBIG).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/audit-sink.js';
import { JsonlAuditSink } from '../../src/audit/jsonl-audit-sink.js';
import { LogReader } from '../../src/audit/read-log.js';

const WRITER = fileURLToPath(new URL('../support/audit-writer.ts', import.meta.url));

let dir: string;
let spillBase: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'scim-sync-unwritten-'));
  spillBase = mkdtempSync(join(tmpdir(), 'scim-sync-spill-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(spillBase, { recursive: true, force: true });
});

const record = (i: number): AuditRecord => ({
  time: new Date(Date.UTC(2026, 11, 1, 4, 0, i)).toISOString(), planId: 'plan-full', target: 'app', action: 'createUser', externalId: `B${String(i).padStart(4, '0')}`, outcome: 'ok',
});
const keys = (records: AuditRecord[]) => records.map((r) => r.externalId);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => `B${String(from + k).padStart(4, '0')}`);

describe('audit records a full log did not take', () => {
  it('of a log that is no regular file (/dev/full): printed marked, the error says how many and where; later ones kept too', async () => {
    // Every write fails with ENOSPC, as on a full disk.
    const printed: string[] = [];
    const sink = new JsonlAuditSink('/dev/full', { spillBase, printUnwritten: (line) => printed.push(line) });
    for (let i = 1; i <= 3; i++) sink.record(record(i));
    expect(() => sink.flush()).toThrow('ENOSPC');
    // After the failure: kept as well, not dropped.
    for (let i = 4; i <= 5; i++) sink.record(record(i));
    const error = (await sink.close().catch((e: unknown) => e)) as Error;
    expect(error.message).toBe(
      'cannot write the audit log /dev/full: ENOSPC (no space left on the device); 5 audit records could not be written to the log: printed on stderr ' +
        '(lines starting "unwritten audit record:") only (the log is not a regular file: nothing is kept to append to it later)',
    );
    expect(printed.map((l) => JSON.parse(l.slice('unwritten audit record: '.length)).externalId)).toEqual(range(1, 5));
    expect(readdirSync(spillBase)).toEqual([]);
  });

  it('a write cut short leaves a torn line, which the records appended back do not continue: every record once', async () => {
    const file = join(dir, 'audit.jsonl');
    // 2 KiB at most per file: the batch of 25 records (about 3.7 KiB) is cut inside a line, then
    // EFBIG; the rest fits in the spill file.
    const child = spawnSync('bash', ['-c', `ulimit -f 2 && exec "${process.execPath}" --import tsx "${WRITER}" "${file}" "${spillBase}" 25`], { encoding: 'utf8', timeout: 60_000 });
    expect(child.status, child.stderr).toBe(0);
    const out = JSON.parse(child.stdout) as { error: string; printed: string[] };
    const spillDir = join(spillBase, `scim-sync-${process.getuid!()}`);
    const spill = join(spillDir, readdirSync(spillDir)[0]!);
    const log = readFileSync(file, 'utf8');
    expect(log.length).toBe(2048);
    expect(log.endsWith('\n')).toBe(false);
    const whole = log.split('\n').length - 1;
    // The torn record is among those kept, whole.
    expect(out.printed.map((l) => JSON.parse(l.slice('unwritten audit record: '.length)).externalId)).toEqual(range(whole + 1, 25));
    expect(out.error).toMatch(new RegExp(`^cannot write the audit log .*: EFBIG.*; ${25 - whole} audit records could not be written to the log: printed on stderr .* and kept in ${spill}, appended `));
    expect(readFileSync(spill, 'utf8')).toBe(out.printed.map((l) => `${l.slice('unwritten audit record: '.length)}\n`).join(''));

    // Without the limit: the next start appends them on a new line.
    const again = spawnSync(process.execPath, ['--import', 'tsx', WRITER, file, spillBase, '0'], { encoding: 'utf8', timeout: 60_000 });
    expect(JSON.parse(again.stdout)).toEqual({ error: null, printed: [] });
    expect(readdirSync(spillDir)).toEqual([]);
    const batch = await new LogReader(file).read();
    expect(keys(batch.records)).toEqual(range(1, 25));
    expect(batch.problems).toEqual([`${file}:${whole + 1}: not a log record (skipped)`]);
  });
});

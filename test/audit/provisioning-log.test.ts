/**
 * The provisioning log's parts over real files: which values are redacted, which records a query
 * matches, rotation by day and retention, and the files of a log named per host.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/audit-sink.js';
import { JsonlAuditSink } from '../../src/audit/jsonl-audit-sink.js';
import { LogRotation, activeLogFile, logFiles } from '../../src/audit/log-files.js';
import { matchesQuery, type LogQuery } from '../../src/audit/log-query.js';
import { LogReader } from '../../src/audit/read-log.js';
import { searchLog } from '../../src/audit/search-log.js';
import { redactChanges } from '../../src/audit/redact-attributes.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'scim-sync-log-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('redactChanges', () => {
  const listed = ['phoneNumbers', 'addresses', 'name.familyName', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter'];
  it.each([
    ['phoneNumbers', true],
    ['phoneNumbers[type eq "work"].value', true],
    ['PHONENUMBERS[type eq "mobile"]', true],
    ['addresses[type eq "work"].locality', true],
    ['name.familyName', true],
    ['name', true],
    ['name.givenName', false],
    ['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter', true],
    ['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department', false],
    ['title', false],
    ['emails[type eq "work"].value', false],
  ])('%s: redacted %s', (path, redacted) => {
    const [change] = redactChanges([{ path, from: 'old', to: 'new' }], listed);
    expect(change).toEqual(redacted ? { path, from: '[redacted]', to: '[redacted]' } : { path, from: 'old', to: 'new' });
  });
});

describe('values of listed attributes quoted by an error', () => {
  const settings = { maxFileMB: 0, rotateDaily: false, retainFiles: 0, retainDays: 0, redactAttributes: ['title', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter'] };
  let n = 0;
  const written = (record: AuditRecord): string => {
    const file = join(dir, `audit-${++n}.jsonl`);
    const sink = new JsonlAuditSink(file, { settings });
    sink.record(record);
    sink.flush();
    return readFileSync(file, 'utf8');
  };

  it("are taken out of the error, the note and the steps: the old and new values of an update's changes, and what a create sends", () => {
    const failed = (message: string): AuditRecord => ({
      time: '2026-11-30T10:00:00.000Z', planId: 'plan-1', target: 'crm', action: 'updateUser', externalId: 'E1', label: 'ada@example.com', outcome: 'failed', status: 400,
      error: { code: 'BAD_REQUEST', message: `request refused (HTTP 400): ${message}`, detail: message },
      note: `refused: ${message}`,
      steps: [{ step: 'action', detail: 'updateUser' }, { step: 'export', detail: `request refused (HTTP 400): ${message}`, outcome: 'failed' }],
    });
    const update = written({
      ...failed('title "SECRET-TITLE-XYZ" is not allowed (was "Old \\"Quoted\\" Title"; ITEM 7 of form IT)'),
      modifiedProperties: [{ path: 'title', from: 'Old "Quoted" Title', to: 'SECRET-TITLE-XYZ' }, { path: 'displayName', from: 'Ada', to: 'IT' }],
    });
    expect(update).not.toMatch(/SECRET-TITLE-XYZ|Quoted/i);
    expect(JSON.parse(update).error.detail).toBe('title "[redacted]" is not allowed (was "[redacted]"; ITEM 7 of form IT)');
    expect(JSON.parse(update).steps[1].detail).toBe('request refused (HTTP 400): title "[redacted]" is not allowed (was "[redacted]"; ITEM 7 of form IT)');
    expect(JSON.parse(update).note).toBe('refused: title "[redacted]" is not allowed (was "[redacted]"; ITEM 7 of form IT)');
    // A create carries no changes: what it sends holds the mapped values (an extension's too, in any case).
    const create = written({
      ...failed('costCenter cc-4711-SECRET unknown; title secret-title-abc too long'),
      action: 'createUser',
      sends: [{ userName: 'ada@example.com', title: 'Secret-Title-ABC', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { costCenter: 'CC-4711-secret', department: 'Sales' } }],
    });
    expect(JSON.parse(create).error.detail).toBe('costCenter [redacted] unknown; title [redacted] too long');
    // Never written itself.
    expect(create).not.toContain('"sends"');
    expect(create).toContain('ada@example.com');
  });
});

describe('matchesQuery', () => {
  const r: AuditRecord = {
    time: '2026-11-30T10:00:00.000Z', planId: 'plan-1', cycleId: 'plan-1', target: 'slack', action: 'updateUser',
    externalId: 'E1', label: 'ada@example.com', outcome: 'partial',
  };
  it.each<[LogQuery, boolean]>([
    [{}, true],
    [{ user: 'e1' }, true],
    [{ user: 'ADA@example.com' }, true],
    [{ user: 'E2' }, false],
    [{ targets: ['zoom', 'slack'] }, true],
    [{ targets: ['zoom'] }, false],
    [{ actions: ['updateuser'] }, true],
    [{ actions: ['createUser'] }, false],
    [{ statuses: ['warning'] }, true],
    [{ statuses: ['partial'] }, true],
    [{ statuses: ['success', 'failure'] }, false],
    [{ cycle: 'plan-1' }, true],
    [{ cycle: 'plan-2' }, false],
    [{ since: new Date('2026-11-30T10:00:00Z'), until: new Date('2026-11-30T10:00:00Z') }, true],
    [{ since: new Date('2026-11-30T10:00:01Z') }, false],
    [{ until: new Date('2026-11-30T09:59:59Z') }, false],
  ])('%j: %s', (query, expected) => {
    expect(matchesQuery(r, query)).toBe(expected);
  });
});

/** The rotation's verdict on the active file: due (the file moved aside and pruned). */
function rotates(rotation: LogRotation, file: string): void {
  const fd = openSync(file, 'a');
  try {
    expect(rotation.due(fd, 10)).toBe(true);
  } finally {
    closeSync(fd);
  }
}

describe('rotation and the files of a log', () => {
  const record = (n: number): AuditRecord => ({ time: `2026-11-30T10:00:0${n}.000Z`, planId: `plan-${n}`, target: 'app', action: 'apply.start', outcome: 'info' });

  it('rotateDaily: the first write of a new UTC day moves the file aside; retainDays removes old rotated files', () => {
    const file = join(dir, 'audit.jsonl');
    writeFileSync(file, `${JSON.stringify(record(1))}\n`);
    utimesSync(file, new Date('2026-11-29T23:59:00Z'), new Date('2026-11-29T23:59:00Z'));
    for (const day of ['2026-10-20', '2026-11-10']) {
      const rotated = join(dir, `audit.${day.replace(/-/g, '')}T000000000Z.jsonl`);
      writeFileSync(rotated, `${JSON.stringify(record(0))}\n`);
      utimesSync(rotated, new Date(`${day}T12:00:00Z`), new Date(`${day}T12:00:00Z`));
    }
    const rotation = new LogRotation(file, { maxFileMB: 0, rotateDaily: true, retainFiles: 5, retainDays: 2 }, () => new Date('2026-11-30T00:00:01Z'));
    rotates(rotation, file);
    // Past the newest two (as many as retainDays), and older than two days before the newest record: gone.
    expect(readdirSync(dir).sort()).toEqual(['audit.20261110T000000000Z.jsonl', 'audit.20261130T000001000Z.jsonl']);
    for (const f of readdirSync(dir)) rmSync(join(dir, f));
    // Written today: not due again.
    writeFileSync(file, `${JSON.stringify(record(2))}\n`);
    const again = openSync(file, 'a');
    try {
      expect(new LogRotation(file, { maxFileMB: 0, rotateDaily: true, retainFiles: 5, retainDays: 30 }).due(again, 10)).toBe(false);
    } finally {
      closeSync(again);
    }
  });

  it('a clock jumped ahead deletes no history: ages count from the newest record, and the file just rotated stays', () => {
    const file = join(dir, 'audit.jsonl');
    const days = ['2026-11-25', '2026-11-26', '2026-11-27', '2026-11-28', '2026-11-29'];
    for (const day of days) {
      const rotated = join(dir, `audit.${day.replace(/-/g, '')}T000000000Z.jsonl`);
      writeFileSync(rotated, `${JSON.stringify(record(0))}\n`);
      utimesSync(rotated, new Date(`${day}T23:00:00Z`), new Date(`${day}T23:00:00Z`));
    }
    writeFileSync(file, `${JSON.stringify(record(1))}\n`);
    utimesSync(file, new Date('2026-11-30T09:00:00Z'), new Date('2026-11-30T09:00:00Z'));
    // The clock says 100 days later.
    const rotation = new LogRotation(file, { maxFileMB: 0, rotateDaily: true, retainFiles: 10, retainDays: 90 }, () => new Date('2027-03-10T00:00:00Z'));
    rotates(rotation, file);
    expect(logFiles(file)).toHaveLength(6);
    // A day later by that clock, the file it wrote is the newest: the older ones, 100 days behind it
    // across a gap longer than the retention, are not judged by it.
    writeFileSync(file, `${JSON.stringify(record(2))}\n`);
    utimesSync(file, new Date('2027-03-10T09:00:00Z'), new Date('2027-03-10T09:00:00Z'));
    const jumped = new LogRotation(file, { maxFileMB: 0, rotateDaily: true, retainFiles: 10, retainDays: 90 }, () => new Date('2027-03-11T00:00:00Z'));
    rotates(jumped, file);
    expect(logFiles(file)).toHaveLength(7);
    for (const f of logFiles(file)) rmSync(f);
    for (const day of days) {
      const rotated = join(dir, `audit.${day.replace(/-/g, '')}T000000000Z.jsonl`);
      writeFileSync(rotated, `${JSON.stringify(record(0))}\n`);
      utimesSync(rotated, new Date(`${day}T23:00:00Z`), new Date(`${day}T23:00:00Z`));
    }
    // retainFiles still holds, newest by what was last written.
    writeFileSync(file, `${JSON.stringify(record(2))}\n`);
    utimesSync(file, new Date('2026-12-01T09:00:00Z'), new Date('2026-12-01T09:00:00Z'));
    const few = new LogRotation(file, { maxFileMB: 0, rotateDaily: true, retainFiles: 2, retainDays: 90 }, () => new Date('2026-12-02T00:00:00Z'));
    rotates(few, file);
    expect(logFiles(file).map((f) => f.slice(dir.length + 1)).sort()).toEqual(['audit.20261129T000000000Z.jsonl', 'audit.20261202T000000000Z.jsonl']);
    // Files a week apart with retainDays 5 (a weekly run): every gap is longer than the retention,
    // and ages are still judged, from the newest file below the first gap.
    for (const f of logFiles(file)) if (f !== file) rmSync(f);
    const weeks = Array.from({ length: 10 }, (_, i) => new Date(Date.UTC(2026, 8, 1 + 7 * i, 12)));
    for (const at of weeks) {
      const rotated = join(dir, `audit.${at.toISOString().replace(/[-:.]/g, '')}.jsonl`);
      writeFileSync(rotated, `${JSON.stringify(record(0))}\n`);
      utimesSync(rotated, at, at);
    }
    writeFileSync(file, `${JSON.stringify(record(3))}\n`);
    utimesSync(file, new Date('2026-11-17T12:00:00Z'), new Date('2026-11-17T12:00:00Z'));
    const weekly = new LogRotation(file, { maxFileMB: 0, rotateDaily: true, retainFiles: 20, retainDays: 5 }, () => new Date('2026-11-18T00:00:00Z'));
    rotates(weekly, file);
    // The newest five (as many as retainDays) stay whatever their age; the older ones go.
    expect(logFiles(file).filter((f) => f !== file)).toHaveLength(5);
    // Files a month apart with the defaults (retainDays 90): one run, aged from its newest record.
    for (const f of logFiles(file)) if (f !== file) rmSync(f);
    for (let month = 0; month < 10; month++) {
      const at = new Date(Date.UTC(2026, month, 1, 12));
      const rotated = join(dir, `audit.${at.toISOString().replace(/[-:.]/g, '')}.jsonl`);
      writeFileSync(rotated, `${JSON.stringify(record(0))}\n`);
      utimesSync(rotated, at, at);
    }
    writeFileSync(file, `${JSON.stringify(record(3))}\n`);
    utimesSync(file, new Date('2026-11-29T12:00:00Z'), new Date('2026-11-29T12:00:00Z'));
    const monthly = new LogRotation(file, { maxFileMB: 0, rotateDaily: true, retainFiles: 20, retainDays: 90 }, () => new Date('2026-11-30T00:00:00Z'));
    rotates(monthly, file);
    // Fewer files than retainDays: none is removed by age; retainFiles (20) decides first.
    expect(logFiles(file).filter((f) => f !== file)).toHaveLength(11);
    // retainFiles 0 keeps none, the file just rotated neither.
    writeFileSync(file, `${JSON.stringify(record(3))}\n`);
    utimesSync(file, new Date('2026-12-02T09:00:00Z'), new Date('2026-12-02T09:00:00Z'));
    const none = new LogRotation(file, { maxFileMB: 0, rotateDaily: true, retainFiles: 0, retainDays: 90 }, () => new Date('2026-12-03T00:00:00Z'));
    rotates(none, file);
    expect(logFiles(file).filter((f) => f !== file)).toEqual([]);
  });

  it('a clock that jumps ahead twice (or a long stop after a jump) does not delete the history before the first jump', () => {
    const file = join(dir, 'audit.jsonl');
    for (let day = 1; day <= 30; day++) {
      const at = new Date(Date.UTC(2026, 5, day, 12));
      const rotated = join(dir, `audit.${at.toISOString().replace(/[-:.]/g, '')}.jsonl`);
      writeFileSync(rotated, `${JSON.stringify(record(0))}\n`);
      utimesSync(rotated, at, at);
    }
    const rotateAt = (written: string, now: string) => {
      writeFileSync(file, `${JSON.stringify(record(1))}\n`);
      utimesSync(file, new Date(written), new Date(written));
      rotates(new LogRotation(file, { maxFileMB: 0, rotateDaily: true, retainFiles: 1000, retainDays: 30 }, () => new Date(now)), file);
    };
    // The newest 30 files (as many as retainDays) are never removed by age: each rotation lets at
    // most the one file pushed out of them go, not the history.
    const june = () => logFiles(file).filter((f) => f.includes('audit.202606')).length;
    rotateAt('2027-07-01T12:00:00Z', '2027-07-02T00:00:00Z');
    expect(june()).toBe(29);
    rotateAt('2027-08-11T12:00:00Z', '2027-08-12T00:00:00Z');
    expect(june()).toBe(28);
  });

  it('{host}: this process writes its host\'s file; the reader reads every host\'s, rotated too, oldest first', async () => {
    const configured = join(dir, 'audit-{host}.jsonl');
    const mine = activeLogFile(configured);
    expect(mine).toBe(join(dir, `audit-${hostname().replace(/[^A-Za-z0-9._-]/g, '_')}.jsonl`));
    writeFileSync(join(dir, 'audit-other.example.com.20261130T000000000Z.jsonl'), `${JSON.stringify(record(1))}\n`);
    writeFileSync(join(dir, 'audit-other.example.com.jsonl'), `${JSON.stringify(record(3))}\nnot json\n`);
    writeFileSync(join(dir, 'unrelated.jsonl'), `${JSON.stringify(record(9))}\n`);
    const sink = new JsonlAuditSink(configured);
    sink.record(record(2));
    await sink.close();
    expect(logFiles(configured).map((f) => f.slice(dir.length + 1))).toEqual([
      'audit-other.example.com.20261130T000000000Z.jsonl',
      ...['audit-other.example.com.jsonl', mine.slice(dir.length + 1)].sort(),
    ]);
    const reader = new LogReader(configured);
    const batch = await reader.read();
    expect(batch.records.map((r) => r.planId)).toEqual(['plan-1', 'plan-2', 'plan-3']);
    expect(batch.problems).toEqual([`${join(dir, 'audit-other.example.com.jsonl')}:2: not a log record (skipped)`]);
    // Read again: only what was appended since, and a line without its newline waits.
    const more = new JsonlAuditSink(configured);
    more.record(record(4));
    await more.close();
    writeFileSync(join(dir, 'audit-other.example.com.jsonl'), `${JSON.stringify(record(3))}\nnot json\n${JSON.stringify(record(5))}`);
    expect(await reader.read()).toEqual({ records: [expect.objectContaining({ planId: 'plan-4', cycleId: 'plan-4' })], problems: [], unreadable: 0 });
    writeFileSync(join(dir, 'audit-other.example.com.jsonl'), '\n', { flag: 'a' });
    expect(await reader.read()).toEqual({ records: [record(5)], problems: [], unreadable: 0 });
  });

  it("logrotate's files (numbered, dated, gzipped) and the tool's gzipped ones are read, oldest first; others and retention leave them be", async () => {
    const file = join(dir, 'audit.jsonl');
    const at = (name: string, text: string | Buffer, day: number) => {
      writeFileSync(join(dir, name), text);
      const then = new Date(Date.UTC(2026, 10, day));
      utimesSync(join(dir, name), then, then);
    };
    const rec = (n: number): AuditRecord => ({ ...record(n), time: new Date(Date.UTC(2026, 10, 30, 10, 0, n)).toISOString() });
    const text = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => `${JSON.stringify(rec(from + k))}\n`).join('');
    at('audit.jsonl.3.gz', gzipSync(text(1, 3)), 20);
    at('audit.20261121T000000000Z.jsonl.gz', gzipSync(`${text(3, 5)}not json\n`), 21);
    at('audit.jsonl-20261122.gz', gzipSync(text(5, 7)), 22);
    at('audit.jsonl.2', text(7, 9), 23);
    // copytruncate's copy, written the same millisecond as .2 would be: the lower number is newer.
    at('audit.jsonl.1', text(9, 11), 23);
    at('audit.jsonl.bak', text(20, 21), 24);
    writeFileSync(file, text(11, 12));
    expect(logFiles(file).map((f) => f.slice(dir.length + 1))).toEqual([
      'audit.jsonl.3.gz', 'audit.20261121T000000000Z.jsonl.gz', 'audit.jsonl-20261122.gz', 'audit.jsonl.2', 'audit.jsonl.1', 'audit.jsonl',
    ]);
    const reader = new LogReader(file);
    const batch = await reader.read();
    expect(batch.records.map((r) => r.planId)).toEqual(Array.from({ length: 11 }, (_, k) => `plan-${k + 1}`));
    expect(batch.problems).toEqual([`${join(dir, 'audit.20261121T000000000Z.jsonl.gz')}:3: not a log record (skipped)`]);
    // Read again (a follow): nothing twice, the gzipped files included.
    expect(await reader.read()).toEqual({ records: [], problems: [], unreadable: 0 });
    const found = await searchLog(file, () => true, { limit: 100, chunkBytes: 64 });
    expect(found.records.map((r) => r.planId)).toEqual(batch.records.map((r) => r.planId).reverse());
    expect(found).toMatchObject({ exhaustive: true, unreadable: 1 });
    // A gzipped file that is damaged: what comes before the damage is read, the rest named.
    const whole = gzipSync(text(12, 14));
    at('audit.jsonl.4.gz', whole.subarray(0, whole.length - 12), 19);
    const damaged = await new LogReader(file).read();
    expect(damaged.problems).toContainEqual(expect.stringMatching(new RegExp(`^${join(dir, 'audit.jsonl.4.gz').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot be decompressed after line \\d`)));
    // The tool's retention prunes its own rotated files only.
    rotates(new LogRotation(file, { maxFileMB: 0, rotateDaily: true, retainFiles: 1, retainDays: 0 }, () => new Date(Date.UTC(2026, 11, 30))), file);
    expect(readdirSync(dir).sort()).toEqual(['audit.20261230T000000000Z.jsonl', 'audit.jsonl-20261122.gz', 'audit.jsonl.1', 'audit.jsonl.2', 'audit.jsonl.3.gz', 'audit.jsonl.4.gz', 'audit.jsonl.bak']);
  });

  it('a large log: read in chunks, lines cut by a chunk read whole, a line longer than a chunk too; with a filter only the matches are held', async () => {
    const file = join(dir, 'audit.jsonl');
    const big = (i: number): AuditRecord => ({
      time: new Date(Date.UTC(2026, 10, 30) + i * 1000).toISOString(), planId: `plan-${Math.floor(i / 100)}`, target: 'app', action: 'updateUser',
      externalId: i % 1000 === 7 ? 'ada' : `E${i}`, outcome: 'ok', ...(i === 40_000 ? { note: 'x'.repeat(9 * 1024 * 1024) } : {}),
      ...(i % 100 === 0 ? { initiator: 'cli', by: 'ops@host' } : {}),
    });
    const out = openSync(file, 'w');
    for (let i = 0; i < 60_000; i += 1000) {
      writeSync(out, `${Array.from({ length: 1000 }, (_, k) => JSON.stringify(big(i + k))).join('\n')}\n`);
      if (i === 30_000) writeSync(out, 'not json\n'.repeat(25));
    }
    closeSync(out);
    const batch = await new LogReader(file).read((r) => r.externalId === 'ada' || r.note !== undefined);
    const expected = [...Array.from({ length: 60 }, (_, k) => k * 1000 + 7), 40_000].sort((a, b) => a - b);
    expect(batch.records.map((r) => r.time)).toEqual(expected.map((i) => big(i).time));
    expect(batch.records.find((r) => r.note !== undefined)?.note).toHaveLength(9 * 1024 * 1024);
    // Who started the cycle, from a record the filter did not keep.
    expect(batch.records[0]).toMatchObject({ externalId: 'ada', initiator: 'cli', by: 'ops@host' });
    // Damaged lines: all counted, the first few named, the rest summed up.
    expect(batch.unreadable).toBe(25);
    expect(batch.problems).toHaveLength(21);
    expect(batch.problems[0]).toBe(`${file}:31001: not a log record (skipped)`);
    expect(batch.problems[20]).toBe(`${file}: 5 more lines that are not log records (skipped)`);
  });
});

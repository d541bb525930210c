/**
 * Inputs nobody meant: a header with an unclosed quote, a bidirectional override in a name, a state
 * file that holds `null`, a log line that is not a record, a spreadsheet formula in a report value,
 * and a target whose listing comes back empty. Each ends in the documented code and no damage.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { formatAccessCsv } from '../../src/cli/format-access-report.js';
import type { AccessReport } from '../../src/reporting/access-report.js';
import { Harness, person } from '../support/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await Harness.start();
});
afterEach(async () => {
  await h.close();
});

it('a header whose quote never closes fails validate at once instead of reading the whole file', async () => {
  const body = Array.from({ length: 200_000 }, (_, i) => `E${i},user${i}@example.com,F,L,T,Eng,active,,`).join('\n');
  writeFileSync(h.csv, `employee_id,"first_name,last_name,email,title,department,status,groups,manager_id\n${body}\n`);
  const started = Date.now();
  const r = await h.cli('validate', '--config', h.configFile);
  expect(r.code).toBe(4);
  expect(r.err).toMatch(/people\.csv:1: the header line does not end within \d+ characters \(an unclosed quote in it\?\)/);
  expect(Date.now() - started).toBeLessThan(20_000);
});

it('a bidirectional override in a name makes the record invalid: it never reaches the app', async () => {
  // One bad row in 30: under the invalid-records limit, so the run goes on without it (exit 1: dirty read).
  h.writePeople(Array.from({ length: 30 }, (_, i) => person(i + 1, i === 1 ? { first: 'Eve\u202Edrow' } : {})));
  const r = await h.run();
  expect(r.code, r.err + r.out).toBe(1);
  expect(r.out).toContain('holds the control character U+202E');
  expect(h.sandbox.store.users()).toHaveLength(29);
  expect(h.sandbox.store.findUserByUserName('user2@example.com')).toBeUndefined();
});

it('a quarantine file holding null is a state error (exit 4), not a crash', async () => {
  h.writePeople([person(1)]);
  mkdirSync(join(h.dir, 'state'), { recursive: true });
  writeFileSync(join(h.dir, 'state', 'quarantine.json'), 'null');
  const r = await h.run();
  expect(r.code).toBe(4);
  expect(r.err).toContain('quarantine.json is damaged (not a quarantine file)');
  expect(r.err).not.toContain('internal error');
  expect(h.writes()).toEqual([]);
});

it('log lines that are not records are skipped and named, not a crash', async () => {
  h.writePeople([person(1)]);
  expect((await h.run()).code).toBe(0);
  appendFileSync(join(h.dir, 'state', 'audit.jsonl'), 'null\n"x"\n');
  const r = await h.cli('log', '--config', h.configFile);
  expect(r.code, r.err).toBe(0);
  expect(r.out).toContain('createUser');
  expect(r.err).toMatch(/audit\.jsonl:\d+: not a log record \(skipped\)/);
});

it('a report value that would start a spreadsheet formula is neutralised in CSV', () => {
  const report = {
    generatedAt: '2026-11-30T00:00:00Z',
    source: 'csv',
    targets: [{ target: 'app', unmanaged: [{ userName: '=HYPERLINK("http://x")', scimId: '1', externalId: null, active: true }], orphaned: [], deactivated: [], access: [], notes: [] }],
  } as unknown as AccessReport;
  const csv = formatAccessCsv(report);
  expect(csv).toContain(`"'=HYPERLINK(""http://x"")"`);
  expect(csv).not.toMatch(/(^|,)=HYPERLINK/m);
});

it('an empty listing of a target whose linked people left the source deprovisions nobody and asks nothing by id', async () => {
  const ten = Array.from({ length: 10 }, (_, i) => person(i + 1));
  h.writePeople(ten);
  expect((await h.run()).code).toBe(0);
  for (const u of h.sandbox.store.users()) h.sandbox.store.deleteUser(u['id'] as string);
  h.sandbox.clearRequests();
  h.writePeople(ten.slice(0, 7));
  const r = await h.run();
  expect(r.code, r.err + r.out).toBe(0);
  expect(r.out).toContain('the target lists no account, though 3 linked people have left the source: not deprovisioned this run');
  expect(h.sandbox.requests.filter((q) => /^\/Users\/./.test(q.path))).toEqual([]);
});

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

it('a header whose quote never closes fails validate, naming line 1, in one pass over the header', async () => {
  // An unclosed quote swallows every line break after it: 500,000 of them in the first MiB. Parsing
  // the text so far at each one (as before) would take hours, far past the test's timeout, on any
  // machine; one pass takes milliseconds. No clock is read here.
  writeFileSync(h.csv, `employee_id,"first_name,last_name,email\n${'\n'.repeat(500_000)}${'E1,a@example.com,A,B\n'.repeat(50_000)}`);
  const r = await h.cli('validate', '--config', h.configFile);
  expect(r.code).toBe(4);
  expect(r.err).toMatch(/people\.csv:1: the header line does not end within \d+ characters \(an unclosed quote in it\?\)/);

  // A file that ends inside the quote says so, rather than "no header line".
  writeFileSync(h.csv, `employee_id,"first_name,last_name,email\nE1,a@example.com,A,B\n`);
  const short = await h.cli('validate', '--config', h.configFile);
  expect(short.code).toBe(4);
  expect(short.err).toMatch(/people\.csv:1: the header line does not end before the end of the file \(an unclosed quote in it\?\)/);
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

it('an empty listing of a target whose linked people left the source deprovisions nobody and asks by id only about accounts it would create again', async () => {
  const ten = Array.from({ length: 10 }, (_, i) => person(i + 1));
  h.writePeople(ten);
  expect((await h.run()).code).toBe(0);
  const ids = ten.map((p) => String(h.sandbox.store.findUserByUserName(p.email!)!['id']));
  for (const id of ids) h.sandbox.store.deleteUser(id);
  h.sandbox.clearRequests();
  h.writePeople(ten.slice(0, 7));
  const r = await h.run('--override-safety');
  expect(r.code, r.err + r.out).toBe(0);
  expect(r.out).toContain('the target lists no account, though 3 linked people have left the source: not deprovisioned this run');
  // Three of the seven who stay, read before they are created again; none of the leavers.
  expect(h.sandbox.requests.filter((q) => /^\/Users\/./.test(q.path)).map((q) => `${q.method} ${q.path} ${q.status}`)).toEqual(ids.slice(0, 3).map((id) => `GET /Users/${id} 404`));
});

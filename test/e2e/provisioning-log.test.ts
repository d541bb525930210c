/**
 * The provisioning log as data, over real HTTP and real files: runs against two sandboxes, then
 * `scim-sync log` queries by person, target, action, status, cycle and time, each answering exactly
 * its records; updates carry old → new values with the configured attributes redacted; a dirty
 * read's held deprovisions are records; the log rotates by size and is read across its files; and
 * `--follow` prints what a later run appends.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { Harness, TOKEN, peopleCsv, person, type Person } from '../support/harness.js';

let h: Harness;
let crm: Sandbox;
const team: Person[] = Array.from({ length: 20 }, (_, i) => person(i + 1));
const by = `${userInfo().username}@${hostname()}`;

/** The harness config with a second target, `crm`, and `audit` settings (YAML lines indented by 2). */
function configure(audit: string): void {
  const text = readFileSync(h.configFile, 'utf8')
    .replace('targets:\n', `targets:\n  crm:\n    url: ${crm.url}\n    auth: { type: bearer, token: "\${env:TEST_SCIM_TOKEN}" }\n`)
    .concat(`audit:\n${audit}`);
  writeFileSync(h.configFile, text);
}

beforeEach(async () => {
  h = await Harness.start({ safety: '  maxInvalidRecordsPercent: 50' });
  crm = await startSandbox({ token: TOKEN });
  h.writePeople(team);
});
afterEach(async () => {
  await crm.close();
  await h.close();
});

async function log(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return h.cli('log', '--config', h.configFile, ...args);
}

async function logJson(...args: string[]): Promise<Record<string, unknown>[]> {
  const r = await log('--json', ...args);
  expect(r.code, r.err).toBe(0);
  return r.out === '' ? [] : r.out.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** `[action, person, outcome]` of each record, the shape most assertions compare. */
const triples = (records: Record<string, unknown>[]) => records.map((r) => [r['target'], r['action'], r['externalId'] ?? null, r['outcome']]);

const cycleOf = (records: Record<string, unknown>[], n: number): string => records.filter((r) => r['action'] === 'apply.start')[n]!['cycleId'] as string;

describe('scim-sync log', () => {
  it('answers each filter with exactly its records: person, target, action, status, cycle, time', async () => {
    configure('  redactAttributes: [title]\n');
    const first = await h.run();
    expect(first.code, first.err + first.out).toBe(0);
    const between = new Date().toISOString();
    h.sandbox.clearRequests();

    // E1002 changes title (redacted) and department; E1020 leaves (5%, under the safety limit).
    const changed = team.slice(0, 19).map((p) => (p.id === 'E1002' ? { ...p, title: 'Lead', department: 'Sales' } : p));
    writeFileSync(h.csv, peopleCsv(changed));
    const second = await h.run('--target', 'app');
    expect(second.code, second.err + second.out).toBe(0);
    expect(h.writes().map((w) => `${w.method} ${w.path}`).sort()).toEqual([
      `PATCH /Users/${h.sandbox.store.findUserByUserName('user2@example.com')!['id']}`,
      `PATCH /Users/${h.sandbox.store.findUserByUserName('user20@example.com')!['id']}`,
    ].sort());

    const all = await logJson();
    const [cycle1, cycle2] = [cycleOf(all, 0), cycleOf(all, 1)];
    expect(cycle1).not.toBe(cycle2);
    // Every record says who started it and which cycle it belongs to.
    for (const r of all) expect(r).toMatchObject({ initiator: 'cli', by, cycleId: r['planId'] });

    // Person: by source key, by userName (= email here), case-insensitively; oldest first.
    const person2 = await logJson('--user', 'E1002');
    // Both targets' creates ran in parallel: in either order, before the update.
    expect(triples(person2.slice(0, 2)).sort()).toEqual([
      ['app', 'createUser', 'E1002', 'ok'],
      ['crm', 'createUser', 'E1002', 'ok'],
    ]);
    expect(triples(person2.slice(2))).toEqual([['app', 'updateUser', 'E1002', 'ok']]);
    expect(await logJson('--user', 'USER2@example.com')).toEqual(person2);
    const update = person2[2]!;
    expect(update).toMatchObject({
      cycleId: cycle2,
      label: 'user2@example.com',
      scimId: h.sandbox.store.findUserByUserName('user2@example.com')!['id'],
      attempts: 1,
      modifiedProperties: [
        { path: 'title', from: '[redacted]', to: '[redacted]' },
        { path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department', from: 'Eng', to: 'Sales' },
      ],
    });
    expect(update['changeId']).toMatch(/\S/);
    expect(typeof update['durationMs']).toBe('number');
    expect(JSON.stringify(all)).not.toContain('Lead');

    // Target.
    const crmRecords = await logJson('--target', 'crm');
    expect(crmRecords).toHaveLength(20);
    expect(crmRecords.every((r) => r['action'] === 'createUser' && r['outcome'] === 'ok' && r['cycleId'] === cycle1)).toBe(true);

    // Action, and status (the outcome, or the console's word for it).
    expect(triples(await logJson('--action', 'deprovisionUser'))).toEqual([['app', 'deprovisionUser', 'E1020', 'ok']]);
    expect(triples(await logJson('--action', 'updateUser', '--status', 'success'))).toEqual([['app', 'updateUser', 'E1002', 'ok']]);
    expect(await logJson('--status', 'failed')).toEqual([]);

    // Cycle.
    const second2 = await logJson('--cycle', cycle2);
    expect(triples(second2)).toEqual([
      ['*', 'apply.start', null, 'info'],
      ['app', 'updateUser', 'E1002', 'ok'],
      ['app', 'deprovisionUser', 'E1020', 'ok'],
      ['*', 'apply.end', null, 'info'],
    ]);

    // Time: an ISO instant between the runs, and durations back from now.
    expect(await logJson('--since', between)).toEqual(second2);
    expect((await logJson('--until', between)).every((r) => r['cycleId'] === cycle1)).toBe(true);
    expect(await logJson('--until', between)).toHaveLength(all.length - second2.length);
    expect(await logJson('--since', '1h')).toEqual(all);
    expect(await logJson('--until', '1h')).toEqual([]);

    // A dirty read (a duplicate key): E1019's deactivation is held, and that is a record.
    writeFileSync(h.csv, peopleCsv([...changed.slice(0, 18), { ...team[2]!, title: 'Somebody else' }]));
    const third = await h.run('--target', 'app');
    expect(third.code, third.err + third.out).toBe(1);
    const held = await logJson('--status', 'held');
    expect(triples(held)).toEqual([['app', 'deprovisionUser', 'E1019', 'held']]);
    expect(held[0]!['note']).toContain('the source read reported 1 invalid record');
    expect(h.sandbox.store.findUserByUserName('user19@example.com')!['active']).toBe(true);

    // The table: one line per record, values made safe and clipped.
    const table = await log('--user', 'E1002', '--target', 'app');
    expect(table.code).toBe(0);
    const lines = table.out.split('\n');
    expect(lines[0]).toMatch(/^TIME \(UTC\)\s+TARGET\s+ACTION\s+STATUS\s+PERSON\s+DETAIL$/);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/updateUser\s+ok\s+user2@example.com \(E1002\)\s+title: \[redacted\] → \[redacted\]; urn:.*:department: Eng → Sales$/);

    const none = await log('--user', 'nobody');
    expect(none).toMatchObject({ code: 0, err: `no record matches (log: ${join(h.dir, 'state', 'audit.jsonl')})` });
    const bad = await log('--status', 'fine');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("option '--status <status>' argument 'fine' is invalid");
  });

  it('rotates by size, keeps retainFiles, 0600 each, and reads across the rotated files', async () => {
    configure('  maxFileMB: 0.004\n  retainFiles: 3\n');
    expect((await h.run()).code).toBe(0);
    writeFileSync(h.csv, peopleCsv(team.map((p) => (p.id === 'E1007' ? { ...p, department: 'Ops' } : p))));
    expect((await h.run()).code).toBe(0);
    const dir = join(h.dir, 'state');
    const files = readdirSync(dir).filter((f) => f.startsWith('audit.'));
    expect(files.filter((f) => /^audit\.\d{8}T\d{9}Z(-\d+)?\.jsonl$/.test(f))).toHaveLength(3);
    expect(files).toContain('audit.jsonl');
    for (const f of files) {
      expect(statSync(join(dir, f)).size).toBeLessThanOrEqual(0.004 * 1024 * 1024);
      expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    }
    // The oldest records were pruned with their file; what is kept reads as one log, oldest first.
    const kept = files.flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n')).length;
    const read = await logJson();
    expect(read).toHaveLength(kept);
    expect(read.map((r) => r['time'])).toEqual(read.map((r) => r['time'] as string).sort());
    expect(triples(await logJson('--user', 'E1007', '--action', 'updateUser')).sort()).toEqual([
      ['app', 'updateUser', 'E1007', 'ok'],
      ['crm', 'updateUser', 'E1007', 'ok'],
    ]);
  });

  it('--follow prints the records a later run appends, until SIGINT', async () => {
    configure('  maxFileMB: 50\n');
    expect((await h.run('--target', 'app')).code).toBe(0);
    const out: string[] = [];
    const following = main(['node', 'scim-sync', 'log', '--config', h.configFile, '--json', '--follow', '--action', 'createUser'], { out: (t) => out.push(t), err: () => undefined });
    await until(() => out.length === 20, 'the first run to be printed');
    expect((await h.run('--target', 'crm')).code).toBe(0);
    await until(() => out.length === 40, 'the second run to be printed');
    process.emit('SIGINT');
    expect(await following).toBe(0);
    const printed = out.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(printed.slice(20).every((r) => r['target'] === 'crm' && r['action'] === 'createUser')).toBe(true);
    expect(existsSync(join(h.dir, 'state', 'audit.jsonl'))).toBe(true);
  });
});

/** Waits for `condition`, checked on each turn of the timers, for at most 20 s. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

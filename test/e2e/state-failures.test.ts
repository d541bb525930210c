/**
 * Our own files failing: the audit log, the state directory, the link journal, plan files. Each
 * failure exits with its documented code and a message naming the file and the cause, never a
 * stack trace; one found before the first write leaves the target untouched, and one that happens
 * mid-run stops further writes and leaves a truthful account of what reached the target.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliProcess } from '../support/cli-process.js';
import { Harness, person } from '../support/harness.js';

let h: Harness;
const people = Array.from({ length: 30 }, (_, i) => person(i + 1));
const stateDir = () => join(h.dir, 'state');

beforeEach(async () => {
  h = await Harness.start({ sandbox: { behaviour: { latencyMs: 20 } } });
  h.writePeople(people);
});
afterEach(async () => {
  await h.close();
});

function auditLines(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return []; // the torn last line of a log that filled up
      }
    });
}

/** The creates the target received and answered. */
const created = () => h.sandbox.requests.filter((r) => r.method === 'POST' && r.path === '/Users' && r.status === 201);

/** `prefill` bytes of filler in `file`, so that the next writes cross the child's 64 KiB file size limit. */
function fillUpTo(file: string, bytes: number, line: (i: number) => string): void {
  mkdirSync(stateDir(), { recursive: true });
  let text = '';
  for (let i = 0; text.length + line(i).length <= bytes; i++) text += line(i);
  writeFileSync(file, text);
}

describe('the audit log', () => {
  it('one that cannot be written is found before the first write: exit 4, the file named, nothing sent', async () => {
    h.top = 'audit:\n  file: /dev/full';
    h.writeConfig();
    const r = await h.run();
    expect(r.code, r.err).toBe(4);
    expect(r.err).toContain('error: [STATE] cannot write the audit log /dev/full: ENOSPC (no space left on the device)');
    expect(r.err).toContain('Nothing was written.');
    expect(h.writes()).toEqual([]);
    expect(existsSync(join(stateDir(), 'run.lock'))).toBe(false);
  });

  it('one that fills up mid-run stops further writes; the report says what reached the target; exit 1', async () => {
    const audit = join(stateDir(), 'audit.jsonl');
    // Room for apply.start and a few records, then every append fails (EFBIG, as ENOSPC on a full disk).
    fillUpTo(audit, 64 * 1024 - 800, (i) => `${JSON.stringify({ time: 't', planId: 'old', target: 'app', action: 'filler', outcome: 'info', note: i })}\n`);
    const cli = new CliProcess(['run', '--config', h.configFile], { fileSizeLimitKiB: 64 });
    const r = await cli.exited;
    expect(r.code, r.err + r.out).toBe(1);
    const message = `cannot write the audit log ${audit}: EFBIG (file too large)`;
    expect(r.err).toContain(`error: [STATE] ${message}`);
    expect(r.err).not.toContain('Nothing was written');
    expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
    // Some creates went out, then no more; the report counts exactly those as done and the rest as skipped.
    const sent = created().length;
    expect(sent).toBeGreaterThan(0);
    expect(h.writes().length).toBe(sent);
    expect(sent).toBeLessThan(30);
    expect(r.out).toContain(`created ${sent} (${30 - sent} skipped)`);
    expect(r.out).toContain(`✗ stopped: ${message}`);
    expect(h.sandbox.store.users()).toHaveLength(sent);
    expect(existsSync(join(stateDir(), 'run.lock'))).toBe(false);
    // The creates the log could still take are in it; none it holds as done is missing from the target.
    const done = auditLines(audit).filter((a) => a['action'] === 'createUser' && a['outcome'] === 'ok');
    expect(done.length).toBeLessThanOrEqual(sent);
    for (const a of done) expect(h.sandbox.store.findUserByUserName(String(a['label']))).toBeDefined();
    // The records the log did not take: on stderr, marked, and kept aside; the count is in the summary.
    const unwritten = r.err.split('\n').filter((l) => l.startsWith('unwritten audit record: '));
    expect(unwritten.length).toBeGreaterThan(0);
    expect(r.err).toContain(`${unwritten.length} audit records could not be written to the log: printed on stderr (lines starting "unwritten audit record:") and kept in `);
    // The next run, with room again, appends them to the log first: every create that reached the
    // target has its record, once.
    h.sandbox.requests.length = 0;
    // The first sync was cut short: finishing it creates more than safety.maxCreatePercent of the few made.
    expect((await h.run('--override-safety')).code).toBe(0);
    const creates = auditLines(audit).filter((a) => a['action'] === 'createUser' && a['outcome'] === 'ok').map((a) => String(a['label']));
    expect(creates.sort()).toEqual(h.sandbox.store.users().map((u) => u.userName).sort());
    expect(new Set(creates).size).toBe(creates.length);
    expect(r.err.match(/kept in (\S+), appended/)?.[1]).toSatisfy((spill: string) => !existsSync(spill));
  });
});

describe('the state directory', () => {
  it('a file in its place: exit 4 naming the directory and the cause, nothing sent, no stack trace', async () => {
    writeFileSync(stateDir(), 'not a directory');
    const r = await h.run();
    expect(r.code).toBe(4);
    expect(r.err).toContain(`error: [STATE] cannot use the state directory ${stateDir()}: EEXIST (it is a file, not a directory)`);
    expect(r.err).not.toContain('internal error');
    expect(h.sandbox.requests).toEqual([]);
    const p = await h.cli('plan', '--config', h.configFile);
    expect(p.code).toBe(4);
    // The first of the state's files it reads (the links load beside the source read) names the cause.
    expect(p.err).toMatch(/error: \[STATE\] cannot read \S+\/state\/[a-z-]+\.json: ENOTDIR/);
    expect(p.err).toContain(`${stateDir()}/`);
  });

  it('one that cannot be created: exit 4 naming it', async () => {
    // Read-only for root too (the tests may run as root, for whom a chmod is no obstacle).
    writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('dir: state', 'dir: /sys/scim-sync-test-state'));
    const r = await h.run();
    expect(r.code).toBe(4);
    expect(r.err).toMatch(/error: \[STATE\] cannot use the state directory \/sys\/scim-sync-test-state: E(ACCES|ROFS|PERM) /);
    expect(h.sandbox.requests).toEqual([]);
  });

  it('a link journal that fills up mid-run stops further writes; the report and the audit say what was done; no temp file is left', async () => {
    const journal = join(stateDir(), 'links.journal');
    // Links of another target fill the journal up to its last few hundred bytes; the snapshot that
    // folds them in at the end is over the limit too, so it fails as well.
    fillUpTo(journal, 64 * 1024 - 300, (i) => `${JSON.stringify(['old', 'user', `k${i}`, { id: `id-${i}`, hash: 'h' }])}\n`);
    const cli = new CliProcess(['run', '--config', h.configFile], { fileSizeLimitKiB: 64 });
    const r = await cli.exited;
    expect(r.code, r.err + r.out).toBe(1);
    const message = `cannot write the link journal ${journal}: EFBIG (file too large)`;
    expect(r.err).toContain(`error: [STATE] ${message}`);
    expect(r.err).not.toContain('Nothing was written');
    expect(r.err).not.toMatch(/\n\s+at /);
    const sent = created().length;
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(30);
    expect(h.writes().length).toBe(sent);
    expect(r.out).toContain(`created ${sent} (${30 - sent} skipped)`);
    expect(r.out).toContain(`✗ stopped: ${message}`);
    // Every create the target received is in the audit log as done, and only those.
    const audit = auditLines(join(stateDir(), 'audit.jsonl'));
    const done = audit.filter((a) => a['action'] === 'createUser' && a['outcome'] === 'ok').map((a) => a['label']);
    expect(done.sort()).toEqual(created().map((q) => (q.body as { userName: string }).userName).sort());
    expect(audit.filter((a) => a['action'] === 'createUser' && a['outcome'] === 'skipped')).toHaveLength(30 - sent);
    expect(audit.at(-1)).toMatchObject({ action: 'apply.stopped', note: message });
    expect(readdirSync(stateDir()).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(existsSync(join(stateDir(), 'run.lock'))).toBe(false);
  });
});

describe('plan files', () => {
  it('plan --out into a missing directory: exit 2 naming the file, before the source or the target is read', async () => {
    const r = await h.cli('plan', '--config', h.configFile, '--out', '/nonexistent/x');
    expect(r.code).toBe(2);
    expect(r.err).toContain('error: cannot write the plan to /nonexistent/x: ENOENT');
    expect(h.sandbox.requests).toEqual([]);
    const dir = await h.cli('plan', '--config', h.configFile, '--out', h.dir);
    expect(dir.code).toBe(2);
    expect(dir.err).toContain(`error: cannot write the plan to ${h.dir}: EISDIR`);
  });

  it('apply of a plan that is not JSON, truncated, or of the wrong shape: exit 2 naming the file (and where), nothing sent', async () => {
    const file = join(h.dir, 'plan.json');
    // A whole plan but for the one part each case breaks.
    const planHead = {
      format: 'scim-sync-plan',
      version: 2,
      id: 'p',
      createdAt: '2026-01-01T00:00:00Z',
      expiresAt: '2100-01-01T00:00:00Z',
      binding: { source: { type: 'csv', location: 'people.csv', readAt: '2026-01-01T00:00:00Z', contentHash: 'c' }, targets: {} },
      config: 'org.yaml',
      source: { description: 'csv', users: 1, activeUsers: 1, recordsRead: 1, invalidRecords: 0, issues: [] },
    };
    const target = { target: 'app', managedUsers: 0, actualUsers: 0, warnings: [] };
    const withOperation = (op: unknown) => JSON.stringify({ ...planHead, targets: [{ ...target, phases: [{ name: 'users', operations: [op] }] }] });
    const op = { id: 'o1', externalId: 'E1001', label: 'user1@example.com' };
    const cases: [string, string][] = [
      ['garbage', `${file} is not a valid plan file: Unexpected token 'g', "garbage" is not valid JSON; make a new one with scim-sync plan --out`],
      ['{"format": "scim-sync-plan", "version": 1, "id": "p", "targets": [', `${file} is not a valid plan file: Unexpected end of JSON input`],
      ['{"format": "scim-sync-plan",\n  , "version": 1}', `${file} is not a valid plan file: Expected double-quoted property name in JSON at position 31 (line 2, column 3)`],
      [withOperation(null), `${file} is incomplete or damaged at targets[0].phases[0].operations[0]; make a new plan with scim-sync plan --out`],
      [JSON.stringify({ ...planHead, targets: [target] }), `${file} is incomplete or damaged at targets[0].phases`],
      [withOperation({ ...op, kind: 'wipeEverything' }), `${file} is incomplete or damaged at targets[0].phases[0].operations[0].kind`],
      [withOperation({ ...op, kind: 'createUser', hash: 'h', adoptBy: null }), `${file} is incomplete or damaged at targets[0].phases[0].operations[0].resource`],
      [withOperation({ ...op, kind: 'deprovisionUser', scimId: 's1', mode: 'erase', reason: 'removed' }), `${file} is incomplete or damaged at targets[0].phases[0].operations[0].mode`],
      [JSON.stringify({ ...planHead, source: { ...planHead.source, users: '1' }, targets: [] }), `${file} is incomplete or damaged at source.users`],
      [JSON.stringify({ ...planHead, binding: undefined, targets: [] }), `${file} is incomplete or damaged at binding`],
      [JSON.stringify({ ...planHead, version: 1 }), `${file} is plan version 1; this scim-sync applies version 2: make a new plan`],
    ];
    for (const [text, message] of cases) {
      writeFileSync(file, text);
      const r = await h.cli('apply', file, '--config', h.configFile);
      expect(r.code, text).toBe(2);
      expect(r.err).toContain(`error: ${message}`);
      expect(r.err).not.toContain('internal error');
    }
    expect(h.sandbox.requests).toEqual([]);
  });
});

describe('plan writes nothing', () => {
  it('no state directory is created; a run in progress keeps its journal and snapshot untouched', async () => {
    expect((await h.cli('plan', '--config', h.configFile)).code).toBe(0);
    expect(existsSync(stateDir())).toBe(false);

    expect((await h.run()).code).toBe(0);
    // A run in progress: its snapshot plus changes in the journal not folded yet.
    appendFileSync(join(stateDir(), 'links.journal'), `${JSON.stringify(['app', 'user', 'E9999', { id: 'in-flight', hash: 'h' }])}\n`);
    const files = () => Object.fromEntries(readdirSync(stateDir()).map((f) => [f, { text: readFileSync(join(stateDir(), f), 'utf8'), mtime: statSync(join(stateDir(), f)).mtimeMs }]));
    const before = files();
    h.writePeople(people.map((p) => (p.id === 'E1003' ? { ...p, title: 'Lead' } : p)));
    const p = await h.cli('plan', '--config', h.configFile);
    expect(p.code, p.err).toBe(0);
    expect(p.out).toContain('user3@example.com');
    expect(files()).toEqual(before);
  });
});

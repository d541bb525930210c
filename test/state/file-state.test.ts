/**
 * The embedded state files: the link journal keeps every change made before a crash (no flush), a
 * torn last line is skipped, an unwritable journal is a StateError naming it; audit lines are in
 * the file as soon as they are recorded.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { JsonlAuditSink } from '../../src/audit/jsonl-audit-sink.js';
import { StateError } from '../../src/errors.js';
import { FileLinkStore } from '../../src/state/file-link-store.js';
import { tempDirs } from '../support/temp-dirs.js';

const ATOMIC_WRITE = fileURLToPath(new URL('../../src/state/atomic-write.ts', import.meta.url));
const tempDir = tempDirs('scim-sync-state-');

describe('link store', () => {
  it('a run that dies before flushing loses no link; a torn last line is skipped', async () => {
    const dir = tempDir();
    const store = await FileLinkStore.open(dir);
    await store.set('app', 'user', 'e1', { id: 'scim-1', hash: 'h1' });
    await store.set('app', 'user', 'e2', { id: 'scim-2', hash: 'h2' });
    await store.delete('app', 'user', 'e1');
    // No flush, no close: the process is gone. A half-written line follows.
    appendFileSync(join(dir, 'links.journal'), '["app","user","e3",{"id":"sc');
    const reopened = await FileLinkStore.open(dir);
    expect([...(await reopened.snapshot('app', 'user'))]).toEqual([['e2', { id: 'scim-2', hash: 'h2' }]]);
    // The next run's first change does not continue the torn line, and survives another crash.
    await reopened.set('app', 'user', 'e4', { id: 'scim-4', hash: 'h4' });
    expect([...(await (await FileLinkStore.open(dir)).snapshot('app', 'user'))].map(([e]) => e)).toEqual(['e2', 'e4']);
    await reopened.flush();
    expect(readFileSync(join(dir, 'links.journal'), 'utf8')).toBe('');
    expect(JSON.parse(readFileSync(join(dir, 'links.json'), 'utf8'))).toEqual({
      version: 2,
      links: { 'app/user': ['e2', 'scim-2', 'h2', 'e4', 'scim-4', 'h4'] },
    });
    // A run that changes nothing still folds what an earlier run left in the journal.
    appendFileSync(join(dir, 'links.journal'), '["app","user","e5",{"id":"scim-5","hash":"h5"}]\n');
    const third = await FileLinkStore.open(dir);
    await third.flush();
    expect(readFileSync(join(dir, 'links.journal'), 'utf8')).toBe('');
    expect(JSON.parse(readFileSync(join(dir, 'links.json'), 'utf8')).links['app/user']).toEqual(['e2', 'scim-2', 'h2', 'e4', 'scim-4', 'h4', 'e5', 'scim-5', 'h5']);
  });

  it('a snapshot written by version 1 (links by externalId) is read, and written as version 2 at the next flush', async () => {
    const dir = tempDir();
    const v1 = { version: 1, links: { 'app/user': { e1: { id: 'scim-1', hash: 'h1' }, e2: { id: 'scim-2', hash: 'h2' } }, 'app/group': { g1: { id: 'grp-1', hash: 'hg' } } } };
    writeFileSync(join(dir, 'links.json'), JSON.stringify(v1));
    const readOnly = await FileLinkStore.open(dir, { readOnly: true });
    expect([...(await readOnly.snapshot('app', 'user'))]).toEqual([
      ['e1', { id: 'scim-1', hash: 'h1' }],
      ['e2', { id: 'scim-2', hash: 'h2' }],
    ]);
    // A read-only command leaves the old file as it is (a run beside it may still be using it).
    expect(JSON.parse(readFileSync(join(dir, 'links.json'), 'utf8'))).toEqual(v1);
    const store = await FileLinkStore.open(dir);
    await store.delete('app', 'user', 'e1');
    await store.flush();
    expect(JSON.parse(readFileSync(join(dir, 'links.json'), 'utf8'))).toEqual({ version: 2, links: { 'app/user': ['e2', 'scim-2', 'h2'], 'app/group': ['g1', 'grp-1', 'hg'] } });
    expect([...(await (await FileLinkStore.open(dir)).snapshot('app', 'group'))]).toEqual([['g1', { id: 'grp-1', hash: 'hg' }]]);
  });

  it('a damaged journal line (an edit, a bad copy) fails the open naming the file and line; a torn one is skipped', async () => {
    const dir = tempDir();
    const journal = join(dir, 'links.journal');
    const good = '["app","user","e1",{"id":"scim-1","hash":"h1"}]';
    for (const bad of ['null', '{"a":1}', '["app","user","e2",{"id":5}]', '["app","person","e2",null]', 'hello']) {
      writeFileSync(journal, `${good}\n${bad}\n${good}\n`);
      const error = await FileLinkStore.open(dir).catch((e: unknown) => e);
      expect(error, bad).toBeInstanceOf(StateError);
      expect((error as StateError).message, bad).toBe(
        `${journal}:2 is damaged (not a link change: expected [target, kind, externalId, {id, hash} or null]): restore the state from backup, or remove the file to relink by externalId`,
      );
    }
    // A line torn by an earlier crash, ended by the next append, or NULs a power loss left: skipped, the rest read.
    writeFileSync(journal, `${good}\n["app","user","e2",{"id":"sc\n\0\0\0\0\n["app","user","e3",{"id":"scim-3","hash":"h3"}]\n`);
    expect([...(await (await FileLinkStore.open(dir)).snapshot('app', 'user')).keys()]).toEqual(['e1', 'e3']);
  });

  it('a journal that cannot be opened fails the open, naming it', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'links.journal'));
    const error = await FileLinkStore.open(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StateError);
    expect((error as StateError).message).toBe(`cannot read the link store ${join(dir, 'links.journal')}: EISDIR (it is a directory)`);
  });

  it('read-only: reads snapshot and journal, creates, folds and empties nothing', async () => {
    const missing = join(tempDir(), 'state');
    const empty = await FileLinkStore.open(missing, { readOnly: true });
    expect((await empty.snapshot('app', 'user')).size).toBe(0);
    await empty.close();
    expect(existsSync(missing)).toBe(false);

    const dir = tempDir();
    const store = await FileLinkStore.open(dir);
    await store.set('app', 'user', 'e1', { id: 'scim-1', hash: 'h1' });
    await store.flush();
    await store.set('app', 'user', 'e2', { id: 'scim-2', hash: 'h2' });
    const before = { json: readFileSync(join(dir, 'links.json'), 'utf8'), journal: readFileSync(join(dir, 'links.journal'), 'utf8') };
    const reader = await FileLinkStore.open(dir, { readOnly: true });
    expect([...(await reader.snapshot('app', 'user')).keys()]).toEqual(['e1', 'e2']);
    await expect(reader.set('app', 'user', 'e3', { id: 'scim-3', hash: 'h3' })).rejects.toThrow('is open read-only');
    await reader.close();
    expect({ json: readFileSync(join(dir, 'links.json'), 'utf8'), journal: readFileSync(join(dir, 'links.journal'), 'utf8') }).toEqual(before);
    expect(readdirSync(dir).sort()).toEqual(['links.journal', 'links.json']);
  });

  it('a snapshot that cannot be written leaves no temp file behind (a file size limit: EFBIG, as a full disk fails)', () => {
    const dir = tempDir();
    const target = join(dir, 'links.json');
    // RLIMIT_FSIZE in a child: writes past 1 KiB fail with EFBIG (node ignores SIGXFSZ).
    const script = `import('${ATOMIC_WRITE}').then((m) => m.writeFileAtomic(${JSON.stringify(target)}, 'x'.repeat(100000))).then(() => console.log('written'), (e) => console.log(e.code))`;
    const out = execFileSync('bash', ['-c', `ulimit -f 1; exec "${process.execPath}" --import tsx -e "$0"`, script], { encoding: 'utf8' });
    expect(out.trim()).toBe('EFBIG');
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('audit log', () => {
  it('records are in the file by the end of the turn that made them, before the log is closed', async () => {
    const file = join(tempDir(), 'audit', 'audit.jsonl');
    const sink = new JsonlAuditSink(file);
    sink.record({ time: 't', planId: 'p', target: 'app', action: 'createUser', outcome: 'ok', externalId: 'e1' });
    sink.record({ time: 't', planId: 'p', target: 'app', action: 'createUser', outcome: 'ok', externalId: 'e2' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(readFileSync(file, 'utf8').split('\n').map((l) => (l ? JSON.parse(l).externalId : l))).toEqual(['e1', 'e2', '']);
    await sink.close();
  });

  it('a torn last line (a full disk, a kill mid-write) does not swallow the next run\'s first record', async () => {
    const file = join(tempDir(), 'audit.jsonl');
    appendFileSync(file, '{"time":"t","planId":"p","target":"app","action":"createUser","outcome":"ok"}\n{"time":"t","planId":"p","scimId":"64cf7ec6-be');
    const sink = new JsonlAuditSink(file);
    sink.record({ time: 't', planId: 'next', target: '*', action: 'apply.start', outcome: 'info' });
    await sink.close();
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines[1]).toBe('{"time":"t","planId":"p","scimId":"64cf7ec6-be');
    expect(JSON.parse(lines[2]!)).toMatchObject({ planId: 'next', action: 'apply.start' });
    expect(lines[3]).toBe('');
  });

  it('a log to a pipe whose reader died fails (EPIPE) instead of blocking the process forever', () => {
    const dir = tempDir();
    const fifo = join(dir, 'audit.fifo');
    execFileSync('mkfifo', [fifo]);
    const appender = fileURLToPath(new URL('../../src/state/line-appender.ts', import.meta.url));
    // In a process of its own, bounded: a write that blocks would block this test's event loop too.
    const script = `
      import { LineAppender } from ${JSON.stringify(appender)};
      const lines = new LineAppender(${JSON.stringify(fifo)}, (code) => new Error('cannot write: ' + code));
      lines.open();
      await new Promise((r) => setTimeout(r, 200));
      lines.append('x'.repeat(200000) + '\\n');
      lines.flush();
      console.log(lines.error ? lines.error.message : 'written');`;
    const out = execFileSync('bash', ['-c', `head -c 10 "${fifo}" > /dev/null & exec "${process.execPath}" --import tsx --input-type=module -e "$0"`, script], { encoding: 'utf8', timeout: 20_000 });
    expect(out.trim()).toBe('cannot write: EPIPE');
  });

  it('a log to a named pipe that no process reads fails at once instead of blocking the process', () => {
    const fifo = join(tempDir(), 'audit.fifo');
    execFileSync('mkfifo', [fifo]);
    const sink = fileURLToPath(new URL('../../src/audit/jsonl-audit-sink.ts', import.meta.url));
    // In a process of its own, bounded: an open that blocks would block this test's event loop too.
    const script = `
      import { JsonlAuditSink } from ${JSON.stringify(sink)};
      try { new JsonlAuditSink(${JSON.stringify(fifo)}); console.log('opened'); } catch (e) { console.log(e.message); }`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(out.trim()).toBe(`cannot write the audit log ${fifo}: ENXIO (a named pipe that no process reads)`);
  });

  it('a log that cannot be written fails its close, naming it; one that cannot be opened fails at once', async () => {
    // /dev/full opens, then answers every write with ENOSPC, as a full disk does.
    const sink = new JsonlAuditSink('/dev/full');
    sink.record({ time: 't', planId: 'p', target: 'app', action: 'createUser', outcome: 'ok' });
    await expect(sink.close()).rejects.toThrow('cannot write the audit log /dev/full: ENOSPC (no space left on the device)');
    // One that cannot even be opened fails before anything is done.
    const dir = tempDir();
    expect(() => new JsonlAuditSink(dir)).toThrow(`cannot write the audit log ${dir}: EISDIR (it is a directory)`);
  });
});

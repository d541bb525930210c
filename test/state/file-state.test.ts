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
import { writeLinkTables } from '../support/links-file.js';
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
      version: 3,
      parts: [['app/user', ['e2', 'scim-2', 'h2', 'e4', 'scim-4', 'h4']]],
    });
    // A run that changes nothing still folds what an earlier run left in the journal.
    appendFileSync(join(dir, 'links.journal'), '["app","user","e5",{"id":"scim-5","hash":"h5"}]\n');
    const third = await FileLinkStore.open(dir);
    await third.flush();
    expect(readFileSync(join(dir, 'links.journal'), 'utf8')).toBe('');
    expect(JSON.parse(readFileSync(join(dir, 'links.json'), 'utf8')).parts).toEqual([['app/user', ['e2', 'scim-2', 'h2', 'e4', 'scim-4', 'h4', 'e5', 'scim-5', 'h5']]]);
  });

  it('a snapshot written by version 1 (links by externalId) is read, and written as version 3 at the next flush', async () => {
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
    expect(JSON.parse(readFileSync(join(dir, 'links.json'), 'utf8'))).toEqual({ version: 3, parts: [['app/user', ['e2', 'scim-2', 'h2']], ['app/group', ['g1', 'grp-1', 'hg']]] });
    expect([...(await (await FileLinkStore.open(dir)).snapshot('app', 'group'))]).toEqual([['g1', { id: 'grp-1', hash: 'hg' }]]);
  });

  it('version 3 lays a snapshot out a part of at most 1,000 links per line, in one JSON document; version 2 files and a reformatted file are read whole', async () => {
    const dir = tempDir();
    const file = join(dir, 'links.json');
    const store = await FileLinkStore.open(dir);
    const links = Array.from({ length: 2_500 }, (_, i) => [`e${i}`, { id: `scim-${i}`, hash: `h${i}` }] as const);
    for (const [externalId, link] of links) await store.set('app', 'user', externalId, link);
    await store.set('app', 'group', 'g1', { id: 'grp-1', hash: 'hg' });
    await store.flush();
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n');
    // The first and last lines frame the parts: app/user in three (1,000 + 1,000 + 500), then app/group.
    expect([lines[0], lines.at(-1), lines.length]).toEqual(['{"version":3,"parts":[', ']}', 6]);
    const document = JSON.parse(text) as { version: number; links?: unknown; parts: [string, string[]][] };
    expect(document.links).toBeUndefined(); // a version 2 build finds no tables, reads version 3, and calls the file a newer scim-sync's
    expect(document.parts.map(([name, flat]) => [name, flat.length / 3])).toEqual([['app/user', 1000], ['app/user', 1000], ['app/user', 500], ['app/group', 1]]);
    const expected = new Map(links);
    expect(await (await FileLinkStore.open(dir, { readOnly: true })).snapshot('app', 'user')).toEqual(expected);
    // Pretty-printed by hand: the same document, read whole.
    writeFileSync(file, JSON.stringify(document, null, 2));
    expect(await (await FileLinkStore.open(dir, { readOnly: true })).snapshot('app', 'user')).toEqual(expected);
    // Version 2 (a flat list per table, keyed by table) is still read.
    writeLinkTables(file, { 'app/user': Object.fromEntries(links) });
    expect(await (await FileLinkStore.open(dir, { readOnly: true })).snapshot('app', 'user')).toEqual(expected);
  });

  it('a damaged part fails the open naming the file and the part, whether it breaks the JSON or not', async () => {
    const dir = tempDir();
    const file = join(dir, 'links.json');
    const part = (flat: unknown[]) => JSON.stringify(['app/user', flat]);
    writeFileSync(file, `{"version":3,"parts":[\n${part(['e1', 'scim-1', 'h1'])},\n${part(['e2', 7, 'h2'])}\n]}`);
    expect(((await FileLinkStore.open(dir).catch((e: unknown) => e)) as Error).message).toBe(
      `${file} is damaged (not a link store snapshot: parts.1: expected a list of externalId, id and hash, three strings a link): restore it from backup or remove it to relink by externalId`,
    );
    writeFileSync(file, `{"version":3,"parts":[\n${part(['e1', 'scim-1', 'h1'])}\n${part(['e2', 'scim-2', 'h2'])}\n]}`);
    expect(((await FileLinkStore.open(dir).catch((e: unknown) => e)) as Error).message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is damaged \\(not valid JSON: `));
  });

  it('opened in the background, a damaged snapshot fails loaded() and each method, and is never written over', async () => {
    const dir = tempDir();
    const file = join(dir, 'links.json');
    const damaged = '{"version":3,"parts":[\n["app/user",["e1","scim-1"]]\n]}';
    writeFileSync(file, damaged);
    const store = await FileLinkStore.open(dir, { background: true });
    await expect(store.loaded()).rejects.toThrow(/links\.json is damaged \(not a link store snapshot: parts\.0: /);
    await expect(store.snapshot('app', 'user')).rejects.toBeInstanceOf(StateError);
    await expect(store.set('app', 'user', 'e2', { id: 'scim-2', hash: 'h2' })).rejects.toBeInstanceOf(StateError);
    await store.close();
    expect(readFileSync(file, 'utf8')).toBe(damaged);
    expect(readFileSync(join(dir, 'links.journal'), 'utf8')).toBe('');
    // Sound, its methods wait for it: a change made before the load ends lands on the links read.
    writeFileSync(file, '{"version":3,"parts":[\n["app/user",["e1","scim-1","h1"]]\n]}');
    const sound = await FileLinkStore.open(dir, { background: true });
    await sound.set('app', 'user', 'e2', { id: 'scim-2', hash: 'h2' });
    expect([...(await sound.snapshot('app', 'user')).keys()]).toEqual(['e1', 'e2']);
    await sound.close();
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ version: 3, parts: [['app/user', ['e1', 'scim-1', 'h1', 'e2', 'scim-2', 'h2']]] });
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

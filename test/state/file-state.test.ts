/**
 * The embedded state files: the link journal keeps every change made before a crash (no flush), a
 * torn last line is skipped, an unwritable journal is a StateError naming it; audit lines are in
 * the file as soon as they are recorded.
 */
import { mkdirSync, mkdtempSync, readFileSync, appendFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JsonlAuditSink } from '../../src/audit/jsonl-audit-sink.js';
import { StateError } from '../../src/errors.js';
import { FileLinkStore } from '../../src/state/file-link-store.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'scim-sync-state-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

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
      version: 1,
      links: { 'app/user': { e2: { id: 'scim-2', hash: 'h2' }, e4: { id: 'scim-4', hash: 'h4' } } },
    });
    // A run that changes nothing still folds what an earlier run left in the journal.
    appendFileSync(join(dir, 'links.journal'), '["app","user","e5",{"id":"scim-5","hash":"h5"}]\n');
    const third = await FileLinkStore.open(dir);
    await third.flush();
    expect(readFileSync(join(dir, 'links.journal'), 'utf8')).toBe('');
    expect(Object.keys(JSON.parse(readFileSync(join(dir, 'links.json'), 'utf8')).links['app/user'])).toEqual(['e2', 'e4', 'e5']);
  });

  it('a journal that cannot be written is a StateError naming it', async () => {
    const dir = tempDir();
    const store = await FileLinkStore.open(dir);
    mkdirSync(join(dir, 'links.journal'));
    const error = await store.set('app', 'user', 'e1', { id: 'scim-1', hash: 'h1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StateError);
    expect((error as StateError).message).toBe(`link journal ${join(dir, 'links.journal')}: cannot append (EISDIR)`);
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

  it('a log that cannot be written fails its close, naming it; one that cannot be opened fails at once', async () => {
    // /dev/full opens, then answers every write with ENOSPC, as a full disk does.
    const sink = new JsonlAuditSink('/dev/full');
    sink.record({ time: 't', planId: 'p', target: 'app', action: 'createUser', outcome: 'ok' });
    await expect(sink.close()).rejects.toThrow('audit log /dev/full: cannot append (ENOSPC)');
    // One that cannot even be opened fails before anything is done.
    const dir = tempDir();
    expect(() => new JsonlAuditSink(dir)).toThrow(`audit log ${dir}: cannot append (EISDIR)`);
  });
});

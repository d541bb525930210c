import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startSandbox } from '../../src/sandbox/index.js';
import { Client, SCHEMA_ENTERPRISE_USER, SCHEMA_USER } from './helpers.js';

let dir: string;
let dataFile: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'scim-sandbox-'));
  dataFile = join(dir, 'nested', 'sandbox.json');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The data file and its journal as they are now, copied aside: what a crash at this moment leaves. */
function copyOfData(): string {
  const copy = join(dir, 'crashed.json');
  for (const [from, to] of [[dataFile, copy], [`${dataFile}.journal`, `${copy}.journal`]] as const) if (existsSync(from)) copyFileSync(from, to);
  return copy;
}

describe('dataFile', () => {
  it('survives a restart with ids, versions, memberships and indexes', async () => {
    const first = await startSandbox({ dataFile });
    const client = new Client(first.url);
    const boss = await client.createUser('boss@example.com');
    const worker = await client.createUser('Worker@example.com', {
      schemas: [SCHEMA_USER, SCHEMA_ENTERPRISE_USER],
      externalId: 'E2',
      [SCHEMA_ENTERPRISE_USER]: { manager: { value: boss.id } },
    });
    const team = await client.createGroup('Team', [worker.id]);
    await client.patch(`/Users/${worker.id}`, [{ op: 'replace', path: 'title', value: 'Lead' }]);
    await first.close();
    expect(existsSync(dataFile)).toBe(true);
    expect(readdirSync(join(dir, 'nested'))).toEqual(['sandbox.json']);

    const second = await startSandbox({ dataFile });
    try {
      const again = new Client(second.url);
      const reloaded = (await again.get(`/Users/${worker.id}`)).body;
      expect(reloaded).toMatchObject({ id: worker.id, userName: 'Worker@example.com', title: 'Lead', externalId: 'E2' });
      expect(reloaded.meta.version).toBe('W/"2"');
      expect(reloaded.meta.location).toBe(`${second.url}/Users/${worker.id}`);
      expect(reloaded.groups).toEqual([expect.objectContaining({ value: team.id, display: 'Team' })]);
      expect((await again.filter('Users', 'userName eq "worker@example.com"')).body.totalResults).toBe(1);
      expect((await again.filter('Users', 'externalId eq "E2"')).body.totalResults).toBe(1);
      expect((await again.post('/Users', { schemas: [SCHEMA_USER], userName: 'WORKER@example.com' })).status).toBe(409);
      expect(second.store.groups()[0]?.['members']).toEqual([{ value: worker.id, type: 'User' }]);
    } finally {
      await second.close();
    }
  });

  it('a change is on disk shortly after it is made: a start after a crash (no close) finds it', async () => {
    const sandbox = await startSandbox({ dataFile });
    try {
      sandbox.store.createUser({ userName: 'early' });
      // The journal's line, not only its file: the file is opened before the line is written.
      await vi.waitFor(() => expect(existsSync(`${dataFile}.journal`) && readFileSync(`${dataFile}.journal`, 'utf8')).toContain('"early"'), { timeout: 2_000, interval: 20 });
      // The first sandbox never closes: what the second reads is what a crash would leave.
      const restarted = await startSandbox({ dataFile: copyOfData() });
      expect(restarted.store.users().map((u) => u['userName'])).toEqual(['early']);
      await restarted.close();
    } finally {
      await sandbox.close();
    }
  });

  it('a change appends one journal line; the snapshot is not rewritten until the journal outgrows it', async () => {
    const first = await startSandbox({ dataFile });
    for (let i = 0; i < 200; i++) first.store.createUser({ userName: `u${i}` });
    await first.close();
    const snapshotBefore = readFileSync(dataFile, 'utf8');
    const second = await startSandbox({ dataFile });
    try {
      const id = second.store.findUserByUserName('u7')!['id'] as string;
      second.store.updateUser(id, { title: 'Lead' });
      second.store.deleteUser(second.store.findUserByUserName('u9')!['id'] as string);
      await vi.waitFor(() => expect(existsSync(`${dataFile}.journal`)).toBe(true), { timeout: 2_000, interval: 20 });
      await vi.waitFor(() => expect(readFileSync(`${dataFile}.journal`, 'utf8').trim().split('\n')).toHaveLength(2), { timeout: 2_000, interval: 20 });
      const [put, removal] = readFileSync(`${dataFile}.journal`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(put).toMatchObject({ type: 'put', kind: 'User', resource: { id, title: 'Lead' } });
      expect(removal).toMatchObject({ type: 'delete', kind: 'User' });
      expect(readFileSync(dataFile, 'utf8')).toBe(snapshotBefore);
    } finally {
      await second.close();
    }
    // A clean stop folds the journal into the snapshot and leaves the snapshot alone.
    expect(readdirSync(join(dir, 'nested'))).toEqual(['sandbox.json']);
    const saved = JSON.parse(readFileSync(dataFile, 'utf8')) as { users: { userName: string; title?: string }[] };
    expect(saved.users).toHaveLength(199);
    expect(saved.users.find((u) => u.userName === 'u7')?.title).toBe('Lead');
  });

  it('a journal line torn by a crash mid-append is ignored, and the start folds the journal away', async () => {
    const first = await startSandbox({ dataFile });
    first.store.createUser({ userName: 'kept' });
    await first.close();
    const kept = JSON.parse(readFileSync(dataFile, 'utf8')) as { users: { id: string }[] };
    writeFileSync(`${dataFile}.journal`, `${JSON.stringify({ type: 'put', kind: 'User', resource: { ...kept.users[0], title: 'Replayed' } })}\n{"type":"put","kind":"Us`);
    const second = await startSandbox({ dataFile });
    try {
      expect(second.store.users().map((u) => [u['userName'], u['title']])).toEqual([['kept', 'Replayed']]);
      expect(existsSync(`${dataFile}.journal`)).toBe(false);
      second.store.createUser({ userName: 'after' });
    } finally {
      await second.close();
    }
    const third = await startSandbox({ dataFile });
    expect(third.store.users().map((u) => u['userName'])).toEqual(['kept', 'after']);
    await third.close();
  });

  it('a damaged journal line before the last is an error naming the file and line', async () => {
    mkdirSync(join(dir, 'nested'), { recursive: true });
    writeFileSync(`${dataFile}.journal`, '{"type":"clear"}\nnot json\n{"type":"clear"}\n');
    await expect(startSandbox({ dataFile })).rejects.toThrow(`${dataFile}.journal:2`);
  });

  it('deletes persist too', async () => {
    const first = await startSandbox({ dataFile });
    const id = first.store.createUser({ userName: 'gone' })['id'] as string;
    first.store.deleteUser(id);
    await first.close();
    const second = await startSandbox({ dataFile });
    expect(second.store.users()).toEqual([]);
    await second.close();
  });

  it('a missing file starts empty; a corrupt one is an error naming the file', async () => {
    const fresh = await startSandbox({ dataFile });
    expect(fresh.store.users()).toEqual([]);
    await fresh.close();
    const corrupt = join(dir, 'corrupt.json');
    writeFileSync(corrupt, '{"format": "scim-sync-sandbox", "users": [');
    await expect(startSandbox({ dataFile: corrupt })).rejects.toThrow(corrupt);
    writeFileSync(corrupt, '{"something": "else"}');
    await expect(startSandbox({ dataFile: corrupt })).rejects.toThrow(/not a sandbox data file/);
  });
});

describe('seeded users', () => {
  it('the same users with the same ids on every start; a restart on its dataFile adds none twice', async () => {
    const a = await startSandbox({ seedUsers: 3 });
    const b = await startSandbox({ seedUsers: 3 });
    try {
      const strip = (users: Record<string, unknown>[]) => users.map(({ meta: _meta, ...rest }) => rest);
      expect(strip(a.store.users())).toEqual(strip(b.store.users()));
      expect(a.store.users()[2]).toMatchObject({
        id: '00000000-0000-4000-8000-000000000002',
        externalId: 'E2',
        userName: 'user2@seed.example',
        name: { givenName: 'Given2', familyName: 'Family2' },
        emails: [{ value: 'user2@seed.example', type: 'work', primary: true }],
        active: true,
      });
    } finally {
      await a.close();
      await b.close();
    }
    const first = await startSandbox({ dataFile, seedUsers: 2 });
    first.store.createUser({ userName: 'own' });
    await first.close();
    const second = await startSandbox({ dataFile, seedUsers: 4 });
    expect(second.store.users().map((u) => u['userName'])).toEqual(['user0@seed.example', 'user1@seed.example', 'own', 'user2@seed.example', 'user3@seed.example']);
    await second.close();
  });
});

describe('the journal of large groups', () => {
  it('is folded once it holds twice the snapshot (at least 64 MiB), so it stays a file that can be read back', async () => {
    const { JournalFile } = await import('../../src/sandbox/persistence.js');
    const dir = mkdtempSync(join(tmpdir(), 'sandbox-journal-'));
    try {
      const file = join(dir, 'data.json');
      // A group filled one member at a time: each line holds the whole group so far.
      const members = Array.from({ length: 2_000 }, (_, i) => ({ value: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` }));
      const group = (n: number) => ({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], id: 'g1', displayName: 'Everyone', members: members.slice(0, n) });
      const snapshot = () => ({ format: 'scim-sync-sandbox' as const, version: 1 as const, users: [], groups: [group(2_000)] });
      const journal = new JournalFile(file, snapshot, undefined, 0);
      for (let n = 1; n <= 2_000; n++) journal.record({ type: 'put', kind: 'Group', resource: group(n) });
      await journal.flush();
      // 2,000 lines of up to 120 KB: some 120 MB appended in all, folded along the way.
      expect(existsSync(file)).toBe(true);
      const left = existsSync(`${file}.journal`) ? readFileSync(`${file}.journal`).length : 0;
      expect(left).toBeLessThan(64 * 1024 * 1024 + (1 << 21));
      const read = await JournalFile.read(file);
      expect((read?.document as { groups: { members: unknown[] }[] }).groups[0]!.members).toHaveLength(2_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

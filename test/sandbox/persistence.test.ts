import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

  it('saves shortly after a change, without waiting for close', async () => {
    const sandbox = await startSandbox({ dataFile });
    try {
      sandbox.store.createUser({ userName: 'early' });
      await vi.waitFor(() => expect(existsSync(dataFile)).toBe(true), { timeout: 2_000, interval: 20 });
      const saved = JSON.parse(readFileSync(dataFile, 'utf8')) as { users: { userName: string }[] };
      expect(saved.users.map((u) => u.userName)).toEqual(['early']);
    } finally {
      await sandbox.close();
    }
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

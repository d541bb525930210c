/**
 * The JSON state files (holds, quarantine, links, staged sets, rejections) are read by one reader:
 * a file that is not JSON, not an object or not of its shape is a StateError naming the file and
 * the first bad path, never "nothing stored"; and every writer of them, file or Redis, passes the
 * redactor.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { registerSecret } from '../../src/config/secret.js';
import { StateError } from '../../src/errors.js';
import type { Plan } from '../../src/model/plan.js';
import { FileLinkStore } from '../../src/state/file-link-store.js';
import { FileHoldStore, RedisHoldStore } from '../../src/state/holds.js';
import { FileQuarantineStore, RedisQuarantineStore } from '../../src/state/quarantine-store.js';
import { FileFirstSyncStore } from '../../src/state/first-sync-store.js';
import { FileRejectionStore } from '../../src/state/rejection-store.js';
import { FileStagedStore } from '../../src/state/staged-store.js';
import { REDIS_URL, cleanRedis, randomPrefix } from '../support/distributed.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs('scim-sync-state-files-');

/** Each file store, by the file it reads, and a read that goes through the reader. */
const stores: [string, (dir: string) => Promise<unknown>][] = [
  ['holds.json', (dir) => new FileHoldStore(dir).all()],
  ['quarantine.json', (dir) => new FileQuarantineStore(dir).all()],
  ['first-syncs.json', (dir) => new FileFirstSyncStore(dir).all()],
  ['links.json', (dir) => FileLinkStore.open(dir, { readOnly: true })],
  ['rejections.json', (dir) => new FileRejectionStore(dir).all()],
  ['staged/st-0000abcd.json', (dir) => new FileStagedStore(dir).get('st-0000abcd')],
];

async function failure(read: Promise<unknown>): Promise<StateError> {
  const error = await read.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(StateError);
  return error as StateError;
}

describe('one reader for the JSON state files', () => {
  it.each(stores)('%s: not JSON, not an object, or of the wrong shape is a StateError naming the file', async (name, read) => {
    for (const [text, why] of [
      ['{"a": ', /is damaged \(not valid JSON: /],
      ['null', /is damaged \(not (a|an) [^:)]+\): /],
      ['[1, 2]', /is damaged \(not (a|an) [^:)]+\): /],
      ['"text"', /is damaged \(not (a|an) [^:)]+\): /],
    ] as const) {
      const dir = tempDir();
      mkdirSync(join(dir, 'staged'));
      writeFileSync(join(dir, name), text);
      const error = await failure(read(dir));
      expect(error.message.startsWith(join(dir, name)), error.message).toBe(true);
      expect(error.message).toMatch(why);
    }
  });

  it('names the first bad path inside the file', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'holds.json'), JSON.stringify({ E1: { time: 't', reason: 'r', by: 'b', digest: 'd' }, E2: { time: 't', reason: 'r', by: 'b' } }));
    expect((await failure(new FileHoldStore(dir).all())).message).toMatch(/holds\.json is damaged \(not a JSON object of emergency holds by source key: E2\.digest: .+\): fix or remove it/);
    writeFileSync(join(dir, 'quarantine.json'), JSON.stringify({ version: 1, targets: { app: { target: 'app', since: 's', reason: 'r', attempts: 1.5, nextTry: 'n' } } }));
    expect((await failure(new FileQuarantineStore(dir).all())).message).toMatch(/quarantine\.json is damaged \(not a quarantine file: targets\.app\.attempts: /);
    writeFileSync(join(dir, 'links.json'), JSON.stringify({ version: 1, links: { 'app/user': { E1: { id: 'x' } } } }));
    expect((await failure(FileLinkStore.open(dir, { readOnly: true }))).message).toMatch(/links\.json is damaged \(not a link store snapshot: links\.app\/user: expected links by externalId, each \{id, hash\}\): restore it/);
    // Version 2: three strings a link; a short row or a number is damage, not a shorter table.
    for (const table of [['E1', 'x'], ['E1', 'x', 'h', 'E2', 7, 'h']]) {
      writeFileSync(join(dir, 'links.json'), JSON.stringify({ version: 2, links: { 'app/user': table } }));
      expect((await failure(FileLinkStore.open(dir, { readOnly: true }))).message).toMatch(/links\.json is damaged \(not a link store snapshot: links\.app\/user: expected a list of externalId, id and hash, three strings a link\): restore it/);
    }
    writeFileSync(join(dir, 'links.json'), JSON.stringify({ version: 4, tables: 'a layout to come' }));
    expect((await failure(FileLinkStore.open(dir, { readOnly: true }))).message).toMatch(
      /links\.json was written by a newer scim-sync \(link store version 4; this one reads versions 1 to 3\): run that version, or remove the file to relink by externalId$/,
    );
    writeFileSync(join(dir, 'links.json'), JSON.stringify({ version: '2', links: {} }));
    expect((await failure(FileLinkStore.open(dir, { readOnly: true }))).message).toMatch(/links\.json is damaged \(not a link store snapshot: version: /);
    writeFileSync(join(dir, 'rejections.json'), JSON.stringify({ app: { E1: { digest: null, stagedId: 'st-1' } } }));
    expect((await failure(new FileRejectionStore(dir).all())).message).toMatch(/rejections\.json is damaged \(not a map of targets to rejections by source key: app\.E1\.at: /);
  });

  it('a missing file is empty', async () => {
    const dir = tempDir();
    expect((await new FileHoldStore(dir).all()).size).toBe(0);
    expect((await new FileQuarantineStore(dir).all()).size).toBe(0);
    expect(await new FileRejectionStore(dir).all()).toEqual({});
    expect(await new FileStagedStore(dir).list()).toEqual([]);
  });
});

describe('every writer of the state passes the redactor', () => {
  const secret = 'state-secret-7a1c9e44';
  registerSecret(secret);
  const prefix = randomPrefix();
  const redis = new Redis(REDIS_URL);
  afterAll(async () => {
    redis.disconnect();
    await cleanRedis(prefix);
  });
  const hold = { time: '2026-01-01T00:00:00.000Z', reason: `ticket quoting ${secret}`, by: 'op@host', digest: null };
  const entry = { target: 'app', since: '2026-01-01T00:00:00.000Z', reason: `401: bad token ${secret}`, attempts: 1, nextTry: '2026-01-01T06:00:00.000Z' };

  it('files: holds, quarantine, links, rejections and staged sets', async () => {
    const dir = tempDir();
    await new FileHoldStore(dir).set('E1', hold);
    await new FileQuarantineStore(dir).set(entry);
    const links = await FileLinkStore.open(dir);
    await links.set('app', 'user', 'E1', { id: `id-${secret}`, hash: 'h' });
    const journal = readFileSync(join(dir, 'links.journal'), 'utf8');
    await links.close();
    await new FileRejectionStore(dir).add([{ target: 'app', key: 'E1', entry: { digest: null, stagedId: 'st-0000abcd', at: 'now', by: `op ${secret}` } }]);
    const plan = { id: 'plan-1', targets: [], binding: { targets: {} }, note: secret } as unknown as Plan;
    const set = await new FileStagedStore(dir).save(plan, [`reason ${secret}`]);
    const files = ['holds.json', 'quarantine.json', 'links.json', 'rejections.json', `staged/${set.id}.json`].map((f) => readFileSync(join(dir, f), 'utf8'));
    for (const text of [...files, journal]) {
      expect(text).not.toContain(secret);
      expect(text).toContain('[redacted]');
    }
  });

  it('Redis: holds and quarantine', async () => {
    await new RedisHoldStore(redis, prefix).set('E1', hold);
    await new RedisQuarantineStore(redis, prefix).set(entry);
    for (const [key, field] of [[`${prefix}:state:holds`, 'E1'], [`${prefix}:state:quarantine`, 'app']] as const) {
      const text = (await redis.hget(key, field))!;
      expect(text).not.toContain(secret);
      expect(text).toContain('[redacted]');
    }
  });
});

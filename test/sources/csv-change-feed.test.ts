/**
 * The CSV change feed against real files in a temp folder and the file token store: which keys a
 * replaced file names, when a file is not taken (still being written, cut short, not declared done,
 * its trailer missing), and that the stored snapshot moves only on commit.
 */
import { appendFileSync, closeSync, openSync, renameSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CsvSourceConfig } from '../../src/config/schema/index.js';
import { sourceSchema } from '../../src/config/schema/index.js';
import { SourceError } from '../../src/errors.js';
import { CsvChangeFeed, type CsvChangeFeedOptions } from '../../src/sources/csv/csv-change-feed.js';
import { CsvSource } from '../../src/sources/csv/csv-source.js';
import { FileFeedTokenStore } from '../../src/state/feed-tokens.js';
import { tempDirs } from '../support/temp-dirs.js';

const newDir = tempDirs('csv-feed-');
const HEADER = 'id,first,mail,status\n';

function row(id: number, over: { first?: string; status?: string } = {}): string {
  return `${id},${over.first ?? `P${id}`},p${id}@x.com,${over.status ?? 'active'}\n`;
}

function rows(ids: readonly number[]): string {
  return ids.map((id) => row(id)).join('');
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function setup(content: string, over: Record<string, unknown> = {}, options: CsvChangeFeedOptions = {}) {
  const dir = newDir();
  const path = join(dir, 'people.csv');
  writeFileSync(path, content);
  const config = sourceSchema.parse({
    type: 'csv',
    path,
    key: 'id',
    columns: { userName: 'mail', givenName: 'first' },
    inactive: { column: 'status', values: ['terminated'] },
    ...over,
  }) as CsvSourceConfig;
  const tokens = new FileFeedTokenStore(join(dir, 'state'));
  // The feeds' clock for confirmRemovedMs: moved only by `advance`.
  let clock = 1000;
  const advance = (ms: number) => void (clock += ms);
  // No settle wait unless a test acts in it: the feed still stats before and after.
  const feed = (opts: CsvChangeFeedOptions = {}) => new CsvChangeFeed(config, tokens, 'people', { wait: async () => undefined, now: () => clock, ...options, ...opts });
  /** Replaces the file the way exporters should: a temp file in the same folder, renamed over it. */
  const replace = (text: string) => {
    const tmp = join(dir, `.people.csv.${Math.random().toString(36).slice(2)}`);
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  };
  return { dir, path, config, tokens, feed, replace, advance };
}

/** Removals handed out at the first settled read, for tests about something else. */
const UNCONFIRMED = { changes: { confirmRemovedMs: 0 } };

/** A feed whose baseline (the current file) is committed. */
async function baseline(content: string, over: Record<string, unknown> = {}, options: CsvChangeFeedOptions = {}) {
  const s = setup(content, over, options);
  const feed = s.feed();
  const first = await feed.poll();
  expect(first).toMatchObject({ keys: [], full: `no earlier snapshot of ${s.path}` });
  await first!.commit();
  expect(await feed.poll()).toBeNull();
  return { ...s, current: feed };
}

describe('CSV change feed', () => {
  it('names the people added, changed and removed by a file replaced by rename, and wakes on the rename', async () => {
    const { current: feed, replace, path } = await baseline(HEADER + rows(range(1, 10)), UNCONFIRMED);
    const signal = AbortSignal.timeout(10_000);
    const woke = feed.changed(signal);
    // 3 changed (a name, a termination), 11 and 12 added, 10 removed.
    replace(HEADER + row(1) + row(2, { first: 'Renamed' }) + row(3, { status: 'terminated' }) + rows(range(4, 9)) + rows([11, 12]));
    await woke;
    expect(signal.aborted).toBe(false);

    const batch = await feed.poll();
    expect(batch).not.toBeNull();
    expect(batch!.full).toBeUndefined();
    expect([...batch!.keys].sort()).toEqual(['10', '11', '12', '2', '3']);
    expect(batch!.description).toBe(`${path}: 4 added or changed, 1 removed since the last accepted version`);
    await feed.close();
  });

  it('hands out the same difference until commit, then nothing; a new feed instance starts from the committed token', async () => {
    const { current: feed, replace, feed: another } = await baseline(HEADER + rows(range(1, 10)));
    replace(HEADER + rows(range(1, 9)) + row(10, { status: 'terminated' }));
    const first = await feed.poll();
    const again = await feed.poll();
    expect(first!.keys).toEqual(['10']);
    expect(again!.keys).toEqual(['10']);
    // A restart before commit: the new instance sees the same change.
    expect((await another().poll())!.keys).toEqual(['10']);

    await again!.commit();
    expect(await feed.poll()).toBeNull();
    const restarted = another();
    expect(await restarted.poll()).toBeNull();
    replace(HEADER + rows(range(1, 9)) + row(10, { status: 'terminated' }) + row(11));
    expect((await restarted.poll())!.keys).toEqual(['11']);
  });

  it('marks each person with their row digest: the same until their row changes again, while the position stays', async () => {
    const { current: feed, replace } = await baseline(HEADER + rows(range(1, 10)), UNCONFIRMED);
    replace(HEADER + rows(range(1, 9)) + row(10, { status: 'terminated' }));
    const first = await feed.poll();
    replace(HEADER + row(1, { first: 'Renamed' }) + rows(range(2, 9)) + row(10, { status: 'terminated' }) + row(11));
    const second = await feed.poll();
    expect([...second!.keys].sort()).toEqual(['1', '10', '11']);
    // 10 unchanged since the first poll: the same mark, so the service need not sync them again.
    expect(second!.marks!.get('10')).toBe(first!.marks!.get('10'));
    replace(HEADER + row(1, { first: 'Renamed' }) + rows(range(2, 9)) + row(10, { first: 'Again', status: 'terminated' }) + row(11));
    const third = await feed.poll();
    expect(third!.marks!.get('10')).not.toBe(second!.marks!.get('10'));
    expect(third!.marks!.get('1')).toBe(second!.marks!.get('1'));
    // Removed: one mark for anyone gone.
    replace(HEADER + rows(range(2, 9)));
    expect((await feed.poll())!.marks!.get('1')).toBe('removed');
  });

  it('does not take a file still being written: appended during the settle wait, it waits; once still, it is taken whole', async () => {
    const s = await baseline(HEADER + rows(range(1, 5)));
    // The exporter rewrites in place, appending people row by row.
    appendFileSync(s.path, row(6));
    const steps = [row(7), row(8)];
    let waits = 0;
    const feed = s.feed({
      wait: async (ms) => {
        waits++;
        expect(ms).toBe(1000);
        const next = steps.shift();
        if (next) appendFileSync(s.path, next);
      },
    });
    expect(await feed.poll()).toBeNull();
    expect(await feed.poll()).toBeNull();
    const batch = await feed.poll();
    expect(waits).toBe(3);
    expect(batch!.keys).toEqual(['6', '7', '8']);
  });

  it('waits the configured settle period for real before taking a file', async () => {
    const s = await baseline(HEADER + rows(range(1, 5)), { changes: { settleMs: 150 } });
    const feed = new CsvChangeFeed(s.config, s.tokens, 'people');
    s.replace(HEADER + rows(range(1, 6)));
    const started = performance.now();
    const batch = await feed.poll();
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(batch!.keys).toEqual(['6']);
  });

  it('never names removals from a file cut mid-row or inside a quote: the poll returns null and stores nothing', async () => {
    const full = HEADER + rows(range(1, 20));
    const { current: feed, replace, tokens } = await baseline(full);
    const before = await tokens.get('people');
    // Cut in the middle of person 20's row: a short last row.
    replace(full.slice(0, full.indexOf('20,P20') + 5));
    expect(await feed.poll()).toBeNull();
    // Cut inside a quoted field: the read fails.
    replace(HEADER + rows(range(1, 15)) + '16,"Half');
    expect(await feed.poll()).toBeNull();
    // Cut right after the last comma of a row.
    replace(HEADER + rows(range(1, 19)) + '20,P20,');
    expect(await feed.poll()).toBeNull();
    // Cut inside the key: the short row names person 2, and person 20 would look gone.
    replace(HEADER + rows(range(1, 19)) + '2');
    expect(await feed.poll()).toBeNull();
    expect(await tokens.get('people')).toBe(before);

    // The whole file again: nothing changed.
    replace(full);
    expect(await feed.poll()).toBeNull();
  });

  it('an export rewritten in place and paused at a line end removes no one: the rows it lacks are removed only once the same file stays so for confirmRemovedMs', async () => {
    const full = HEADER + rows(range(1, 30));
    const { current: feed, path, advance, tokens, feed: another } = await baseline(full);
    // The exporter truncates the file and writes its first page (28 people, one of them now
    // terminated), then pauses: 2 of 30 (6.7%) are missing, under every other threshold.
    const fd = openSync(path, 'w');
    writeSync(fd, HEADER + rows(range(1, 27)) + row(28, { status: 'terminated' }));
    const first = await feed.poll();
    // The leaver whose row says so goes at once; the two missing rows are no one's departure yet.
    expect(first!.keys).toEqual(['28']);
    expect(first!.full).toBeUndefined();
    expect(first!.description).toBe(`${path}: 1 added or changed since the last accepted version; 2 gone, removed once the file stays the same for 60 s (source.changes.confirmRemovedMs)`);
    await first!.commit();
    advance(59_999);
    expect(await feed.poll()).toBeNull();
    // A restart forgets when they went missing, not that they did: it waits anew.
    const restarted = another();
    expect(await restarted.poll()).toBeNull();

    // The second page: nobody is gone, and nothing else is named.
    writeSync(fd, rows([29, 30]));
    closeSync(fd);
    advance(60_000);
    expect(await feed.poll()).toBeNull();
    expect(await restarted.poll()).toBeNull();

    // A real departure (row 30 deleted) is named once the file has stayed so for 60 s, by either instance.
    const tokenBefore = await tokens.get('people');
    writeFileSync(path, HEADER + rows(range(1, 27)) + row(28, { status: 'terminated' }) + row(29));
    expect(await feed.poll()).toBeNull();
    expect(await restarted.poll()).toBeNull();
    expect(await tokens.get('people')).toBe(tokenBefore);
    advance(30_000);
    expect(await feed.poll()).toBeNull();
    advance(30_000);
    const removed = await feed.poll();
    expect(removed!.keys).toEqual(['30']);
    expect(removed!.marks!.get('30')).toBe('removed');
    expect(removed!.description).toBe(`${path}: 0 added or changed, 1 removed since the last accepted version`);
    expect((await restarted.poll())!.keys).toEqual(['30']);
    await removed!.commit();
    expect(await feed.poll()).toBeNull();
    expect(await another().poll()).toBeNull();
  });

  it('a file changed while its removals wait starts the wait again; a cut over maxRemovedPercent asks for the full reconcile only once confirmed', async () => {
    const { current: feed, path, replace, advance } = await baseline(HEADER + rows(range(1, 20)));
    replace(HEADER + rows(range(1, 10)));
    expect(await feed.poll()).toBeNull();
    advance(40_000);
    // Another page written: 15 of 20, the wait starts again from this version.
    replace(HEADER + rows(range(1, 15)));
    expect(await feed.poll()).toBeNull();
    advance(40_000);
    expect(await feed.poll()).toBeNull();
    advance(20_000);
    expect((await feed.poll())!.full).toBe(
      `${path} lacks 5 of the 20 people of its last accepted version (25.0%, more than source.changes.maxRemovedPercent 20%): ` +
        "a truncated export? The full reconcile's safety check decides",
    );
  });

  it('asks for a full reconcile, naming no one, when a file cut at a line end drops more than maxRemovedPercent of the people', async () => {
    const { current: feed, replace, path } = await baseline(HEADER + rows(range(1, 20)), UNCONFIRMED);
    replace(HEADER + rows(range(1, 10)));
    const batch = await feed.poll();
    expect(batch!.keys).toEqual([]);
    expect(batch!.full).toBe(
      `${path} lacks 10 of the 20 people of its last accepted version (50.0%, more than source.changes.maxRemovedPercent 20%): ` +
        "a truncated export? The full reconcile's safety check decides",
    );
    // 4 of 20 (20%) is within the threshold: named one by one.
    replace(HEADER + rows(range(1, 16)));
    expect([...(await feed.poll())!.keys].sort()).toEqual(['17', '18', '19', '20']);
  });

  it('asks for a full reconcile when the file holds fewer people than safety.minSourceUsers', async () => {
    const { replace, feed, path } = await baseline(HEADER + rows(range(1, 20)), UNCONFIRMED, { minSourceUsers: 19 });
    // 19 people: enough.
    replace(HEADER + rows(range(1, 18)) + row(21));
    expect([...(await feed().poll())!.keys].sort()).toEqual(['19', '20', '21']);
    replace(HEADER + rows(range(1, 18)));
    expect((await feed().poll())!.full).toBe(`${path} holds 18 people, fewer than safety.minSourceUsers (19)`);
  });

  it('with doneMarker, takes a file only when <file>.done is at least as new as it', async () => {
    const s = setup(HEADER + rows(range(1, 5)), { changes: { doneMarker: true } });
    const feed = s.feed();
    expect(await feed.poll()).toBeNull();
    writeFileSync(`${s.path}.done`, '');
    const first = await feed.poll();
    expect(first!.full).toBeDefined();
    await first!.commit();

    s.replace(HEADER + rows(range(1, 6)));
    // The marker left from the last export is older than the new file.
    const past = new Date(Date.now() - 60_000);
    utimesSync(`${s.path}.done`, past, past);
    expect(await feed.poll()).toBeNull();
    const signal = AbortSignal.timeout(10_000);
    const woke = feed.changed(signal);
    writeFileSync(`${s.path}.done`, '');
    await woke;
    expect(signal.aborted).toBe(false);
    expect((await feed.poll())!.keys).toEqual(['6']);
    await feed.close();
  });

  it('with a trailer, takes a file only when its trailer row counts its rows, and never reads the trailer as a person', async () => {
    const { current: feed, replace, config } = await baseline(HEADER + rows(range(1, 5)) + '#count,5\n', { trailer: true });
    expect((await new CsvSource(config).read()).users.map((u) => u.key)).toEqual(['1', '2', '3', '4', '5']);
    // Cut at a line end: the trailer is gone.
    replace(HEADER + rows(range(1, 4)));
    expect(await feed.poll()).toBeNull();
    // A trailer from another version of the file.
    replace(HEADER + rows(range(1, 6)) + '#count,5\n');
    expect(await feed.poll()).toBeNull();
    replace(HEADER + rows(range(1, 6)) + '#count,6\n');
    expect((await feed.poll())!.keys).toEqual(['6']);
  });

  it('a custom trailer marker; the reader refuses a missing, miscounted or misplaced trailer', async () => {
    const { config, path, replace } = setup(HEADER + rows(range(1, 3)) + 'TRAILER,3,,\n', { trailer: 'TRAILER' });
    const read = () => new CsvSource(config).read();
    expect((await read()).users).toHaveLength(3);
    replace(HEADER + rows(range(1, 3)));
    await expect(read()).rejects.toThrow(new SourceError(`${path}: no trailer row ("TRAILER,<rows>") at the end: the export is incomplete, or source.trailer is wrong`));
    replace(HEADER + rows(range(1, 3)) + 'TRAILER,4\n');
    await expect(read()).rejects.toThrow(new SourceError(`${path}:5: the trailer counts 4 rows, the file holds 3: the export is incomplete or damaged`));
    replace(HEADER + rows(range(1, 2)) + 'TRAILER,2\n' + row(3));
    await expect(read()).rejects.toThrow(new SourceError(`${path}:4: the trailer row is not the last row (line 5 follows)`));
  });

  it('a held row is neither a change nor a departure; a group renamed in the memberships file asks for a full reconcile', async () => {
    const s = await baseline(HEADER + rows(range(1, 10)));
    // Person 5's row now has a duplicate userName: held by the reader, so not named.
    s.replace(HEADER + rows(range(1, 9)) + '10,P10,p5@x.com,active\n');
    const batch = await s.current.poll();
    expect(batch).toBeNull();

    const dir = s.dir;
    const memberships = join(dir, 'groups.csv');
    writeFileSync(memberships, 'group,name,member\ng1,Eng,1\ng1,Eng,2\n');
    const m = await baseline(HEADER + rows(range(1, 10)), { memberships: { path: memberships, group: 'group', groupName: 'name', member: 'member' } });
    writeFileSync(memberships, 'group,name,member\ng1,Eng,1\ng1,Eng,2\ng1,Eng,3\n');
    expect((await m.current.poll())!.keys).toEqual(['3']);
    writeFileSync(memberships, 'group,name,member\ng1,Engineering,1\ng1,Engineering,2\n');
    expect((await m.current.poll())!.full).toBe(`${m.path}: 1 group renamed or nested differently`);
  });

  it('changed() resolves, never rejects, when its signal aborts or the feed closes', async () => {
    const { current: feed } = await baseline(HEADER + rows(range(1, 3)));
    const controller = new AbortController();
    const aborted = feed.changed(controller.signal);
    controller.abort();
    await aborted;
    const closing = feed.changed(new AbortController().signal);
    await feed.close();
    await closing;
  });

  it('keeps a token of 10,000 people small', async () => {
    const s = await baseline(HEADER + rows(range(1, 10_000)));
    const token = (await s.tokens.get('people'))!;
    expect(token.length).toBeLessThan(300_000);
  });
});

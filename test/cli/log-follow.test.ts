/**
 * `scim-sync log --follow` while logrotate rotates the log, over real files and the real command as
 * a process: with `copytruncate` (the file copied aside, then emptied in place and written again
 * from its start) and with `create` (the file renamed, a new one made). Every record is printed
 * once and whole: none skipped because the old read position lies inside the new content, none
 * printed again because the copy holds what was already printed, no piece of a line read as a
 * line. A line written in two parts is printed once, when it is whole. The reader's part of it,
 * read by read, is checked directly too (LogReader), where a poll cannot land between two steps.
 */
import { appendFileSync, copyFileSync, mkdirSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogReader } from '../../src/audit/read-log.js';
import { CliProcess } from '../support/cli-process.js';
import { tempDirs } from '../support/temp-dirs.js';

const newDir = tempDirs('scim-sync-follow-');
let dir: string;
let log: string;
let config: string;
let follow: CliProcess | undefined;

beforeEach(() => {
  dir = newDir();
  mkdirSync(join(dir, 'state'));
  log = join(dir, 'state', 'audit.jsonl');
  config = join(dir, 'org.yaml');
  // `log` reads the config for where the log is; the target is never contacted.
  writeFileSync(
    config,
    'version: 1\nstate:\n  dir: state\nsource:\n  type: csv\n  path: people.csv\n  key: employee_id\n  columns: { userName: email }\n' +
      'targets:\n  app:\n    url: http://127.0.0.1:9\n    auth: { type: bearer, token: "${env:TEST_SCIM_TOKEN}" }\n',
  );
});
afterEach(async () => {
  follow?.kill('SIGKILL');
  await follow?.exited;
  follow = undefined;
});

const id = (n: number) => `E${String(n).padStart(4, '0')}`;

/** Record n as its log line (with its newline); later n, later time. */
function line(n: number): string {
  return `${JSON.stringify({ time: new Date(Date.UTC(2026, 11, 1, 9, 0, 0, n)).toISOString(), planId: 'plan-1', target: 'app', action: 'createUser', externalId: id(n), outcome: 'ok' })}\n`;
}

const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => line(from + k)).join('');

/** The records `log --json` printed, by externalId, in order; fails on a line that is not a whole record. */
function printed(out: string): string[] {
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { externalId: string }).externalId);
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => id(from + k));

/** Starts following the log; resolves once record `last` (the last one in it) is printed. */
async function startFollowing(last: number): Promise<CliProcess> {
  follow = new CliProcess(['log', '--config', config, '--json', '--follow']);
  await follow.waitFor(new RegExp(`"${id(last)}"`), 10_000);
  return follow;
}

/** Waits for record n to be printed, then stops the command and returns what it printed. */
async function stopAfter(f: CliProcess, n: number): Promise<{ ids: string[]; err: string }> {
  await f.waitFor(new RegExp(`"${id(n)}"`), 10_000);
  f.kill('SIGINT');
  const exit = await f.exited;
  expect(exit.code).toBe(0);
  return { ids: printed(exit.out), err: exit.err };
}

describe('log --follow across logrotate', () => {
  it('copytruncate: what is written after the truncation is printed from its start, and the copy prints nothing twice', async () => {
    writeFileSync(log, lines(1, 20));
    const f = await startFollowing(20);
    // Record 21, and the first half of 22: the writer was stopped mid-line (it never ends it).
    appendFileSync(log, `${line(21)}${line(22).slice(0, 40)}`);
    await f.waitFor(/"E0021"/, 10_000);
    copyFileSync(log, `${log}.1`);
    truncateSync(log, 0);
    // Written again from the start, in one write: more than was there, so the old position lies inside it.
    appendFileSync(log, lines(23, 60));
    const { ids, err } = await stopAfter(f, 60);
    expect(ids).toEqual([...range(1, 21), ...range(23, 60)]);
    expect(err).toBe('');
  });

  it('create: the renamed file is read to its end and the new one from its start; a line ended after the rename is printed once, whole', async () => {
    writeFileSync(log, lines(1, 5));
    const f = await startFollowing(5);
    appendFileSync(log, `${line(6)}${line(7).slice(0, 40)}`);
    await f.waitFor(/"E0006"/, 10_000);
    renameSync(log, `${log}.1`);
    writeFileSync(log, lines(8, 9));
    // The writer still holds the renamed file open: it ends its line there.
    appendFileSync(`${log}.1`, line(7).slice(40));
    const { ids, err } = await stopAfter(f, 9);
    // Record 7 may be printed in the same poll as 8 and 9 or in one before: in time order either way.
    expect(ids).toEqual(range(1, 9));
    expect(err).toBe('');
  });

  it('a line written in two parts is printed once, when it is whole', async () => {
    writeFileSync(log, lines(1, 3));
    const f = await startFollowing(3);
    // Record 4 and the first part of 5 in one write: once 4 is printed, the half has been seen.
    appendFileSync(log, `${line(4)}${line(5).slice(0, 50)}`);
    await f.waitFor(/"E0004"/, 10_000);
    appendFileSync(log, `${line(5).slice(50)}${line(6)}`);
    const { ids, err } = await stopAfter(f, 6);
    expect(ids).toEqual(range(1, 6));
    expect(err).toBe('');
  });
});

describe('LogReader, read by read, across logrotate', () => {
  const ids = async (reader: LogReader) => {
    const batch = await reader.read();
    return { ids: batch.records.map((r) => r.externalId), problems: batch.problems };
  };

  it('copytruncate, with more written again than there was before the next read: all of it, from its start, and not the copy', async () => {
    writeFileSync(log, lines(1, 10));
    const reader = new LogReader(log);
    expect(await ids(reader)).toEqual({ ids: range(1, 10), problems: [] });
    appendFileSync(log, line(11));
    copyFileSync(log, `${log}.1`);
    truncateSync(log, 0);
    appendFileSync(log, lines(12, 40));
    // 11 was written before the copy and not read yet: it is read from the copy.
    expect(await ids(reader)).toEqual({ ids: range(11, 40), problems: [] });
    expect(await ids(reader)).toEqual({ ids: [], problems: [] });
  });

  it('copytruncate read between the copy and the truncation: the copy adds nothing, the active file goes on', async () => {
    writeFileSync(log, lines(1, 10));
    const reader = new LogReader(log);
    await reader.read();
    copyFileSync(log, `${log}.1`);
    appendFileSync(log, line(11));
    expect(await ids(reader)).toEqual({ ids: [id(11)], problems: [] });
    truncateSync(log, 0);
    appendFileSync(log, lines(12, 13));
    expect(await ids(reader)).toEqual({ ids: range(12, 13), problems: [] });
  });

  it('copytruncate read while the copy is being written: nothing of the copy is printed, neither then nor once it is whole', async () => {
    writeFileSync(log, lines(1, 10));
    const reader = new LogReader(log);
    await reader.read();
    writeFileSync(`${log}.1`, `${lines(1, 5)}${line(6).slice(0, 30)}`);
    expect(await ids(reader)).toEqual({ ids: [], problems: [] });
    writeFileSync(`${log}.1`, lines(1, 10));
    truncateSync(log, 0);
    appendFileSync(log, lines(11, 12));
    expect(await ids(reader)).toEqual({ ids: range(11, 12), problems: [] });
  });

  it('create: the renamed file goes on from where it was read, the new one from its start', async () => {
    writeFileSync(log, lines(1, 10));
    const reader = new LogReader(log);
    await reader.read();
    renameSync(log, `${log}.1`);
    appendFileSync(`${log}.1`, line(11));
    writeFileSync(log, lines(12, 40));
    expect(await ids(reader)).toEqual({ ids: range(11, 40), problems: [] });
  });
});

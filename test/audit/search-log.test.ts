/**
 * The console's log search over real files (audit/search-log.ts): read from the end backwards, newest
 * file first, it finds exactly the newest matches a full read finds, at any chunk size (lines and
 * multi-byte characters cut by a chunk's edge), and reads no further than it must: not the files
 * and parts older than what it already holds or than `since`, not past its byte budget.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/audit-sink.js';
import { matchesQuery, type LogQuery } from '../../src/audit/log-query.js';
import { LogReader } from '../../src/audit/read-log.js';
import { searchLog } from '../../src/audit/search-log.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'scim-sync-search-'));
  file = join(dir, 'audit.jsonl');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const START = Date.UTC(2026, 10, 1);
const MINUTE = 60_000;
const TARGETS = ['slack', 'zoom', 'github'];

/** Record i: one a minute; every cycle of 10 starts with a record naming who started it. */
function record(i: number): AuditRecord {
  const cycle = `cycle-${Math.floor(i / 10)}`;
  return {
    time: new Date(START + i * MINUTE).toISOString(),
    planId: cycle,
    cycleId: cycle,
    target: TARGETS[i % 3]!,
    action: i % 10 === 0 ? 'cycle.start' : 'updateUser',
    outcome: i % 7 === 0 ? 'failed' : 'ok',
    externalId: `E${1000 + (i % 25)}`,
    label: `Zoë Ångström-${i % 25} 王伟`,
    ...(i % 10 === 0 ? { initiator: i % 20 === 0 ? 'schedule' : 'cli', by: 'ops@host' } : {}),
  } as AuditRecord;
}

const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => `${JSON.stringify(record(from + k))}\n`).join('');
const stamp = (i: number) => new Date(START + i * MINUTE + 30_000).toISOString().replace(/[-:.]/g, '');

/**
 * 600 records: three rotated files (each stamped just after its last record) and the active file,
 * which ends with a line still being written. The oldest file holds one damaged line.
 */
function writeLog(): void {
  writeFileSync(join(dir, `audit.${stamp(149)}.jsonl`), `${lines(0, 70)}{"time": damaged\n${lines(70, 150)}`);
  writeFileSync(join(dir, `audit.${stamp(299)}.jsonl`), lines(150, 300));
  writeFileSync(join(dir, `audit.${stamp(449)}.jsonl`), lines(300, 450));
  writeFileSync(file, `${lines(450, 600)}{"time":"2026-12-01T00:00:00.000Z","target":"sla`);
}

/** What a full read finds for the query, newest first. */
async function oracle(q: LogQuery): Promise<AuditRecord[]> {
  return (await new LogReader(file).read()).records.filter((r) => matchesQuery(r, q))
    .reverse();
}

describe('searchLog', () => {
  const queries: [string, LogQuery][] = [
    ['everything', {}],
    ['one person', { user: 'e1007' }],
    ['a target and a status', { targets: ['zoom'], statuses: ['failure'] }],
    ['a time window', { since: new Date(START + 200 * MINUTE), until: new Date(START + 320 * MINUTE) }],
    ['nothing', { user: 'nobody' }],
  ];

  it.each(queries)('%s: the newest matches a full read finds, at any chunk size and limit', async (_, q) => {
    writeLog();
    const all = await oracle(q);
    for (const chunkBytes of [97, 4096, 1 << 20]) {
      for (const limit of [1, 7, 1000]) {
        const found = await searchLog(file, (r) => matchesQuery(r, q), { limit, chunkBytes, ...(q.since ? { since: q.since } : {}) });
        expect(found.records, `chunk ${chunkBytes}, limit ${limit}`).toEqual(all.slice(0, limit));
        if (found.exhaustive) expect(found.matched).toBe(all.length);
        else expect(found.matched).toBeLessThan(all.length);
        expect(found.exhaustive || all.length > limit).toBe(true);
      }
    }
  });

  it('stops once nothing older can be among the newest: the oldest file is not read', async () => {
    writeLog();
    expect((await new LogReader(file).read()).problems).toHaveLength(1);
    const found = await searchLog(file, () => true, { limit: 20, chunkBytes: 512 });
    expect(found.records.map((r) => r.time)).toEqual((await oracle({})).slice(0, 20).map((r) => r.time));
    expect(found).toMatchObject({ exhaustive: false, unreadable: 0 });
    // Every record, when asked for: the damaged line is read and counted.
    const everything = await searchLog(file, () => true, { limit: 10_000 });
    expect(everything).toMatchObject({ matched: 600, exhaustive: true, unreadable: 1 });
  });

  it('with since, a rotated file older than it is not opened, and the count is still exact', async () => {
    writeLog();
    const since = new Date(START + 160 * MINUTE);
    const found = await searchLog(file, (r) => matchesQuery(r, { since }), { limit: 1000, since });
    expect(found).toMatchObject({ matched: 440, exhaustive: true, unreadable: 0 });
    expect(found.records.at(-1)!.time).toBe(new Date(START + 160 * MINUTE).toISOString());
  });

  it('a line of 64 MiB is read once, not joined again at every chunk, and counts against the budget', async () => {
    // A foreign line (not a record) among records: what a server's megabyte error text once made.
    writeFileSync(file, `${lines(0, 20)}${'x'.repeat(64 << 20)}\n${lines(20, 40)}`);
    const all = await searchLog(file, () => true, { limit: 1000, chunkBytes: 16 << 10, maxBytes: 1 << 30 });
    expect(all).toMatchObject({ matched: 40, exhaustive: true, unreadable: 1 });
    expect(all.records.map((r) => r.time)).toEqual((await oracle({})).map((r) => r.time));
    // The budget runs out inside the long line: the search stops there, and says how far back it got.
    const budget = await searchLog(file, () => true, { limit: 1000, chunkBytes: 16 << 10, maxBytes: 1 << 20 });
    expect(budget).toMatchObject({ matched: 20, exhaustive: false, searchedBackTo: new Date(START + 20 * MINUTE).toISOString() });
  });

  it('past its byte budget it stops and says how far back it read', async () => {
    writeLog();
    const found = await searchLog(file, (r) => r.outcome === 'failed', { limit: 1000, maxBytes: 40_000, chunkBytes: 10_000 });
    expect(found.exhaustive).toBe(false);
    const back = Date.parse(found.searchedBackTo!);
    expect(back).toBeGreaterThan(START);
    expect(back).toBeLessThan(START + 450 * MINUTE);
    expect(found.records).toEqual((await oracle({ statuses: ['failed'] })).filter((r) => Date.parse(r.time) >= back));
  });

  it('a record without its initiator gets it from its cycle, as a full read gives it', async () => {
    writeLog();
    const found = await searchLog(file, (r) => r.externalId === 'E1011', { limit: 50 });
    expect(found.records.length).toBeGreaterThan(0);
    expect(found.records).toEqual((await oracle({ user: 'E1011' })).slice(0, 50));
    expect(found.records.every((r) => r.initiator === 'schedule' || r.initiator === 'cli')).toBe(true);
  });

  it('yields to the event loop between chunks, and reads a line appended meanwhile no sooner than it is whole', async () => {
    writeLog();
    let turns = 0;
    const tick = setInterval(() => turns++, 0);
    try {
      const found = await searchLog(file, () => true, { limit: 10_000, chunkBytes: 1024 });
      expect(turns).toBeGreaterThan(0);
      expect(found.matched).toBe(600);
    } finally {
      clearInterval(tick);
    }
    appendFileSync(file, 'ck","action":"x","outcome":"ok","planId":"p"}\n');
    expect((await searchLog(file, (r) => r.planId === 'p', { limit: 5 })).records).toHaveLength(1);
  });

  it('a line whose time does not parse is unreadable, here as in a full read (no NaN in the order or in how far back it read)', async () => {
    const undated = '{"time":"yesterday","target":"a","action":"x","outcome":"ok","planId":"p"}\n';
    writeFileSync(file, `${lines(0, 20)}${undated}${lines(20, 40)}${undated}`);
    expect((await new LogReader(file).read()).problems).toEqual([expect.stringContaining(':21: not a log record'), expect.stringContaining(':42: not a log record')]);
    expect(await oracle({})).toHaveLength(40);
    // Out of budget after the first chunk, which holds the undated line: this threw RangeError.
    const spent = await searchLog(file, () => true, { limit: 1000, maxBytes: 10, chunkBytes: 1000 });
    expect(spent).toMatchObject({ exhaustive: false, unreadable: 1 });
    expect(spent.records.length).toBeGreaterThan(0);
    expect(spent.records.map((r) => r.time)).toEqual((await oracle({})).slice(0, spent.records.length).map((r) => r.time));
    expect(spent.searchedBackTo).toBe(spent.records.at(-1)!.time);
    for (const limit of [3, 1000]) {
      const found = await searchLog(file, () => true, { limit, chunkBytes: 512 });
      expect(found.records, `limit ${limit}`).toEqual((await oracle({})).slice(0, limit));
    }
    expect(await searchLog(file, () => true, { limit: 1000 })).toMatchObject({ matched: 40, exhaustive: true, unreadable: 2 });
  });

  it('a log that does not exist yet: no records, nothing unreadable', async () => {
    expect(await searchLog(join(dir, 'none', 'audit.jsonl'), () => true, { limit: 5 })).toEqual({ records: [], matched: 0, exhaustive: true, unreadable: 0 });
  });
});

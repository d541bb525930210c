/**
 * An HR export rewritten in place by a paging job (truncate, write the first page, pause, write
 * the rest) must deactivate no one while it pauses: the CSV feed hands a vanished row out as a
 * departure only once the same file has stayed so for source.changes.confirmRemovedMs. A real
 * departure (a row deleted) still goes, after that wait.
 */
import { closeSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { CsvSourceConfig } from '../../src/config/schema/index.js';
import type { ChangeBatch, ChangeFeed } from '../../src/sources/change-feed.js';
import { CsvChangeFeed } from '../../src/sources/csv/csv-change-feed.js';
import { FileFeedTokenStore } from '../../src/state/feed-tokens.js';
import { Harness, peopleCsv, person } from '../support/harness.js';
import { Batches, startTestService, type RunningService } from '../support/service.js';

let h: Harness;
let s: RunningService | undefined;
afterEach(async () => {
  await s?.stop();
  s = undefined;
  await h.close();
});

/** The feed, and each poll's outcome to wait for: the loop starts a poll only once the last one's batch is dealt with. */
class ObservedFeed implements ChangeFeed {
  readonly description: string;
  private started = 0;
  private waiters: { from: number; resolve(b: ChangeBatch | null): void }[] = [];

  constructor(private readonly inner: CsvChangeFeed) {
    this.description = inner.description;
  }

  async poll(signal?: AbortSignal): Promise<ChangeBatch | null> {
    const index = this.started++;
    const batch = await this.inner.poll(signal);
    const done = this.waiters.filter((w) => w.from <= index);
    this.waiters = this.waiters.filter((w) => w.from > index);
    for (const w of done) w.resolve(batch);
    return batch;
  }

  /** What the first poll started after this call found. */
  nextPoll(timeoutMs = 10_000): Promise<ChangeBatch | null> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no poll within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ from: this.started, resolve: (b) => (clearTimeout(timer), resolve(b)) });
    });
  }

  /** A poll started after this call has ended, and the loop has dealt with its batch. */
  async polledTwice(): Promise<void> {
    await this.nextPoll();
    await this.nextPoll();
  }

  changed(signal: AbortSignal): Promise<void> {
    return this.inner.changed(signal);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

const people = Array.from({ length: 30 }, (_, i) => person(i + 1));
const userOf = (n: number) => h.sandbox.store.findUserByUserName(`user${n}@example.com`);
const actives = () => people.map((_, i) => userOf(i + 1)?.['active']);

describe('an HR export rewritten in place, page by page', () => {
  it('deactivates no one while the export pauses after its first page; a row really deleted is deprovisioned once the file stays so for confirmRemovedMs', async () => {
    h = await Harness.synced(people);
    h.top = 'serve:\n  pollIntervalMs: 500';
    h.writeConfig('', '', '  changes: { settleMs: 50 }');
    const loaded = loadConfig(h.configFile, { TEST_SCIM_TOKEN: 'x'.repeat(8) });
    let clock = 0;
    const inner = new CsvChangeFeed(loaded.config.source as CsvSourceConfig, new FileFeedTokenStore(loaded.stateDir), 'source', {
      minSourceUsers: loaded.config.safety.minSourceUsers,
      now: () => clock,
    });
    const baseline = await inner.poll();
    expect(baseline?.full).toMatch(/no earlier snapshot/);
    await baseline!.commit();
    const feed = new ObservedFeed(inner);
    const batches = new Batches();
    s = await startTestService(h, { feeds: [{ name: 'source', feed }], onBatch: batches.listener });
    expect((await s.firstCycle)?.result?.kind).toBe('applied');
    h.sandbox.clearRequests();

    // The paging export: the file truncated and its first 28 rows written (2 of 30 missing: 6.7%,
    // under maxRemovedPercent and within alwaysAllowDeactivations), then a pause.
    const [header, ...rows] = peopleCsv(people).split(/(?<=\n)/);
    const fd = openSync(h.csv, 'w');
    writeSync(fd, header! + rows.slice(0, 28).join(''));
    await feed.polledTwice();
    expect(h.writes()).toEqual([]);
    expect(actives()).toEqual(Array(30).fill(true));

    // The last page.
    writeSync(fd, rows.slice(28).join(''));
    closeSync(fd);
    await feed.polledTwice();
    expect(h.writes()).toEqual([]);
    expect(batches.seen).toEqual([]);
    expect(actives()).toEqual(Array(30).fill(true));

    // Person 30's row deleted, the export replaced by rename: gone, but not yet confirmed.
    writeFileSync(`${h.csv}.new`, peopleCsv(people.slice(0, 29)));
    renameSync(`${h.csv}.new`, h.csv);
    expect(await feed.nextPoll()).toBeNull();
    await feed.polledTwice();
    expect(h.writes()).toEqual([]);
    // The file has stayed the same for confirmRemovedMs (60 s by default).
    const next = batches.next();
    clock += 60_000;
    const batch = await next;
    expect(batch.keys).toEqual(['E1030']);
    const id = userOf(30)!['id'] as string;
    expect(h.writes().map((w) => `${w.method} ${w.path}`)).toEqual([`PATCH /Users/${id}`]);
    expect(actives()).toEqual([...Array(29).fill(true), false]);
    expect(s.lines).toContainEqual(expect.stringMatching(/1 removed since the last accepted version$/));
  }, 40_000);
});

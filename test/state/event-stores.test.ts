/**
 * The embedded stores behind inbound events, on real files: the event id journal (atomic check and
 * record, bounded, a torn last line, rewritten without the expired, hashed ids), and the
 * future-dated changes (concurrent adds all kept, a damaged file named, a full store refusing).
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StateError } from '../../src/errors.js';
import { FileDueChanges } from '../../src/state/due-changes.js';
import { FileEventIdStore } from '../../src/state/event-id-store.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs('scim-sync-event-state-');

describe('event id journal', () => {
  it('of concurrent calls with one id, exactly one is new', async () => {
    const ids = FileEventIdStore.open(tempDir());
    const answers = await Promise.all(Array.from({ length: 20 }, () => ids.seen('hr', 'same', 60_000)));
    expect(answers.filter((a) => !a)).toHaveLength(1);
  });

  it('holds no sender text, survives a torn last line, and keeps at most maxEntries (oldest go)', async () => {
    const dir = tempDir();
    const ids = FileEventIdStore.open(dir, { maxEntries: 3 });
    for (const id of ['secret-looking-id-1', 'b', 'c', 'd']) expect(await ids.seen('hr', id, 60_000)).toBe(false);
    const file = join(dir, 'event-ids.journal');
    expect(readFileSync(file, 'utf8')).not.toContain('secret-looking-id-1');
    // Evicted: the oldest is new again (and evicts the next oldest, b).
    expect(await ids.seen('hr', 'secret-looking-id-1', 60_000)).toBe(false);
    expect(await ids.seen('hr', 'd', 60_000)).toBe(true);
    ids.close();
    appendFileSync(file, '["torn-li');
    const reopened = FileEventIdStore.open(dir, { maxEntries: 3 });
    expect(await reopened.seen('hr', 'c', 60_000)).toBe(true);
    expect(await reopened.seen('hr', 'e', 60_000)).toBe(false);
    // The line after the torn one is whole and read back.
    reopened.close();
    expect(await FileEventIdStore.open(dir).seen('hr', 'e', 60_000)).toBe(true);
  });

  it('an id that could not be recorded is not seen: the sender\'s retry is handled, not answered as a duplicate', async () => {
    const ids = FileEventIdStore.open(tempDir());
    // The disk fills as the first delivery's id is written (the journal's write fails, as on ENOSPC).
    const journal = (ids as unknown as { journal: { written(): Promise<void> } }).journal;
    const written = journal.written.bind(journal);
    journal.written = () => Promise.reject(new StateError('cannot write the event id journal: ENOSPC (no space left on the device)'));
    await expect(ids.seen('hr', 'termination-42', 60_000)).rejects.toThrow('ENOSPC');
    // Space again: the retry is a new event, recorded this time.
    journal.written = written;
    expect(await ids.seen('hr', 'termination-42', 60_000)).toBe(false);
    expect(await ids.seen('hr', 'termination-42', 60_000)).toBe(true);
    ids.close();
  });

  it('past maxEntries an expired id goes before the oldest live one, even one recorded after the last look', async () => {
    let clock = 0;
    const ids = FileEventIdStore.open(tempDir(), { maxEntries: 3, now: () => clock });
    expect(await ids.seen('hr', 'a', 1_000)).toBe(false);
    expect(await ids.seen('hr', 'b', 1_000)).toBe(false);
    expect(await ids.seen('hr', 'c', 1_000)).toBe(false);
    clock = 10;
    // Full of live ids: the oldest (a) goes, and nothing expires before 1,000.
    expect(await ids.seen('hr', 'd', 5)).toBe(false);
    expect(await ids.seen('hr', 'a', 1_000)).toBe(false);
    clock = 20;
    // d (recorded with a short life) has expired: it goes, not the oldest live one (c).
    expect(await ids.seen('hr', 'e', 1_000)).toBe(false);
    expect(await ids.seen('hr', 'c', 1_000)).toBe(true);
    ids.close();
  });

  it('a full store takes each new id in constant time (it used to scan every id: 50,000 past 100,000 took minutes)', async () => {
    const ids = FileEventIdStore.open(tempDir());
    for (let i = 0; i < 150_000; i++) await ids.seen('hr', `id-${i}`, 3_600_000);
    expect(await ids.seen('hr', 'id-149999', 3_600_000)).toBe(true);
    expect(await ids.seen('hr', 'id-0', 3_600_000)).toBe(false);
    ids.close();
  });

  it('the journal is rewritten with only the live ids once it has grown', async () => {
    const dir = tempDir();
    let clock = 1_000_000;
    const ids = FileEventIdStore.open(dir, { now: () => clock });
    for (let i = 0; i < 1500; i++) await ids.seen('hr', `old-${i}`, 1_000);
    clock += 2_000;
    for (let i = 0; i < 600; i++) await ids.seen('hr', `new-${i}`, 1_000);
    // 2100 lines written; the rewrite at 2000 kept only the live ones.
    const lines = readFileSync(join(dir, 'event-ids.journal'), 'utf8').trim().split('\n');
    expect(lines.length).toBeLessThanOrEqual(600);
    ids.close();
    const reopened = FileEventIdStore.open(dir, { now: () => clock });
    expect(await reopened.seen('hr', 'new-599', 1_000)).toBe(true);
    expect(await reopened.seen('hr', 'new-0', 1_000)).toBe(true);
    expect(await reopened.seen('hr', 'old-1499', 1_000)).toBe(false);
  });
});

describe('due changes', () => {
  const at = (s: string) => new Date(s);

  it('concurrent adds are all kept; due is earliest first; done removes only what was processed', async () => {
    const dir = tempDir();
    const due = new FileDueChanges(dir);
    await Promise.all(
      ['2026-04-03', '2026-04-01', '2026-04-02'].map((d, i) => due.add([{ endpoint: 'hr', eventId: `e${i}`, key: `K${i}`, effectiveAt: at(`${d}T00:00:00Z`) }])),
    );
    const other = new FileDueChanges(dir);
    expect((await other.due(at('2026-04-02T00:00:00Z'))).map((c) => c.key)).toEqual(['K1', 'K2']);
    expect(await other.next()).toEqual(at('2026-04-01T00:00:00Z'));
    // The same event again with a moved date replaces it; done with the old instant leaves the new one.
    await due.add([{ endpoint: 'hr', eventId: 'e1', key: 'K1', effectiveAt: at('2026-04-05T00:00:00Z') }]);
    await due.done([{ endpoint: 'hr', eventId: 'e1', key: 'K1', effectiveAt: at('2026-04-01T00:00:00Z') }]);
    expect((await new FileDueChanges(dir).due(at('2026-12-31T00:00:00Z'))).map((c) => [c.key, c.effectiveAt.toISOString()])).toEqual([
      ['K2', '2026-04-02T00:00:00.000Z'],
      ['K0', '2026-04-03T00:00:00.000Z'],
      ['K1', '2026-04-05T00:00:00.000Z'],
    ]);
  });

  it('a damaged file is a StateError naming it; a full store refuses rather than drops', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'due-changes.json'), '{"version":1,"changes":[{"endpoint":"hr","key":"K"}]}');
    await expect(new FileDueChanges(dir).next()).rejects.toThrow(`${join(dir, 'due-changes.json')} holds a damaged entry`);
    const full = new FileDueChanges(tempDir(), { maxEntries: 1 });
    await full.add([{ endpoint: 'hr', eventId: 'e', key: 'A', effectiveAt: at('2026-04-01T00:00:00Z') }]);
    const adding = full.add([{ endpoint: 'hr', eventId: 'e', key: 'B', effectiveAt: at('2026-04-01T00:00:00Z') }]);
    await expect(adding).rejects.toBeInstanceOf(StateError);
    expect((await full.due(at('2026-04-01T00:00:00Z'))).map((c) => c.key)).toEqual(['A']);
  });
});

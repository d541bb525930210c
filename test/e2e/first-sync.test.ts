/**
 * A first sync cut short: the create check does not judge a target with no managed users, but once
 * the first creates are in, the rest of that first sync would read as "too many created beside the
 * managed ones" and stop every later run. The state remembers, per target, a first sync begun and
 * not completed; while it does, the check judges the target as a first sync. Once a cycle completes
 * it (nothing failed, nothing left), the check is as strict as ever.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, person } from '../support/harness.js';

let h: Harness;
afterEach(async () => {
  await h.close();
});

const people = Array.from({ length: 200 }, (_, i) => person(i + 1));
const creates = () => h.sandbox.requests.filter((r) => r.method === 'POST' && r.path === '/Users');

/**
 * The first run against an empty app: the first 40 creates are answered, then the app answers 503
 * to every create, each failing once its retries are spent (a 5xx storm). Quarantine is off so
 * that the next run tries the target at once, as it would once quarantine tried it again.
 */
async function interruptedFirstSync(): Promise<void> {
  h = await Harness.start({ target: '    retries: 2', top: 'quarantine: { enabled: false }' });
  h.writePeople(people);
  h.sandbox.addFault({ method: 'POST', path: '/Users', times: 40, action: { type: 'delay', ms: 0 } });
  h.sandbox.addFault({ method: 'POST', path: '/Users', times: Infinity, action: { type: 'status', status: 503 } });
  const first = await h.run();
  expect(first.code, first.err + first.out).toBe(1);
  expect(h.sandbox.store.users()).toHaveLength(40);
  h.sandbox.clearFaults();
  h.sandbox.clearRequests();
}

describe('a first sync cut short', () => {
  it('finishes on the next run without an override; afterwards the create check is as strict as before', async () => {
    await interruptedFirstSync();
    const next = await h.run();
    expect(next.code, next.err + next.out).toBe(0);
    expect(next.out).toMatch(/~ first sync begun \d{4}-\d\d-\d\dT[\d:.]+Z, not yet complete: its rest \(200 accounts in all\) is not limited by the create check/);
    expect(creates()).toHaveLength(160);
    expect(h.sandbox.store.users()).toHaveLength(200);
    // When the check eased and when it tightened again, in the provisioning log.
    const marks = h.audit().filter((r) => String(r['action']).startsWith('first-sync.'));
    expect(marks.map((r) => [r['action'], r['target']])).toEqual([['first-sync.continue', 'app'], ['first-sync.complete', 'app']]);
    expect(marks[0]!['note']).toMatch(/^continues the first sync begun \S+, cut short: the create check does not count its rest \(200 accounts in all\) until a cycle completes it$/);
    expect(marks[1]!['note']).toMatch(/^first sync begun \S+ \(plan-\S+\) complete: every account it was to give went out; the safety check limits its creates again$/);
    // The first sync is complete: 60 newcomers beside 200 managed users are judged again.
    h.writePeople([...people, ...Array.from({ length: 60 }, (_, i) => person(2001 + i))]);
    h.sandbox.clearRequests();
    const later = await h.run();
    expect(later.code, later.err + later.out).toBe(3);
    expect(later.out).not.toContain('first sync begun');
    expect(later.err).toContain('target app: 60 users would be created beside its 200 managed users (30.0%, limit 20%)');
    expect(h.writes()).toEqual([]);
  });

  it('one person the app refuses for good (400) does not keep the first sync open: the create check judges the next runs', async () => {
    h = await Harness.start();
    h.writePeople(people.slice(0, 30));
    h.sandbox.addFault({ method: 'POST', path: '/Users', times: 1, action: { type: 'status', status: 400, detail: 'userName not allowed' } });
    const first = await h.run();
    expect(first.code, first.err + first.out).toBe(1);
    expect(h.sandbox.store.users()).toHaveLength(29);
    expect(existsSync(join(h.dir, 'state', 'first-syncs.json')) ? readFileSync(join(h.dir, 'state', 'first-syncs.json'), 'utf8') : '').not.toContain('"app"');
    // The refused person and 15 newcomers: 16 beside 29 managed users.
    h.writePeople([...people.slice(0, 30), ...Array.from({ length: 15 }, (_, i) => person(2001 + i))]);
    h.sandbox.clearRequests();
    const next = await h.run();
    expect(next.code, next.err + next.out).toBe(3);
    expect(next.err).toContain('target app: 16 users would be created beside its 29 managed users (55.2%, limit 20%)');
    expect(h.writes()).toEqual([]);
  });

  it('a state from an earlier version, which recorded no first sync, is judged as before: stopped, and told to override once', async () => {
    await interruptedFirstSync();
    rmSync(join(h.dir, 'state', 'first-syncs.json'), { force: true });
    const next = await h.run();
    expect(next.code, next.err + next.out).toBe(3);
    expect(next.err).toContain('target app: 160 users would be created beside its 40 managed users (400.0%, limit 20%)');
    expect(next.err).toContain('--override-safety once');
    expect(h.writes()).toEqual([]);
  });
});

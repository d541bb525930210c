/** The quarantine decisions, as tables: a report, the target's entry and the time in; a verdict out. */
import { describe, expect, it } from 'vitest';
import { durationMs } from '../../src/config/duration.js';
import { backoffMs, decideQuarantine, partitionTargets, quarantineReason } from '../../src/engine/quarantine.js';
import { emptyTargetReport, type Outcome, type TargetReport } from '../../src/execution/run-report.js';
import type { QuarantineEntry } from '../../src/state/quarantine-store.js';

const H = 3_600_000;
const settings = { enabled: true, failurePercent: 40, minOperations: 10, backoff: [6 * H, 12 * H, 24 * H] };
const now = new Date('2026-01-01T00:00:00.000Z');
const later = (ms: number) => new Date(now.getTime() + ms).toISOString();

/** A report of `ok` successful and `failed` failed creates (and `skipped` skipped ones). */
function report(ok: number, failed: number, over: Partial<TargetReport> = {}, skipped = 0): TargetReport {
  const counts: Record<Outcome, number> = { ok, failed, skipped, partial: 0, unchanged: 0 };
  return { ...emptyTargetReport('crm'), counts: ok + failed + skipped ? { createUser: counts } : {}, ...over };
}

const entry = (attempts: number): QuarantineEntry => ({ target: 'crm', since: '2025-12-31T00:00:00.000Z', reason: 'credential refused: x', attempts, nextTry: now.toISOString() });

describe('quarantineReason', () => {
  it.each([
    ['a clean cycle', report(10, 0), undefined],
    ['4 of 10 failed: 40% is not more than 40%', report(6, 4), undefined],
    ['5 of 10 failed', report(5, 5), '5 of 10 operations failed (more than 40%)'],
    ['5 of 9 failed: fewer than minOperations ran', report(4, 5), undefined],
    ['skipped operations did not run', report(4, 5, {}, 20), undefined],
    ['a credential refused mid-run', report(0, 1, { stopped: 'stopped: credential rejected (HTTP 401)', stopKind: 'auth' }), 'credential refused: credential rejected (HTTP 401)'],
    ['a wait that timed out is no refused credential', report(0, 0, { stopped: 'still running after 2 s of waiting', stopKind: 'wait-timeout' }), undefined],
    ["a cycle whose data Redis lost is no refused credential", report(0, 0, { stopped: "the cycle's data is gone from Redis", stopKind: 'data-lost' }), undefined],
    ['an interrupted wait is no refused credential', report(0, 0, { stopped: 'still running when waiting was interrupted', stopKind: 'interrupted' }), undefined],
    ["a worker's config differing from the planner's is not the target's failure", report(0, 0, { stopped: "this worker's config differs", stopKind: 'config-differs' }), undefined],
    ['a stop of unknown kind (an earlier version) is not taken for a refused credential', report(0, 0, { stopped: 'still running after 2 s of waiting' }), undefined],
    ['failures before the lock was lost are not judged on a cycle cut short', report(0, 12, { stopped: "the cycle's lock expired", stopKind: 'lock-lost' }), undefined],
    ['a credential refused on the read', report(0, 0, { unreadable: '[AUTH] credential rejected (HTTP 401)' }), 'credential refused: [AUTH] credential rejected (HTTP 401)'],
    ['an unreachable target is not quarantined for it', report(0, 0, { unreadable: '[TRANSIENT] connect ECONNREFUSED' }), undefined],
    [
      'changes accepted but not kept (parked) are not failures of the target',
      report(0, 10, { failures: Array.from({ length: 10 }, (_, i) => ({ opId: `u-${i}`, kind: 'updateUser' as const, externalId: `E${i}`, label: `u${i}`, code: 'NOT_STORED', message: 'parked' })) }),
      undefined,
    ],
  ])('%s', (_, r, expected) => {
    expect(quarantineReason(r, settings)).toBe(expected);
  });
});

describe('decideQuarantine', () => {
  it.each([
    ['healthy, not quarantined: nothing', report(10, 0), undefined, { kind: 'none' }],
    [
      'failing, not quarantined: in, next try after the first backoff',
      report(5, 5),
      undefined,
      { kind: 'enter', entry: { target: 'crm', since: now.toISOString(), reason: '5 of 10 operations failed (more than 40%)', attempts: 1, nextTry: later(6 * H) } },
    ],
    [
      'retried and failing again: the second backoff, since kept',
      report(0, 0, { unreadable: '[AUTH] no' }),
      entry(1),
      { kind: 'stay', entry: { ...entry(2), reason: 'credential refused: [AUTH] no', nextTry: later(12 * H) } },
    ],
    ['past the list: its last entry repeats', report(5, 5), entry(5), { kind: 'stay', entry: { ...entry(6), reason: '5 of 10 operations failed (more than 40%)', nextTry: later(24 * H) } }],
    ['retried and unreachable: stays', report(0, 0, { unreadable: '[TRANSIENT] down' }), entry(1), { kind: 'stay', entry: { ...entry(2), reason: '[TRANSIENT] down', nextTry: later(12 * H) } }],
    ['retried and healthy: lifted', report(10, 1), entry(3), { kind: 'lift', previous: entry(3) }],
    ['retried, the wait timed out: neither lifted nor kept longer', report(0, 0, { stopped: 'still running after 2 s of waiting', stopKind: 'wait-timeout' }), entry(1), { kind: 'none' }],
    ['not quarantined, the wait timed out: nothing', report(0, 0, { stopped: 'still running after 2 s of waiting', stopKind: 'wait-timeout' }), undefined, { kind: 'none' }],
    [
      'a credential refused mid-run: in',
      report(0, 1, { stopped: 'stopped: no', stopKind: 'auth' }),
      undefined,
      { kind: 'enter', entry: { target: 'crm', since: now.toISOString(), reason: 'credential refused: no', attempts: 1, nextTry: later(6 * H) } },
    ],
  ])('%s', (_, r, current, expected) => {
    expect(decideQuarantine(r, current, settings, now)).toEqual(expected);
  });
});

describe('backoff and skipping', () => {
  it.each([
    [1, 6 * H],
    [2, 12 * H],
    [3, 24 * H],
    [9, 24 * H],
  ])('after %i failed cycles the wait is %i ms', (attempts, ms) => {
    expect(backoffMs(attempts, settings.backoff)).toBe(ms);
  });

  it('skips a target until its next try, then plans it', () => {
    const entries = new Map([['crm', { ...entry(1), nextTry: later(1) }]]);
    const before = partitionTargets(['app', 'crm'], entries, now);
    expect(before.run).toEqual(['app']);
    expect(before.skipped.get('crm')).toBe(
      `quarantined since 2025-12-31T00:00:00.000Z: credential refused: x; next try at ${later(1)} (lift it now with scim-sync unquarantine --target crm)`,
    );
    expect(partitionTargets(['app', 'crm'], entries, new Date(now.getTime() + 1))).toEqual({ run: ['app', 'crm'], skipped: new Map() });
  });
});

describe('durationMs', () => {
  it.each([
    ['6h', 6 * H],
    ['1d', 24 * H],
    ['90s', 90_000],
    ['1ms', 1],
    ['30', 30_000],
    ['0s', undefined],
    ['6 hours', undefined],
    ['-1h', undefined],
  ])('%s', (text, ms) => {
    expect(durationMs(text)).toBe(ms);
  });
});

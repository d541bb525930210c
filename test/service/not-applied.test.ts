/**
 * What of a change-driven batch is tried again (service/fast-lane.ts notApplied): a passing failure
 * leaves its person; one the server refuses leaves no one; a group's operation, which carries the
 * group's key and not whose change it was, leaves everyone; so does a target left out in quarantine,
 * unless the safety check stopped the batch (staged: someone decides).
 */
import { describe, expect, it } from 'vitest';
import { notApplied, type BatchOutcome } from '../../src/service/fast-lane.js';
import type { OperationFailure, RunReport } from '../../src/execution/run-report.js';
import { SafetyError } from '../../src/errors.js';

const failure = (externalId: string, code: string, kind: OperationFailure['kind'] = 'updateUser'): OperationFailure => ({ opId: 'o1', kind, externalId, label: externalId, code, message: `${code} for ${externalId}` });
const outcome = (failures: OperationFailure[]): BatchOutcome => ({
  keys: ['E1', 'E2'],
  report: { planId: 'p', startedAt: '', finishedAt: '', targets: [{ target: 'app', counts: {}, failures, skips: [] }] } as RunReport,
});

describe('notApplied', () => {
  it('a passing failure leaves its person, a refusal no one, and a group operation everyone', () => {
    expect(notApplied(outcome([]))).toBeUndefined();
    expect(notApplied(outcome([failure('E2', 'TRANSIENT')]))).toEqual({ why: 'target app: TRANSIENT for E2', keys: new Set(['E2']) });
    expect(notApplied(outcome([failure('E2', 'BAD_REQUEST')]))).toBeUndefined();
    expect(notApplied(outcome([failure('grp-sales', 'TRANSIENT', 'patchGroupMembers')]))?.keys).toBe('all');
    expect(notApplied({ keys: ['E1'], error: new Error('source unreadable') })).toEqual({ why: 'source unreadable', keys: 'all' });
  });

  it('served by a full cycle: its own people\'s passing failures leave them; others\' and groups\' are the next cycle\'s', () => {
    const full = (failures: OperationFailure[]): BatchOutcome => ({ ...outcome(failures), fullCycle: true });
    expect(notApplied(full([failure('E2', 'TRANSIENT'), failure('E9', 'TRANSIENT'), failure('grp-sales', 'TRANSIENT', 'patchGroupMembers')]))).toEqual({ why: 'target app: TRANSIENT for E2', keys: new Set(['E2']) });
    expect(notApplied(full([failure('E9', 'TRANSIENT'), failure('grp-sales', 'TRANSIENT', 'patchGroupMembers')]))).toBeUndefined();
  });

  it('a target that could not be read, or stopped, leaves everyone, named once as a cycle names it', () => {
    const target = (extra: object): BatchOutcome => ({ keys: ['E1'], report: { planId: 'p', startedAt: '', finishedAt: '', targets: [{ target: 'app', counts: {}, failures: [], skips: [], ...extra }] } });
    expect(notApplied(target({ unreadable: '[TRANSIENT] HTTP 503' }))).toEqual({ why: 'target app could not be read: [TRANSIENT] HTTP 503', keys: 'all' });
    expect(notApplied(target({ stopped: 'stopped: credential rejected (HTTP 401)', stopKind: 'auth' }))).toEqual({ why: 'target app stopped: credential rejected (HTTP 401)', keys: 'all' });
    expect(notApplied(target({ stopped: 'credential rejected' }))).toEqual({ why: 'target app stopped: credential rejected', keys: 'all' });
  });

  it('a target left out in quarantine leaves everyone, named with its status, beside the other targets not reached; a safety stop is left to whoever decides', () => {
    const crm = { target: 'crm', why: 'skipped: quarantined since 2026-11-30T10:00:00Z: the credential was refused; next try at 2026-11-30T16:00:00Z' };
    expect(notApplied({ ...outcome([]), leftOut: [crm] })).toEqual({ why: `target crm ${crm.why}`, keys: 'all' });
    const unreadable: BatchOutcome = { keys: ['E1'], leftOut: [crm], report: { planId: 'p', startedAt: '', finishedAt: '', targets: [{ target: 'app', counts: {}, failures: [], skips: [], unreadable: 'HTTP 503' }] } };
    expect(notApplied(unreadable)).toEqual({ why: `target crm ${crm.why}; target app could not be read: HTTP 503`, keys: 'all' });
    expect(notApplied({ keys: ['E1'], leftOut: [crm], error: new Error('every target is in quarantine (crm)') })).toEqual({ why: `every target is in quarantine (crm); target crm ${crm.why}`, keys: 'all' });
    expect(notApplied({ keys: ['E1'], leftOut: [crm], stopped: new SafetyError(['5 of 20 managed users would be deprovisioned']) })).toBeUndefined();
  });
});

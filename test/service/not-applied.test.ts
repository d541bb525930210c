/**
 * What of a change-driven batch is tried again (service/fast-lane.ts notApplied): a passing failure
 * leaves its person; one the server refuses leaves no one; a group's operation, which carries the
 * group's key and not whose change it was, leaves everyone.
 */
import { describe, expect, it } from 'vitest';
import { notApplied, type BatchOutcome } from '../../src/service/fast-lane.js';
import type { OperationFailure, RunReport } from '../../src/execution/run-report.js';

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

  it('a target that could not be read, or stopped, leaves everyone, named once as a cycle names it', () => {
    const target = (extra: object): BatchOutcome => ({ keys: ['E1'], report: { planId: 'p', startedAt: '', finishedAt: '', targets: [{ target: 'app', counts: {}, failures: [], skips: [], ...extra }] } });
    expect(notApplied(target({ unreadable: '[TRANSIENT] HTTP 503' }))).toEqual({ why: 'target app could not be read: [TRANSIENT] HTTP 503', keys: 'all' });
    expect(notApplied(target({ stopped: 'stopped: credential rejected (HTTP 401)', stopKind: 'auth' }))).toEqual({ why: 'target app stopped: credential rejected (HTTP 401)', keys: 'all' });
    expect(notApplied(target({ stopped: 'credential rejected' }))).toEqual({ why: 'target app stopped: credential rejected', keys: 'all' });
  });
});

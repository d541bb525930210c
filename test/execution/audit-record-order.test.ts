/**
 * An operation's audit record keeps the key order the provisioning log's lines have always had
 * (readers diff and grep them): identity, the outcome's detail in its own order, outcome and
 * attempts, the changes, the steps last. operationAuditRecord builds it by assignment, so the
 * order is the code's to keep.
 */
import { describe, expect, it } from 'vitest';
import { operationAuditRecord, resultDetail } from '../../src/execution/operation-outcome.js';
import type { CreateUserOp, UpdateUserOp } from '../../src/model/plan.js';

const create: CreateUserOp = { id: 'c-1', kind: 'createUser', externalId: 'E1', label: 'ann@example.com', resource: {}, hash: 'h', adoptBy: null };
const update: UpdateUserOp = {
  id: 'u-1',
  kind: 'updateUser',
  externalId: 'E2',
  label: 'bob@example.com',
  scimId: 's-2',
  changes: [{ path: 'name.givenName', from: 'Bob', to: 'Robert' }],
  hash: 'h',
  recreate: {},
  matchedBy: 'link',
};

describe('operation audit records', () => {
  it('a create that went through: the id from its result, then outcome, attempts and steps', () => {
    const detail = { ...resultDetail({ scimId: 'new-1' }), durationMs: 7 };
    const record = operationAuditRecord('plan-1', 'app', create, 'ok', 1, detail);
    expect(Object.keys(record)).toEqual(['time', 'planId', 'changeId', 'target', 'action', 'externalId', 'label', 'scimId', 'durationMs', 'outcome', 'attempts', 'steps']);
    expect(record).toMatchObject({ scimId: 'new-1', durationMs: 7, outcome: 'ok', attempts: 1 });
  });

  it("an update: the operation's id keeps its place when the result names it again; changes after the attempts", () => {
    const detail = { ...resultDetail({ scimId: 's-2', note: 'adopted', partial: 'left out', notices: ['learned'] }), durationMs: 3 };
    const record = operationAuditRecord('plan-1', 'app', update, 'partial', 2, detail);
    expect(Object.keys(record)).toEqual([
      'time', 'planId', 'changeId', 'target', 'action', 'externalId', 'label', 'scimId', 'note', 'durationMs', 'outcome', 'attempts', 'changed', 'modifiedProperties', 'sends', 'steps',
    ]);
    // What it sends is for the sink to take listed values out of the note, and is not written.
    expect(record.sends).toEqual([{}]);
    expect(record.note).toBe('adopted; partial: left out; learned');
  });

  it('a result with nothing to say carries no note', () => {
    expect(resultDetail({ scimId: 'x' })).toEqual({ scimId: 'x' });
    expect(resultDetail({})).toEqual({});
    expect(resultDetail({ scimId: 'x', notices: [] })).toEqual({ scimId: 'x' });
  });
});

/**
 * Parked changes in the pure planner: a change parked with the value it would send again is left
 * out (and listed), the rest of the plan is unchanged; a new value plans it again. And the
 * comparison a write is verified with is the planner's own.
 */
import { describe, expect, it } from 'vitest';
import { compileScope } from '../../src/mapping/scope.js';
import { compileUserMapping } from '../../src/mapping/user-mapping.js';
import type { CanonicalUser, DirectorySnapshot } from '../../src/model/canonical.js';
import type { ParkedChange, TargetPlan } from '../../src/model/plan.js';
import { SCHEMA_ENTERPRISE_USER, SCHEMA_USER, type JsonObject, type ServerResource } from '../../src/model/scim.js';
import { planTarget } from '../../src/planning/build-plan.js';
import { changeHolds } from '../../src/planning/change-holds.js';
import { attributeParkKey, operationParkKey, referencedKeys } from '../../src/planning/parked.js';

const user = (key: string, title: string, managerKey: string | null = null): CanonicalUser => ({
  key,
  active: true,
  attributes: { userName: `${key.toLowerCase()}@x.com`, givenName: key, familyName: 'L', title },
  managerKey,
  ref: { location: 'people.csv' },
});
const account = (key: string, id: string, manager?: string): ServerResource => ({
  schemas: [SCHEMA_USER],
  id,
  externalId: key,
  userName: `${key.toLowerCase()}@x.com`,
  name: { givenName: key, familyName: 'Old' },
  displayName: `${key} L`,
  active: true,
  ...(manager ? { [SCHEMA_ENTERPRISE_USER]: { manager: { value: manager } } } : {}),
});

function plan(users: CanonicalUser[], parked: ParkedChange[] = []): TargetPlan {
  const snapshot: DirectorySnapshot = { source: 'csv', users, groups: [], issues: [], heldKeys: [], recordsRead: users.length };
  return planTarget(snapshot, {
    name: 'app',
    mapping: compileUserMapping({}, new Set(['userName', 'givenName', 'familyName', 'title'])),
    inScope: compileScope(undefined),
    actualUsers: [account('E1', 'a1'), account('E2', 'a2', 'a9')],
    userLinks: new Map([
      ['E1', { id: 'a1', hash: 'h' }],
      ['E2', { id: 'a2', hash: 'h' }],
    ]),
    settings: { operations: { create: true, update: true, deactivate: true }, deprovision: 'deactivate', adopt: 'none', updateMethod: 'patch' },
    manager: true,
    parked: new Map(parked.map((p) => [p.key, p])),
  });
}

const entry = (key: string, over: Partial<ParkedChange> = {}): ParkedChange => ({
  key,
  kind: 'updateUser',
  externalId: 'E1',
  label: 'old label',
  reason: 'the target accepts title but does not keep it',
  since: '2026-11-30T00:00:00.000Z',
  ...over,
});

describe('parked changes in a plan', () => {
  it('an attribute change parked with the same value is left out of the update, which keeps its other changes', () => {
    const users = [user('E1', 'CTO'), user('E2', 'Dev', 'E1')];
    const before = plan(users);
    const update = before.phases[0]!.operations.find((o) => o.externalId === 'E1');
    expect(update?.kind === 'updateUser' && update.changes.map((c) => c.path)).toEqual(['name.familyName', 'title']);
    const title = update?.kind === 'updateUser' ? update.changes.find((c) => c.path === 'title')! : undefined;
    const parked = plan(users, [entry(attributeParkKey('E1', title!), { attribute: 'title' })]);
    const after = parked.phases[0]!.operations.find((o) => o.externalId === 'E1');
    expect(after?.kind === 'updateUser' && after.changes.map((c) => c.path)).toEqual(['name.familyName']);
    expect(after?.kind === 'updateUser' && after.patch).toEqual([{ op: 'replace', path: 'name.familyName', value: 'L' }]);
    expect(parked.parked).toEqual([expect.objectContaining({ attribute: 'title', externalId: 'E1', label: 'e1@x.com' })]);
  });

  it('a new source value is a new change: planned again', () => {
    const parkedTitle = attributeParkKey('E1', { path: 'title', to: 'CTO' });
    const changed = plan([user('E1', 'CEO'), user('E2', 'Dev', 'E1')], [entry(parkedTitle)]);
    const update = changed.phases[0]!.operations.find((o) => o.externalId === 'E1');
    expect(update?.kind === 'updateUser' && update.changes.map((c) => c.path)).toContain('title');
    expect(changed.parked).toBeUndefined();
  });

  it('a whole operation parked is left out and listed; its key is what the plan refers to, so it is kept', () => {
    const users = [user('E1', 'CTO'), user('E2', 'Dev', 'E1')];
    const setManager = plan(users).phases[3]!.operations[0]!;
    expect(setManager.kind).toBe('setManager');
    const key = operationParkKey(setManager)!;
    const parked = plan(users, [entry(key, { kind: 'setManager', externalId: 'E2' })]);
    expect(parked.phases[3]!.operations).toEqual([]);
    expect(parked.parked).toEqual([expect.objectContaining({ key, kind: 'setManager', label: 'e2@x.com' })]);
    expect(referencedKeys(parked.phases, parked.parked).has(key)).toBe(true);
    // Another manager: another change.
    expect(plan([user('E1', 'CTO'), user('E2', 'Dev', null)], [entry(key)]).phases[3]!.operations).toHaveLength(1);
  });

  it('creates and deprovisions are never parked', () => {
    expect(operationParkKey({ id: 'c-1', kind: 'createUser', externalId: 'E3', label: 'x', resource: { schemas: [] }, hash: 'h', adoptBy: null })).toBeUndefined();
    expect(operationParkKey({ id: 'd-1', kind: 'deprovisionUser', externalId: 'E3', label: 'x', scimId: 'a3', mode: 'deactivate', reason: 'removed' })).toBeUndefined();
  });
});

describe('changeHolds: a change holds when the planner would not plan it again', () => {
  const resource: JsonObject = {
    schemas: [SCHEMA_USER],
    userName: 'ann@x.com',
    title: '',
    emails: [{ type: 'work', value: 'ann@x.com', primary: true }],
    roles: [{ value: 'admin' }, { value: 'dev', type: 'x' }],
    active: true,
    [SCHEMA_ENTERPRISE_USER]: { manager: { value: 'm1' } },
  };
  it.each([
    ['a difference of case in userName or a work email', { path: 'userName', from: null, to: 'Ann@X.com' }, true],
    ['an email kept in another case', { path: 'emails[type eq "work"].value', from: null, to: 'ANN@x.com' }, true],
    // Planned only for a case-exact target: a rename by case alone holds only as written.
    ['a rename by case alone, not kept', { path: 'userName', from: 'ann@x.com', to: 'Ann@x.com' }, false],
    ['a rename by case alone, kept', { path: 'userName', from: 'ANN@x.com', to: 'ann@x.com' }, true],
    ['an empty string is no value', { path: 'title', from: null, to: null }, true],
    ['a value not kept', { path: 'title', from: null, to: 'CTO' }, false],
    ['roles as the values planned', { path: 'roles', from: [], to: ['admin', 'dev'] }, true],
    ['roles missing one', { path: 'roles', from: [], to: ['admin', 'dev', 'ops'] }, false],
    ['the manager reference', { path: `${SCHEMA_ENTERPRISE_USER}:manager.value`, from: null, to: 'm1' }, true],
    ['a manager removed', { path: `${SCHEMA_ENTERPRISE_USER}:manager.value`, from: 'm1', to: null }, false],
    ['active', { path: 'active', from: false, to: true }, true],
  ])('%s', (_what, change, holds) => {
    expect(changeHolds(resource, change)).toBe(holds);
  });
});

/**
 * A plan is a function of its inputs: the same snapshot, target state and context give the same
 * plan; and what is saved reads back whole.
 */
import { describe, expect, it } from 'vitest';
import { compileScope } from '../../src/mapping/scope.js';
import { compileUserMapping } from '../../src/mapping/user-mapping.js';
import type { DirectorySnapshot } from '../../src/model/canonical.js';
import { SCHEMA_GROUP, SCHEMA_USER, type ServerResource } from '../../src/model/scim.js';
import { parsePlan } from '../../src/model/plan-schema.js';
import { buildPlan, planTarget, type PlanContext } from '../../src/planning/build-plan.js';

/** Fresh objects on every call: equal plans must come from equal inputs, not shared ones. */
function inputs() {
  const snapshot: DirectorySnapshot = {
    source: 'csv people.csv',
    users: [
      { key: 'E1', active: true, attributes: { userName: 'ada@x.com', givenName: 'Ada', familyName: 'L' }, managerKey: null, ref: { location: 'people.csv', line: 2 } },
      { key: 'E2', active: true, attributes: { userName: 'bob@x.com', givenName: 'Bob', familyName: 'M' }, managerKey: 'E1', ref: { location: 'people.csv', line: 3 } },
    ],
    groups: [{ key: 'G1', displayName: 'Eng', memberKeys: ['E1', 'E2'], ref: { location: 'groups.csv' } }],
    issues: [],
    heldKeys: [],
    recordsRead: 2,
  };
  const actualUsers: ServerResource[] = [{ schemas: [SCHEMA_USER], id: 'a1', externalId: 'E1', userName: 'ada@x.com', name: { givenName: 'Old', familyName: 'L' }, active: true }];
  const actualGroups: ServerResource[] = [{ schemas: [SCHEMA_GROUP], id: 'g9', externalId: 'G9', displayName: 'Gone', members: [] }];
  const context: PlanContext = {
    id: 'plan-fixed',
    configFile: '/etc/scim-sync/org.yaml',
    binding: { source: { type: 'csv', location: 'people.csv', readAt: '2026-11-30T00:00:00.000Z', contentHash: 'c' }, targets: {} },
    maxAgeHours: 24,
    now: new Date('2026-11-30T00:00:01.000Z'),
  };
  return { snapshot, actualUsers, actualGroups, context };
}

function plan() {
  const { snapshot, actualUsers, actualGroups, context } = inputs();
  const target = planTarget(snapshot, {
    name: 'app',
    mapping: compileUserMapping({}, new Set(['userName', 'givenName', 'familyName'])),
    inScope: compileScope(undefined),
    actualUsers,
    userLinks: new Map([['E1', { id: 'a1', hash: 'h' }]]),
    settings: { operations: { create: true, update: true, deactivate: true }, deprovision: 'deactivate', adopt: 'none', updateMethod: 'patch' },
    groups: {
      actual: actualGroups,
      links: new Map([['G9', { id: 'g9', hash: '' }]]),
      settings: { enabled: true, include: ['*'], exclude: [], nested: 'direct', deprovision: 'delete', adopt: 'none', maxMembersPerPatch: 500 },
    },
    manager: true,
  });
  return buildPlan(snapshot, [target], context);
}

describe('buildPlan', () => {
  it('the same inputs give the same plan, id and times included', () => {
    const first = plan();
    expect(first.id).toBe('plan-fixed');
    expect(first.createdAt).toBe('2026-11-30T00:00:01.000Z');
    expect(first.expiresAt).toBe('2026-12-01T00:00:01.000Z');
    // Something to plan in every phase but deprovision users, so the comparison covers them.
    expect(first.targets[0]!.phases.map((p) => [p.name, p.operations.map((o) => o.kind)])).toEqual([
      ['users', ['updateUser', 'createUser']],
      ['groups', ['createGroup']],
      ['memberships', ['patchGroupMembers']],
      ['references', ['setManager']],
      ['deprovision', ['deleteGroup']],
    ]);
    expect(JSON.stringify(plan())).toBe(JSON.stringify(first));
  });

  it('a plan saved as JSON reads back through the plan schema unchanged', () => {
    const saved = JSON.parse(JSON.stringify(plan())) as unknown;
    expect(parsePlan(saved)).toEqual({ plan: saved });
  });
});

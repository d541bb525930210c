/** The groups part of a plan, through planTarget: what a target's groups.nested can and cannot carry. */
import { describe, expect, it } from 'vitest';
import type { GroupSettings } from '../../src/config/schema/index.js';
import { compileScope } from '../../src/mapping/scope.js';
import { compileUserMapping } from '../../src/mapping/user-mapping.js';
import type { CanonicalGroup, CanonicalUser, DirectorySnapshot } from '../../src/model/canonical.js';
import { planTarget } from '../../src/planning/build-plan.js';

const user = (n: number): CanonicalUser => ({ key: `K${n}`, active: true, attributes: { userName: `u${n}@x.com` }, ref: { location: 'ldap' } });
const group = (key: string, memberKeys: string[], groupKeys: string[] = []): CanonicalGroup => ({ key, displayName: `${key}-name`, memberKeys, groupKeys, ref: { location: key } });
const settings = (over: Partial<GroupSettings> = {}): GroupSettings => ({
  enabled: true,
  include: ['*'],
  exclude: [],
  nested: 'direct',
  deprovision: 'delete',
  adopt: 'none',
  maxMembersPerPatch: 500,
  ...over,
});

function plan(groups: CanonicalGroup[], groupSettings: GroupSettings) {
  const users = [user(1), user(2), user(3)];
  const snapshot: DirectorySnapshot = { source: 'ldap', users, groups, issues: [], heldKeys: [], recordsRead: users.length + groups.length };
  return planTarget(snapshot, {
    name: 'app',
    mapping: compileUserMapping({}, new Set(['userName'])),
    inScope: compileScope(undefined),
    actualUsers: [],
    userLinks: new Map(),
    settings: { operations: { create: true, update: true, deactivate: true }, deprovision: 'deactivate', adopt: 'none', updateMethod: 'patch' },
    groups: { actual: [], links: new Map(), settings: groupSettings },
    manager: false,
  });
}

describe('nested groups in a plan', () => {
  const groups = [group('all', ['K1'], ['eng', 'ops']), group('eng', ['K2'], ['oncall']), group('ops', ['K3']), group('oncall', ['K1'])];

  it('with nested: direct, one warning names every group whose nested groups are not carried', () => {
    const tp = plan(groups, settings());
    expect(tp.warnings).toEqual([
      '2 groups hold nested groups that groups.nested: direct cannot represent (their members are not given to the outer group): ' +
        '"all-name" holds "eng-name", "ops-name"; "eng-name" holds "oncall-name". ' +
        'Set groups.nested: flatten on this target to give each group the members of the groups inside it.',
    ]);
    // The plan itself is the direct membership: "all" gets K1 only.
    const all = tp.phases.find((p) => p.name === 'memberships')!.operations.find((o) => o.externalId === 'all');
    expect(all).toMatchObject({ kind: 'patchGroupMembers', add: ['K1'], remove: [] });
  });

  it('counts only the groups this target provisions', () => {
    const tp = plan(groups, settings({ exclude: ['all-name'] }));
    expect(tp.warnings).toEqual([expect.stringMatching(/^1 group holds nested groups .*: "eng-name" holds "oncall-name"\. Set/)]);
  });

  it('says nothing with nested: flatten, or when no group nests another', () => {
    expect(plan(groups, settings({ nested: 'flatten' })).warnings).toEqual([]);
    expect(plan([group('eng', ['K2']), group('ops', ['K3'])], settings()).warnings).toEqual([]);
  });
});

/**
 * The safety check as a table: every rule at its threshold (passes) and just over it (refuses, with
 * the exact reason), the small-team allowances, and what does not count.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { SafetyConfig } from '../../src/config/schema/index.js';
import type { Operation, Plan, TargetPlan } from '../../src/model/plan.js';
import { beginsFirstSync, givesNoAccess, recreateAllowance, safetyViolations } from '../../src/planning/safety.js';
import { buildPlan, planTarget } from '../../src/planning/build-plan.js';
import { compileUserMapping } from '../../src/mapping/user-mapping.js';
import { compileScope } from '../../src/mapping/scope.js';
import { operationsOf } from '../../src/model/plan.js';

/** The config's defaults: the thresholds the rows are at and just over. */
const DEFAULTS: SafetyConfig = parseConfig(
  'source: { type: csv, path: people.csv, key: id }\ntargets: { app: { url: "http://127.0.0.1:1/scim", auth: { type: none } } }\n',
  '/etc/scim-sync/org.yaml',
  {},
).config.safety;

interface TargetShape {
  name?: string;
  managedUsers: number;
  managedGroups?: number;
  /** Deprovisions of listed accounts. */
  deprovisions?: number;
  /** Deprovisions of linked accounts the listing did not show. */
  unlisted?: number;
  deletes?: number;
  /** Members of each group deleted (as the target listed them). */
  deletedMembers?: number;
  /** Members of the managed groups. */
  managedMemberships?: number;
  /** Members removed per group (a PATCH each; `put`: by PUT), and added. */
  removals?: { n: number; put?: boolean; add?: number }[];
  /** Updates of one attribute on `n` users (`cleared` of them to null; `adopt`: takeovers). */
  changes?: { path: string; n: number; cleared?: number; adopt?: boolean; also?: string }[];
  /** Creates of new people, and of linked people whose accounts the listing did not show. */
  creates?: number;
  recreates?: number;
  /** Updates that re-activate a deactivated account. */
  reactivations?: number;
  /** Manager references set on `n` users (`cleared` of them to none; `created`: on accounts this plan creates). */
  managers?: { n: number; cleared?: number; created?: boolean };
  /** Groups renamed (`adopt`: taken over by name; `swapped`: each also through a temporary name first). */
  renames?: { n: number; adopt?: boolean; swapped?: boolean };
  /** The state records the target's first sync as begun at this time and not completed. */
  firstSync?: { since: string; accounts: number };
}

const times = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));

function targetPlan(t: TargetShape): TargetPlan {
  const users: Operation[] = (t.changes ?? []).flatMap((c) =>
    times(c.n, (i) => ({
      id: `u-${c.path}-${i}`,
      kind: 'updateUser' as const,
      externalId: `K${i}`,
      label: `user${i}`,
      scimId: `s${i}`,
      changes: [
        { path: c.path, from: 'Old', to: i < (c.cleared ?? 0) ? null : 'New' },
        ...(c.also ? [{ path: c.also, from: 'a', to: 'b' }] : []),
      ],
      hash: 'h',
      recreate: {},
      ...(c.adopt ? { adopt: true } : {}),
    })),
  );
  const create = (prefix: string, i: number, unlistedLink?: string): Operation => ({
    id: `c-${prefix}${i}`,
    kind: 'createUser',
    externalId: `${prefix}${i}`,
    label: `${prefix.toLowerCase()}${i}`,
    resource: {},
    hash: 'h',
    adoptBy: null,
    ...(unlistedLink ? { unlistedLink } : {}),
  });
  users.push(...times(t.creates ?? 0, (i) => create('N', i)), ...times(t.recreates ?? 0, (i) => create('R', i, `gone${i}`)));
  users.push(
    ...times(t.reactivations ?? 0, (i): Operation => ({
      id: `ra-${i}`,
      kind: 'updateUser',
      externalId: `A${i}`,
      label: `back${i}`,
      scimId: `a${i}`,
      changes: [{ path: 'active', from: false, to: true }],
      hash: 'h',
      recreate: {},
    })),
  );
  const groups: Operation[] = times(t.renames?.n ?? 0, (i) => ({
    id: `gu-${i}`,
    kind: 'updateGroup',
    externalId: `G${i}`,
    label: `cn=group${i},ou=groups`,
    scimId: `g${i}`,
    changes: [{ path: 'displayName', from: `group${i}`, to: `cn=group${i},ou=groups` }],
    patch: [],
    ...(t.renames?.adopt ? { adopt: true } : {}),
  }));
  if (t.renames?.swapped) {
    groups.unshift(
      ...times(t.renames.n, (i): Operation => ({
        id: `gt-${i}`,
        kind: 'updateGroup',
        externalId: `G${i}`,
        label: `cn=group${i},ou=groups`,
        scimId: `g${i}`,
        changes: [{ path: 'displayName', from: `group${i}`, to: `cn=group${i},ou=groups (renaming)` }],
        patch: [],
        temporary: true,
      })),
    );
  }
  const m = t.managers;
  const references: Operation[] = times(m?.n ?? 0, (i) => {
    const cleared = i < (m?.cleared ?? 0);
    return {
      id: `m-${i}`,
      kind: 'setManager',
      externalId: `K${i}`,
      label: `user${i}`,
      ...(m?.created ? {} : { scimId: `s${i}`, from: `boss${i}` }),
      managerKey: cleared ? null : 'B',
      managerLabel: cleared ? null : 'boss',
    };
  });
  const memberships: Operation[] = (t.removals ?? []).map((r, g): Operation => {
    const remove = times(r.n, (i) => `m${g}-${i}`);
    const add = times(r.add ?? 0, (i) => `K${i}`);
    return r.put
      ? { id: `gm-${g}`, kind: 'replaceGroup', externalId: `G${g}`, label: `group${g}`, scimId: `g${g}`, resource: {}, memberKeys: add, remove }
      : { id: `gm-${g}`, kind: 'patchGroupMembers', externalId: `G${g}`, label: `group${g}`, scimId: `g${g}`, add, remove };
  });
  const deprovision: Operation[] = [
    ...times(t.deletes ?? 0, (i): Operation => ({
      id: `gd-${i}`,
      kind: 'deleteGroup',
      externalId: `G${i}`,
      label: `g${i}`,
      scimId: `g${i}`,
      reason: 'removed',
      ...(t.deletedMembers !== undefined ? { members: t.deletedMembers } : {}),
    })),
    ...times(t.deprovisions ?? 0, (i): Operation => ({ id: `d-${i}`, kind: 'deprovisionUser', externalId: `L${i}`, label: `l${i}`, scimId: `l${i}`, mode: 'deactivate', reason: 'removed' })),
    ...times(t.unlisted ?? 0, (i): Operation => ({
      id: `x-${i}`,
      kind: 'deprovisionUser',
      externalId: `X${i}`,
      label: `x${i}`,
      scimId: `x${i}`,
      mode: 'deactivate',
      reason: 'removed',
      unlisted: true,
    })),
  ];
  return {
    target: t.name ?? 'app',
    managedUsers: t.managedUsers,
    ...(t.managedGroups !== undefined ? { managedGroups: t.managedGroups } : {}),
    ...(t.managedMemberships !== undefined ? { managedMemberships: t.managedMemberships } : {}),
    actualUsers: t.managedUsers,
    ...(t.firstSync !== undefined ? { firstSync: t.firstSync } : {}),
    phases: [
      { name: 'users', operations: users },
      { name: 'groups', operations: groups },
      { name: 'memberships', operations: memberships },
      { name: 'references', operations: references },
      { name: 'deprovision', operations: deprovision },
    ],
    warnings: [],
  };
}

function plan(source: { users?: number; recordsRead?: number; invalid?: number; parts?: Plan['source']['parts'] }, targets: TargetShape[]): Plan {
  return {
    format: 'scim-sync-plan',
    version: 2,
    id: 'plan-t',
    createdAt: '2026-01-01T00:00:00.000Z',
    expiresAt: '2026-01-02T00:00:00.000Z',
    binding: { source: { type: 'csv', location: 'people.csv', readAt: '2026-01-01T00:00:00.000Z', contentHash: 'c' }, targets: {} },
    config: 'org.yaml',
    source: {
      description: 'csv people.csv',
      users: source.users ?? 100,
      activeUsers: source.users ?? 100,
      recordsRead: source.recordsRead ?? source.users ?? 100,
      invalidRecords: source.invalid ?? 0,
      issues: [],
      ...(source.parts ? { parts: source.parts } : {}),
    },
    targets: targets.map(targetPlan),
  };
}

interface Case {
  name: string;
  plan: Plan;
  safety?: Partial<SafetyConfig>;
  want: string[];
}

const OUTAGE = 'treated as a source outage, not as everyone leaving';
const LEAVERS =
  'leavers read as active (a misspelt disabled-account rule, a scope that lets everyone in, an attribute the reading account may not see)? If they are new, --override-safety once ' +
  '(the rest of a first sync cut short is new too: this version records a first sync until it completes, an earlier one did not)';

const cases: Case[] = [
  { name: 'a quiet plan passes', plan: plan({}, [{ managedUsers: 100 }]), want: [] },
  // Source size
  { name: 'source at minSourceUsers passes', plan: plan({ users: 2 }, []), safety: { minSourceUsers: 2 }, want: [] },
  { name: 'source one under minSourceUsers', plan: plan({ users: 1 }, []), safety: { minSourceUsers: 2 }, want: [`the source returned 1 user (minimum 2): ${OUTAGE}`] },
  { name: 'an empty source', plan: plan({ users: 0, recordsRead: 0 }, []), want: [`the source returned 0 users (minimum 1): ${OUTAGE}`] },
  // Invalid records
  { name: 'invalid records at the limit pass', plan: plan({ recordsRead: 100, invalid: 5 }, []), want: [] },
  { name: 'invalid records just over the limit', plan: plan({ recordsRead: 100, invalid: 6 }, []), want: ['6 of 100 source records are invalid (6.0%, limit 5%)'] },
  // Joined sources: each source's share counts on its own (500 bad rows of 1,000 beside a directory of 50,000 is 1% overall).
  {
    name: 'a joined source with half its records invalid stops the run though the total share is small',
    plan: plan({ recordsRead: 51_000, invalid: 500, parts: [{ name: 'hr', recordsRead: 1_000, invalidRecords: 500 }, { name: 'ldap', recordsRead: 50_000, invalidRecords: 0 }] }, []),
    want: ['500 of 1000 sources.hr records are invalid (50.0%, limit 5%)'],
  },
  {
    name: 'joined sources each within the limit pass',
    plan: plan({ recordsRead: 2_000, invalid: 100, parts: [{ name: 'hr', recordsRead: 1_000, invalidRecords: 50 }, { name: 'ldap', recordsRead: 1_000, invalidRecords: 50 }] }, []),
    want: [],
  },
  // User deprovisions: share
  { name: 'deprovisions at the share limit pass', plan: plan({}, [{ managedUsers: 100, deprovisions: 10 }]), want: [] },
  {
    name: 'deprovisions just over the share limit',
    plan: plan({}, [{ managedUsers: 100, deprovisions: 11 }]),
    want: ['target app: 11 of 100 managed users would be deprovisioned (11.0%, limit 10%)'],
  },
  { name: 'alwaysAllowDeactivations deprovisions pass whatever the share', plan: plan({}, [{ managedUsers: 5, deprovisions: 3 }]), want: [] },
  {
    name: 'one over alwaysAllowDeactivations is judged by share',
    plan: plan({}, [{ managedUsers: 5, deprovisions: 4 }]),
    want: ['target app: 4 of 5 managed users would be deprovisioned (80.0%, limit 10%)'],
  },
  {
    name: 'a target with no managed users counts as 100%',
    plan: plan({}, [{ managedUsers: 0, deprovisions: 4 }]),
    want: ['target app: 4 of 0 managed users would be deprovisioned (100.0%, limit 10%)'],
  },
  { name: 'linked accounts the listing does not show are not counted', plan: plan({}, [{ managedUsers: 10, deprovisions: 3, unlisted: 20 }]), want: [] },
  // User deprovisions: count
  { name: 'deprovisions at maxDeactivateCount pass', plan: plan({}, [{ managedUsers: 1000, deprovisions: 5 }]), safety: { maxDeactivateCount: 5 }, want: [] },
  {
    name: 'deprovisions just over maxDeactivateCount (the share is not reported too)',
    plan: plan({}, [{ managedUsers: 10, deprovisions: 6 }]),
    safety: { maxDeactivateCount: 5 },
    want: ['target app: 6 deprovisions exceed maxDeactivateCount 5'],
  },
  {
    name: 'the absolute cap counts unlisted deprovisions too: each may still deactivate a live account',
    plan: plan({}, [{ managedUsers: 10, deprovisions: 2, unlisted: 4 }]),
    safety: { maxDeactivateCount: 5 },
    want: ['target app: 6 deprovisions exceed maxDeactivateCount 5'],
  },
  // Group deletions
  { name: 'group deletions at the share limit pass', plan: plan({}, [{ managedUsers: 100, managedGroups: 40, deletes: 4 }]), want: [] },
  {
    name: 'group deletions just over the share limit',
    plan: plan({}, [{ managedUsers: 100, managedGroups: 40, deletes: 5 }]),
    want: ['target app: 5 of 40 managed groups would be deleted (12.5%, limit 10%)'],
  },
  { name: 'alwaysAllowDeactivations group deletions pass', plan: plan({}, [{ managedUsers: 100, managedGroups: 3, deletes: 3 }]), want: [] },
  {
    name: 'one group deletion over alwaysAllowDeactivations',
    plan: plan({}, [{ managedUsers: 100, managedGroups: 4, deletes: 4 }]),
    want: ['target app: 4 of 4 managed groups would be deleted (100.0%, limit 10%)'],
  },
  // Group memberships removed (groups read empty: an ACL, a cut-off export)
  { name: 'membership removals at the share limit pass', plan: plan({}, [{ managedUsers: 100, managedMemberships: 200, removals: [{ n: 40 }, { n: 20, put: true }] }]), want: [] },
  {
    name: 'membership removals just over the share limit, by PATCH and by PUT together',
    plan: plan({}, [{ managedUsers: 100, managedMemberships: 200, removals: [{ n: 40, add: 5 }, { n: 21, put: true }] }]),
    want: ['target app: 61 of 200 group memberships would be removed, from 2 groups (group0, group1) (30.5%, limit 30%)'],
  },
  { name: 'alwaysAllowMembershipRemovals removals pass whatever the share', plan: plan({}, [{ managedUsers: 10, managedMemberships: 20, removals: [{ n: 20 }] }]), want: [] },
  {
    name: 'every group emptied: one over alwaysAllowMembershipRemovals is judged by share, the groups named',
    plan: plan({}, [{ managedUsers: 10, managedMemberships: 21, removals: [{ n: 6 }, { n: 5 }, { n: 5 }, { n: 5 }] }]),
    want: ['target app: 21 of 21 group memberships would be removed, from 4 groups (group0, group1, group2, ...) (100.0%, limit 30%)'],
  },
  {
    name: 'a groups column read blank for everyone: the groups deleted pass their own rule, but their members count as removed (review G-A)',
    plan: plan({}, [{ managedUsers: 30, managedGroups: 3, deletes: 3, deletedMembers: 30, managedMemberships: 90 }]),
    want: ['target app: 90 of 90 group memberships would be removed, from 3 groups (g0, g1, g2), 90 of them with the 3 groups deleted (100.0%, limit 30%)'],
  },
  {
    name: 'members of deleted groups add up with those removed by PATCH',
    plan: plan({}, [{ managedUsers: 100, managedGroups: 40, deletes: 1, deletedMembers: 15, managedMemberships: 100, removals: [{ n: 16 }] }]),
    want: ['target app: 31 of 100 group memberships would be removed, from 2 groups (group0, g0), 15 of them with the 1 group deleted (31.0%, limit 30%)'],
  },
  { name: 'a small group deleted with its few members passes', plan: plan({}, [{ managedUsers: 100, managedGroups: 40, deletes: 1, deletedMembers: 20, managedMemberships: 30 }]), want: [] },
  { name: 'members added are not removals', plan: plan({}, [{ managedUsers: 100, managedMemberships: 10, removals: [{ n: 0, add: 500 }] }]), want: [] },
  // One attribute changing on many users
  { name: 'an attribute changing at the share limit passes', plan: plan({}, [{ managedUsers: 100, changes: [{ path: 'title', n: 30 }] }]), want: [] },
  {
    name: 'an attribute changing just over the share limit',
    plan: plan({}, [{ managedUsers: 100, changes: [{ path: 'title', n: 31 }] }]),
    want: ['target app: title would change on 31 of 100 managed users (31.0%, limit 30%), e.g. user0: "Old" -> "New"'],
  },
  {
    name: 'cleared values are counted in the reason',
    plan: plan({}, [{ managedUsers: 100, changes: [{ path: 'title', n: 31, cleared: 2 }] }]),
    want: ['target app: title would change on 31 of 100 managed users (31.0%, limit 30%; 2 cleared), e.g. user0: "Old" -> null'],
  },
  { name: 'alwaysAllowAttributeChanges changes pass whatever the share', plan: plan({}, [{ managedUsers: 10, changes: [{ path: 'title', n: 10 }] }]), want: [] },
  {
    name: 'one change over alwaysAllowAttributeChanges is judged by share',
    plan: plan({}, [{ managedUsers: 11, changes: [{ path: 'title', n: 11 }] }]),
    want: ['target app: title would change on 11 of 11 managed users (100.0%, limit 30%), e.g. user0: "Old" -> "New"'],
  },
  { name: 'takeovers (adopt) are not attribute changes', plan: plan({}, [{ managedUsers: 100, changes: [{ path: 'title', n: 50, adopt: true }] }]), want: [] },
  {
    name: 'each attribute is judged on its own',
    plan: plan({}, [{ managedUsers: 100, changes: [{ path: 'title', n: 31, also: 'department' }, { path: 'nickName', n: 20 }] }]),
    want: [
      'target app: title would change on 31 of 100 managed users (31.0%, limit 30%), e.g. user0: "Old" -> "New"',
      'target app: department would change on 31 of 100 managed users (31.0%, limit 30%), e.g. user0: "a" -> "b"',
    ],
  },
  // Linked accounts missing from the listing, created again (an emptied or lying listing)
  {
    name: 're-creates just over the share limit (creates of new people do not count)',
    plan: plan({}, [{ managedUsers: 44, recreates: 5, creates: 10 }]),
    want: ['target app: 5 of 49 linked accounts are missing from its listing and would be created again (10.2%, limit 10%), e.g. r0 (linked id gone0): deleted in the app, a listing that leaves accounts out, or the target moved to another tenant (its links are of the old one: check, then --override-safety once)?'],
  },
  {
    name: 'a listing that shows none of the linked accounts, just over the floor',
    plan: plan({}, [{ managedUsers: 0, recreates: 4 }]),
    want: ['target app: 4 of 4 linked accounts are missing from its listing and would be created again (100.0%, limit 10%), e.g. r0 (linked id gone0): deleted in the app, a listing that leaves accounts out, or the target moved to another tenant (its links are of the old one: check, then --override-safety once)?'],
  },
  // Manager references: the attribute `manager` (a misspelt manager attribute clears everyone's)
  { name: 'manager references changing at the share limit pass', plan: plan({}, [{ managedUsers: 100, managers: { n: 30, cleared: 30 } }]), want: [] },
  {
    name: 'manager references cleared on most managed users',
    plan: plan({}, [{ managedUsers: 24, managers: { n: 21, cleared: 21 } }]),
    want: ['target app: manager would change on 21 of 24 managed users (87.5%, limit 30%; 21 cleared), e.g. user0: "boss0" -> null'],
  },
  {
    name: 'manager references set to someone else just over the share limit',
    plan: plan({}, [{ managedUsers: 100, managers: { n: 31 } }]),
    want: ['target app: manager would change on 31 of 100 managed users (31.0%, limit 30%), e.g. user0: "boss0" -> "boss"'],
  },
  { name: 'alwaysAllowAttributeChanges manager references pass', plan: plan({}, [{ managedUsers: 10, managers: { n: 10, cleared: 10 } }]), want: [] },
  { name: 'references of accounts created in this plan are no change', plan: plan({}, [{ managedUsers: 10, creates: 10, managers: { n: 10, created: true } }]), want: [] },
  // Group renames (a name attribute the groups do not have renames them all)
  { name: 'group renames at the share limit pass', plan: plan({}, [{ managedUsers: 100, managedGroups: 40, renames: { n: 4 } }]), want: [] },
  {
    name: 'group renames just over the share limit',
    plan: plan({}, [{ managedUsers: 100, managedGroups: 40, renames: { n: 5 } }]),
    want: ['target app: 5 of 40 managed groups would be renamed (12.5%, limit 10%), e.g. "group0" -> "cn=group0,ou=groups"'],
  },
  { name: 'alwaysAllowDeactivations group renames pass', plan: plan({}, [{ managedUsers: 100, managedGroups: 3, renames: { n: 3 } }]), want: [] },
  {
    name: 'every group renamed, one over alwaysAllowDeactivations',
    plan: plan({}, [{ managedUsers: 100, managedGroups: 4, renames: { n: 4 } }]),
    want: ['target app: 4 of 4 managed groups would be renamed (100.0%, limit 10%), e.g. "group0" -> "cn=group0,ou=groups"'],
  },
  { name: 'a rename through a temporary name (groups swapping names) is one rename', plan: plan({}, [{ managedUsers: 100, managedGroups: 40, renames: { n: 4, swapped: true } }]), want: [] },
  {
    name: 'renames through temporary names over the share limit: counted once each, the example the rename itself',
    plan: plan({}, [{ managedUsers: 100, managedGroups: 40, renames: { n: 5, swapped: true } }]),
    want: ['target app: 5 of 40 managed groups would be renamed (12.5%, limit 10%), e.g. "group0" -> "cn=group0,ou=groups"'],
  },
  { name: 'groups taken over by name (adopt) are not renames', plan: plan({}, [{ managedUsers: 100, managedGroups: 10, renames: { n: 10, adopt: true } }]), want: [] },
  // Creates and re-activations (leavers read as active)
  { name: 'creates at the share limit pass', plan: plan({}, [{ managedUsers: 100, creates: 20 }]), want: [] },
  {
    name: 'creates just over the share limit',
    plan: plan({}, [{ managedUsers: 100, creates: 21 }]),
    want: [`target app: 21 users would be created beside its 100 managed users (21.0%, limit 20%), e.g. n0: ${LEAVERS}`],
  },
  { name: 'alwaysAllowCreates creates pass whatever the share', plan: plan({}, [{ managedUsers: 5, creates: 10 }]), want: [] },
  {
    name: 'every leaver read as active: one over alwaysAllowCreates is judged by share',
    plan: plan({}, [{ managedUsers: 5, creates: 11 }]),
    want: [`target app: 11 users would be created beside its 5 managed users (220.0%, limit 20%), e.g. n0: ${LEAVERS}`],
  },
  { name: 'a first sync (no managed users) is not judged', plan: plan({}, [{ managedUsers: 0, creates: 5000 }]), want: [] },
  {
    name: 'the rest of a first sync cut short (the state records it unfinished) is not judged, re-activations included',
    plan: plan({}, [{ managedUsers: 40, creates: 960, reactivations: 5, firstSync: { since: '2026-01-01T00:00:00.000Z', accounts: 1000 } }]),
    want: [],
  },
  {
    name: 'beyond the rest of an unfinished first sync, creates are judged against its size: leavers read as active meanwhile still stop the run',
    plan: plan({}, [{ managedUsers: 40, creates: 5000, firstSync: { since: '2026-01-01T00:00:00.000Z', accounts: 1000 } }]),
    want: [
      `target app: 4040 users would be created beside the 1000 accounts its unfinished first sync set out to give (its rest, 960, not counted) (404.0%, limit 20%), e.g. n0: ${LEAVERS}`,
    ],
  },
  {
    name: 'new hires beside the rest of an unfinished first sync pass within the share',
    plan: plan({}, [{ managedUsers: 40, creates: 1100, firstSync: { since: '2026-01-01T00:00:00.000Z', accounts: 1000 } }]),
    want: [],
  },
  {
    name: 'an unfinished first sync of one target leaves another target judged',
    plan: plan({}, [
      { name: 'cut', managedUsers: 40, creates: 960, firstSync: { since: '2026-01-01T00:00:00.000Z', accounts: 1000 } },
      { name: 'done', managedUsers: 40, creates: 960 },
    ]),
    want: [`target done: 960 users would be created beside its 40 managed users (2400.0%, limit 20%), e.g. n0: ${LEAVERS}`],
  },
  {
    name: 'an unfinished first sync leaves the other rules as they are',
    plan: plan({}, [{ managedUsers: 100, deprovisions: 50, creates: 500, firstSync: { since: '2026-01-01T00:00:00.000Z', accounts: 1000 } }]),
    want: ['target app: 50 of 100 managed users would be deprovisioned (50.0%, limit 10%)'],
  },
  {
    name: 'accounts taken over in this plan are not in the base: a first sync with adoption passes',
    plan: plan({}, [{ managedUsers: 30, creates: 30, changes: [{ path: 'title', n: 30, adopt: true }] }]),
    want: [],
  },
  {
    name: 're-activations count with creates',
    plan: plan({}, [{ managedUsers: 100, creates: 15, reactivations: 6 }]),
    want: [`target app: 21 users would be created or re-activated beside its 100 managed users (21.0%, limit 20%; 6 re-activated), e.g. n0: ${LEAVERS}`],
  },
  {
    name: 're-activations alone, under the attribute limit for active',
    plan: plan({}, [{ managedUsers: 100, reactivations: 21 }]),
    want: [`target app: 21 users would be re-activated beside its 100 managed users (21.0%, limit 20%), e.g. back0: ${LEAVERS}`],
  },
  // Several rules, several targets
  {
    name: 'every rule that fails is reported, per target',
    plan: plan({ users: 100, recordsRead: 110, invalid: 10 }, [
      { name: 'quiet', managedUsers: 100, deprovisions: 10 },
      { name: 'loud', managedUsers: 20, deprovisions: 4, managedGroups: 2, deletes: 2 },
    ]),
    safety: { alwaysAllowDeactivations: 1 },
    want: [
      '10 of 110 source records are invalid (9.1%, limit 5%)',
      'target loud: 2 of 2 managed groups would be deleted (100.0%, limit 10%)',
      'target loud: 4 of 20 managed users would be deprovisioned (20.0%, limit 10%)',
    ],
  },
];

describe('safety check', () => {
  it.each(cases)('$name', (c) => {
    expect(safetyViolations(c.plan, { ...DEFAULTS, ...c.safety })).toEqual(c.want);
  });
});

describe('which plans begin a first sync, and which leave one nothing to do', () => {
  it('begins: no managed users before the plan, and some given an account (created, re-activated or taken over)', () => {
    expect(beginsFirstSync(targetPlan({ managedUsers: 0, creates: 1 }))).toBe(true);
    expect(beginsFirstSync(targetPlan({ managedUsers: 30, changes: [{ path: 'title', n: 30, adopt: true }] }))).toBe(true);
    expect(beginsFirstSync(targetPlan({ managedUsers: 0 }))).toBe(false);
    expect(beginsFirstSync(targetPlan({ managedUsers: 1, creates: 100 }))).toBe(false);
    expect(beginsFirstSync({ ...targetPlan({ managedUsers: 0, creates: 1 }), error: 'could not be read' })).toBe(false);
  });

  it('nothing left: no creates, re-activations or take-overs (updates and deprovisions do not count)', () => {
    expect(givesNoAccess(targetPlan({ managedUsers: 100, changes: [{ path: 'title', n: 3 }], deprovisions: 2 }))).toBe(true);
    expect(givesNoAccess(targetPlan({ managedUsers: 100, creates: 1 }))).toBe(false);
    expect(givesNoAccess(targetPlan({ managedUsers: 100, reactivations: 1 }))).toBe(false);
    expect(givesNoAccess(targetPlan({ managedUsers: 100, changes: [{ path: 'title', n: 1, adopt: true }] }))).toBe(false);
  });
});

describe('a first sync that takes over the accounts an app already has', () => {
  it('sets everyone\'s manager reference without counting as a change to managed users (review of ef562e7)', () => {
    const n = 50;
    const users = Array.from({ length: n }, (_, i) => ({
      key: `E${i + 1}`,
      active: true,
      attributes: { userName: `u${i + 1}@x.com`, givenName: 'G', familyName: 'F' },
      managerKey: i === 0 ? null : 'E1',
      ref: { location: 'p.csv', line: i + 2 },
    }));
    const accounts = users.map((u, i) => ({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], id: `a${i + 1}`, userName: u.attributes.userName, name: { givenName: 'G', familyName: 'F' }, active: true }));
    const snapshot = { source: 'csv', users, groups: [], issues: [], heldKeys: [], recordsRead: n };
    const target = planTarget(snapshot, {
      name: 'app',
      mapping: compileUserMapping({}, new Set(['userName', 'givenName', 'familyName'])),
      inScope: compileScope(undefined),
      actualUsers: accounts,
      userLinks: new Map(),
      settings: { operations: { create: true, update: true, deactivate: true }, deprovision: 'deactivate', adopt: 'userName', updateMethod: 'patch' },
      manager: true,
    });
    const ops = operationsOf(target);
    expect(ops.filter((op) => op.kind === 'setManager')).toHaveLength(n - 1);
    const plan = buildPlan(snapshot, [target], { id: 'p', configFile: 'c', binding: { source: { type: 'csv', location: 'p', readAt: new Date().toISOString(), contentHash: 'c' }, targets: {} }, maxAgeHours: 24, now: new Date() });
    expect(safetyViolations(plan, DEFAULTS)).toEqual([]);
  });
});

describe('re-creates left for the apply (updates whose account turns out gone when they run)', () => {
  const allowance = (t: TargetShape, safety = DEFAULTS) => recreateAllowance(targetPlan(t), safety);

  it('is as many as the check lets a plan hold, less the plan\'s own', () => {
    // The floor (alwaysAllowRecreates 3) above 10% of 20; 10% of 100 above the floor.
    expect(allowance({ managedUsers: 20 })).toBe(3);
    expect(allowance({ managedUsers: 100 })).toBe(10);
    expect(allowance({ managedUsers: 100, recreates: 4 })).toBe(6);
    // The base counts the plan's re-creates, as the check's does: 11 of 110 pass.
    expect(allowance({ managedUsers: 99, recreates: 11 })).toBe(0);
    expect(allowance({ managedUsers: 0 })).toBe(3);
  });

  it("counts first what the service's batches re-created within the window", () => {
    const recent = (n: number) => ({ deprovisions: new Map(), creates: new Map(), attributes: new Map(), recreates: new Map([['app', n]]), window: 'the last 60 minutes' });
    const t = targetPlan({ managedUsers: 20 });
    expect(recreateAllowance(t, DEFAULTS, recent(2))).toBe(1);
    expect(recreateAllowance(t, DEFAULTS, recent(3))).toBe(0);
    expect(recreateAllowance(t, DEFAULTS, recent(9))).toBe(0);
  });

  it('is none once the plan holds more than the check lets through (an override)', () => {
    expect(allowance({ managedUsers: 44, recreates: 5 })).toBe(0);
    expect(allowance({ managedUsers: 20 }, { ...DEFAULTS, alwaysAllowRecreates: 0, maxRecreatePercent: 0 })).toBe(0);
  });

  it('agrees with the check at the limit for any share', () => {
    for (const percent of [0, 2.5, 7, 10, 33.3, 100]) {
      for (const managedUsers of [1, 7, 40, 99, 1000]) {
        const safety = { ...DEFAULTS, alwaysAllowRecreates: 0, maxRecreatePercent: percent };
        const most = allowance({ managedUsers }, safety);
        const check = (n: number) => safetyViolations(plan({}, [{ managedUsers: managedUsers - n, recreates: n }]), safety).filter((r) => r.includes('created again'));
        expect(check(most), `${percent}% of ${managedUsers}`).toEqual([]);
        if (most < managedUsers) expect(check(most + 1), `${percent}% of ${managedUsers}`).toHaveLength(1);
      }
    }
  });
});

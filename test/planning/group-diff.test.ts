/**
 * The groups diff as a table: each case a small directory and target, and every operation it plans
 * written out in brief (kind, group key, SCIM id, what changes).
 */
import { describe, expect, it } from 'vitest';
import type { GroupSettings } from '../../src/config/schema/index.js';
import { resolveMembership } from '../../src/mapping/group-membership.js';
import { compileSelection } from '../../src/mapping/name-patterns.js';
import type { CanonicalGroup } from '../../src/model/canonical.js';
import type { Operation } from '../../src/model/plan.js';
import { SCHEMA_GROUP, type ServerResource } from '../../src/model/scim.js';
import { diffGroups, type GroupDiffInput } from '../../src/planning/group-diff.js';

const SETTINGS: GroupSettings = { enabled: true, include: ['*'], exclude: [], nested: 'direct', deprovision: 'delete', adopt: 'none', maxMembersPerPatch: 500 };

const group = (key: string, displayName: string, memberKeys: string[] = [], groupKeys?: string[]): CanonicalGroup => ({
  key,
  displayName,
  memberKeys,
  ...(groupKeys ? { groupKeys } : {}),
  ref: { location: 'groups.csv' },
});
/** A group as the target lists it. */
const listed = (id: string, displayName: string, externalId: string | null, members: string[] = []): ServerResource => ({
  schemas: [SCHEMA_GROUP],
  id,
  displayName,
  ...(externalId !== null ? { externalId } : {}),
  members: members.map((value) => ({ value })),
});

/** One line per operation: what a reviewer needs to see, nothing generated. */
function brief(op: Operation): string {
  const at = 'scimId' in op && op.scimId !== undefined ? ` @${op.scimId}` : '';
  switch (op.kind) {
    case 'createGroup':
      return `create ${op.externalId} "${op.label}"`;
    case 'updateGroup':
      return `update ${op.externalId}${at} ${op.changes.map((c) => `${c.path}:${JSON.stringify(c.from)}->${JSON.stringify(c.to)}`).join(' ')}${op.adopt ? ' adopt' : ''}${op.supersedes !== undefined ? ` supersedes ${op.supersedes}` : ''}${op.temporary ? ' temporary' : ''}`;
    case 'linkGroup':
      return `link ${op.externalId}${at}`;
    case 'patchGroupMembers':
      return `members ${op.externalId}${at} +[${op.add.join(',')}] -[${op.remove.join(',')}]`;
    case 'replaceGroup':
      return `put ${op.externalId}${at} [${op.memberKeys.join(',')}]${op.keep ? ` keep [${op.keep.join(',')}]` : ''}${op.remove ? ` -[${op.remove.join(',')}]` : ''}`;
    case 'deleteGroup':
      return `delete ${op.externalId}${at} (${op.reason})${op.members ? ` with ${op.members} members` : ''}`;
    default:
      return `unexpected ${op.kind}`;
  }
}

interface Case {
  name: string;
  groups: CanonicalGroup[];
  actual?: ServerResource[];
  /** Group key -> linked SCIM id. */
  links?: Record<string, string>;
  /** User key -> SCIM id (null: created in this run). Default: K1..K3 as u1..u3. */
  provisioned?: Record<string, string | null>;
  held?: string[];
  /** Keys the source holds (a group it could not read whole). */
  heldKeys?: string[];
  settings?: Partial<GroupSettings>;
  updateMethod?: 'patch' | 'put';
  want: { groups?: string[]; memberships?: string[]; deprovision?: string[]; warnings?: string[]; managedGroups?: number; managedMemberships?: number };
}

const PROVISIONED = { K1: 'u1', K2: 'u2', K3: 'u3' };

function diff(c: Case) {
  const settings = { ...SETTINGS, ...c.settings };
  const input: GroupDiffInput = {
    groups: c.groups,
    membership: resolveMembership(c.groups, settings.nested),
    select: compileSelection(settings.include, settings.exclude),
    provisioned: new Map(Object.entries(c.provisioned ?? PROVISIONED)),
    heldIds: new Set(c.held ?? []),
    ...(c.heldKeys ? { heldKeys: new Set(c.heldKeys) } : {}),
    actual: c.actual ?? [],
    links: new Map(Object.entries(c.links ?? {}).map(([key, id]) => [key, { id, hash: 'h' }])),
    settings,
    updateMethod: c.updateMethod ?? 'patch',
  };
  return diffGroups(input);
}

const cases: Case[] = [
  {
    name: 'a new group is created, its provisioned members added by source key (also those created in this run)',
    groups: [group('G1', 'Eng', ['K1', 'K2', 'K4'])],
    provisioned: { K1: 'u1', K2: null },
    want: { groups: ['create G1 "Eng"'], memberships: ['members G1 +[K1,K2] -[]'], managedGroups: 0 },
  },
  {
    name: 'a linked group whose members match: nothing',
    groups: [group('G1', 'Eng', ['K1', 'K2'])],
    actual: [listed('g1', 'Eng', 'G1', ['u1', 'u2'])],
    links: { G1: 'g1' },
    want: { managedGroups: 1 },
  },
  {
    name: 'a missing member is added by key, a stray one removed by SCIM id, in one PATCH',
    groups: [group('G1', 'Eng', ['K1', 'K2'])],
    actual: [listed('g1', 'Eng', 'G1', ['u1', 'x9'])],
    links: { G1: 'g1' },
    want: { memberships: ['members G1 @g1 +[K2] -[x9]'], managedGroups: 1 },
  },
  {
    name: 'a member created in this run (no SCIM id yet) is added to an existing group',
    groups: [group('G1', 'Eng', ['K1'])],
    actual: [listed('g1', 'Eng', 'G1', [])],
    links: { G1: 'g1' },
    provisioned: { K1: null },
    want: { memberships: ['members G1 @g1 +[K1] -[]'], managedGroups: 1 },
  },
  {
    name: 'a held person keeps the membership the source no longer shows',
    groups: [group('G1', 'Eng', ['K1'])],
    actual: [listed('g1', 'Eng', 'G1', ['u1', 'h1', 'x9'])],
    links: { G1: 'g1' },
    held: ['h1'],
    want: { memberships: ['members G1 @g1 +[] -[x9]'], managedGroups: 1 },
  },
  {
    name: 'a source member not provisioned in this target is not added',
    groups: [group('G1', 'Eng', ['K1', 'K7'])],
    actual: [listed('g1', 'Eng', 'G1', ['u1'])],
    links: { G1: 'g1' },
    want: { managedGroups: 1 },
  },
  {
    name: 'member changes at the PATCH limit: one request',
    groups: [group('G1', 'Eng', ['K1', 'K2'])],
    actual: [listed('g1', 'Eng', 'G1', [])],
    links: { G1: 'g1' },
    settings: { maxMembersPerPatch: 2 },
    want: { memberships: ['members G1 @g1 +[K1,K2] -[]'], managedGroups: 1 },
  },
  {
    name: 'one member change over the PATCH limit: two requests, removals first',
    groups: [group('G1', 'Eng', ['K1', 'K2'])],
    actual: [listed('g1', 'Eng', 'G1', ['x9'])],
    links: { G1: 'g1' },
    settings: { maxMembersPerPatch: 2 },
    want: { memberships: ['members G1 @g1 +[K1] -[x9]', 'members G1 @g1 +[K2] -[]'], managedGroups: 1 },
  },
  {
    name: 'removals alone beyond the limit fill each request before adds start',
    groups: [group('G1', 'Eng', ['K1'])],
    actual: [listed('g1', 'Eng', 'G1', ['x1', 'x2', 'x3'])],
    links: { G1: 'g1' },
    settings: { maxMembersPerPatch: 2 },
    want: { memberships: ['members G1 @g1 +[] -[x1,x2]', 'members G1 @g1 +[K1] -[x3]'], managedGroups: 1 },
  },
  {
    name: 'nested, direct: a parent group has only its own members',
    groups: [group('G1', 'All', ['K1'], ['G2']), group('G2', 'Eng', ['K2'])],
    want: {
      groups: ['create G1 "All"', 'create G2 "Eng"'],
      memberships: ['members G1 +[K1] -[]', 'members G2 +[K2] -[]'],
      warnings: [
        '1 group holds nested groups that groups.nested: direct cannot represent (their members are not given to the outer group): "All" holds "Eng". ' +
          'Set groups.nested: flatten on this target to give each group the members of the groups inside it.',
      ],
      managedGroups: 0,
    },
  },
  {
    name: 'nested, flatten: a parent group gets the members of the groups inside it',
    groups: [group('G1', 'All', ['K1'], ['G2']), group('G2', 'Eng', ['K2'], ['G3']), group('G3', 'Ops', ['K3'])],
    settings: { nested: 'flatten' },
    want: {
      groups: ['create G1 "All"', 'create G2 "Eng"', 'create G3 "Ops"'],
      memberships: ['members G1 +[K1,K2,K3] -[]', 'members G2 +[K2,K3] -[]', 'members G3 +[K3] -[]'],
      managedGroups: 0,
    },
  },
  {
    name: 'a target without PATCH: one PUT with every member, only when membership differs',
    groups: [group('G1', 'Eng', ['K1', 'K2']), group('G2', 'Ops', ['K3'])],
    actual: [listed('g1', 'Eng', 'G1', ['u1']), listed('g2', 'Ops', 'G2', ['u3'])],
    links: { G1: 'g1', G2: 'g2' },
    updateMethod: 'put',
    want: { memberships: ['put G1 @g1 [K1,K2]'], managedGroups: 2, managedMemberships: 2 },
  },
  {
    name: 'a target without PATCH: a held person stays in the PUT, as a PATCH would leave them; the strays it drops are named',
    groups: [group('G1', 'Eng', ['K1'])],
    actual: [listed('g1', 'Eng', 'G1', ['u1', 'h1', 'x9'])],
    links: { G1: 'g1' },
    held: ['h1'],
    updateMethod: 'put',
    want: { memberships: ['put G1 @g1 [K1] keep [h1] -[x9]'], managedGroups: 1, managedMemberships: 3 },
  },
  {
    name: 'a target without PATCH: a group that differs only by a held member is not replaced',
    groups: [group('G1', 'Eng', ['K1'])],
    actual: [listed('g1', 'Eng', 'G1', ['u1', 'h1'])],
    links: { G1: 'g1' },
    held: ['h1'],
    updateMethod: 'put',
    want: { managedGroups: 1 },
  },
  {
    name: 'a renamed source group: PATCH displayName',
    groups: [group('G1', 'Engineering')],
    actual: [listed('g1', 'Eng', 'G1')],
    links: { G1: 'g1' },
    want: { groups: ['update G1 @g1 displayName:"Eng"->"Engineering"'], managedGroups: 1 },
  },
  {
    name: 'two managed groups swapping names: each gives up its name under a temporary one, and takes its new name in the memberships phase (review G-D)',
    groups: [group('G1', 'beta', ['K1']), group('G2', 'alpha', ['K2'])],
    actual: [listed('g1', 'alpha', 'G1', ['u1']), listed('g2', 'beta', 'G2', ['u2'])],
    links: { G1: 'g1', G2: 'g2' },
    want: {
      groups: ['update G1 @g1 displayName:"alpha"->"beta (renaming)" temporary', 'update G2 @g2 displayName:"beta"->"alpha (renaming)" temporary'],
      memberships: ['update G1 @g1 displayName:"alpha"->"beta"', 'update G2 @g2 displayName:"beta"->"alpha"'],
      managedGroups: 2,
    },
  },
  {
    name: 'a chain of renames (alpha -> beta, beta -> gamma): the one whose name is free goes first, the other after it, no temporary name',
    groups: [group('G1', 'beta'), group('G2', 'gamma')],
    actual: [listed('g1', 'alpha', 'G1'), listed('g2', 'Beta', 'G2')],
    links: { G1: 'g1', G2: 'g2' },
    want: { groups: ['update G2 @g2 displayName:"Beta"->"gamma"'], memberships: ['update G1 @g1 displayName:"alpha"->"beta"'], managedGroups: 2 },
  },
  {
    name: 'three groups rotating names, with a temporary name already taken by hand: each gets a free one',
    groups: [group('G1', 'b'), group('G2', 'c'), group('G3', 'a')],
    actual: [listed('g1', 'a', 'G1'), listed('g2', 'b', 'G2'), listed('g3', 'c', 'G3'), listed('h1', 'B (Renaming)', null)],
    links: { G1: 'g1', G2: 'g2', G3: 'g3' },
    want: {
      groups: [
        'update G1 @g1 displayName:"a"->"b (renaming 2)" temporary',
        'update G2 @g2 displayName:"b"->"c (renaming)" temporary',
        'update G3 @g3 displayName:"c"->"a (renaming)" temporary',
      ],
      memberships: ['update G1 @g1 displayName:"a"->"b"', 'update G2 @g2 displayName:"b"->"c"', 'update G3 @g3 displayName:"c"->"a"'],
      managedGroups: 3,
    },
  },
  {
    name: 'a rename to the name of a group scim-sync does not rename (made by hand) is sent as it is',
    groups: [group('G1', 'beta')],
    actual: [listed('g1', 'alpha', 'G1'), listed('h1', 'beta', null)],
    links: { G1: 'g1' },
    want: { groups: ['update G1 @g1 displayName:"alpha"->"beta"'], managedGroups: 1 },
  },
  {
    name: 'a group carrying our externalId but not linked: link it, send nothing',
    groups: [group('G1', 'Eng')],
    actual: [listed('g1', 'Eng', 'G1')],
    want: { groups: ['link G1 @g1'], managedGroups: 1 },
  },
  {
    name: 'a hand-made group of the same name is left alone, with a warning',
    groups: [group('G1', 'Eng', ['K1'])],
    actual: [listed('g5', 'ENG', null, ['u2'])],
    want: {
      warnings: [
        'group "Eng" (G1) exists in the target as a group scim-sync does not manage (id g5); left alone. Set groups.adopt: displayName on this target to take it over.',
      ],
      managedGroups: 0,
    },
  },
  {
    name: 'adopt: displayName takes the hand-made group over and fixes its members',
    groups: [group('G1', 'Eng', ['K1'])],
    actual: [listed('g5', 'Eng', null, ['u2'])],
    settings: { adopt: 'displayName' },
    want: { groups: ['update G1 @g5 externalId:null->"G1" adopt'], memberships: ['members G1 @g5 +[K1] -[u2]'], managedGroups: 1 },
  },
  {
    name: 'adopt never takes a group keyed by another tool, and the warning does not advise it',
    groups: [group('G1', 'Eng')],
    actual: [listed('g5', 'Eng', 'okta-77')],
    settings: { adopt: 'displayName' },
    want: {
      warnings: [
        'group "Eng" (G1) exists in the target as a group scim-sync does not manage (id g5, externalId "okta-77", no key of this source); left alone. ' +
          'groups.adopt: displayName takes over only groups without an externalId: rename or remove that group in the app, or clear its externalId.',
      ],
      managedGroups: 0,
    },
  },
  {
    name: 'two source groups equal but for case (a groups column, rows re-sorted): the managed one is kept, the other held with a warning; adopt takes nothing (review G-B)',
    groups: [group('eng', 'eng', ['K3']), group('Eng', 'Eng', ['K1', 'K2'])],
    actual: [listed('g1', 'Eng', 'Eng', ['u1', 'u2'])],
    links: { Eng: 'g1' },
    settings: { adopt: 'displayName' },
    want: {
      warnings: [
        'groups "Eng" (Eng) and "eng" (eng) have the same name but for case, and a target holds one group per name: "eng" (eng) is left as it is (not created, changed or deleted) until one of them is renamed in the source.',
      ],
      managedGroups: 1,
    },
  },
  {
    name: 'two new source groups equal but for case: the first key is created, whatever the row order',
    groups: [group('eng', 'eng', ['K3']), group('Eng', 'Eng', ['K1'])],
    want: {
      groups: ['create Eng "Eng"'],
      memberships: ['members Eng +[K1] -[]'],
      warnings: [
        'groups "Eng" (Eng) and "eng" (eng) have the same name but for case, and a target holds one group per name: "eng" (eng) is left as it is (not created, changed or deleted) until one of them is renamed in the source.',
      ],
      managedGroups: 0,
    },
  },
  {
    name: 'memberships-file keys sharing a name: the second key is held, its own group neither renamed nor deleted',
    groups: [group('G2', 'Eng', ['K2']), group('G1', 'Eng', ['K1'])],
    actual: [listed('g1', 'Eng', 'G1', ['u1']), listed('g2', 'Platform', 'G2', ['u2'])],
    links: { G1: 'g1', G2: 'g2' },
    settings: { adopt: 'displayName' },
    want: {
      warnings: [
        'groups "Eng" (G1) and "Eng" (G2) have the same name but for case, and a target holds one group per name: "Eng" (G2) is left as it is (not created, changed or deleted) until one of them is renamed in the source.',
      ],
      managedGroups: 2,
      managedMemberships: 2,
    },
  },
  {
    name: "adopt never takes another source key's group found by name, whichever key comes first",
    groups: [group('G2', 'Eng', ['K2']), group('G1', 'Platform', ['K1'])],
    actual: [listed('g1', 'Eng', 'G1', ['u1'])],
    settings: { adopt: 'displayName' },
    want: {
      groups: ['update G1 @g1 displayName:"Eng"->"Platform"'],
      warnings: [
        'group "Eng" (G2) is not created: the target\'s group of that name (id g1) is the one scim-sync manages for the source group G1; left alone (a target holds one group per name).',
      ],
      managedGroups: 1,
    },
  },
  {
    name: "without adopt, a group managed for a key gone from the source is named so, not as one scim-sync does not manage",
    groups: [group('G2', 'Eng', ['K2'])],
    actual: [listed('g1', 'Eng', 'G1', ['u1'])],
    links: { G1: 'g1' },
    want: {
      deprovision: ['delete G1 @g1 (removed) with 1 members'],
      warnings: [
        'group "Eng" (G2) is not created: the target\'s group of that name (id g1) is the one scim-sync manages for the source group G1; left alone (a target holds one group per name).',
      ],
      managedGroups: 1,
    },
  },
  {
    name: 'a group name changed only in case in a groups column (its key): the same group renamed, the old key superseded, nothing deleted (review G-C)',
    groups: [group('ENG', 'ENG', ['K1', 'K2'])],
    actual: [listed('g1', 'Eng', 'Eng', ['u1', 'u2'])],
    links: { Eng: 'g1' },
    want: { groups: ['update ENG @g1 displayName:"Eng"->"ENG" externalId:"Eng"->"ENG" supersedes Eng'], managedGroups: 1, managedMemberships: 2 },
  },
  {
    name: 'a linked group gone from the source is deleted; a group outside the selection too, said so',
    groups: [group('G2', 'Temp')],
    actual: [listed('g1', 'Old', 'G1'), listed('g2', 'Temp', 'G2'), listed('g3', 'Hand-made', null)],
    links: { G1: 'g1', G2: 'g2' },
    settings: { exclude: ['T*'] },
    want: { deprovision: ['delete G1 @g1 (removed)', 'delete G2 @g2 (not-selected)'], managedGroups: 2 },
  },
  {
    name: 'a deleted group carries its member count, and its members are in the managed memberships (the safety check counts them as removed)',
    groups: [group('G2', 'Ops', ['K3'])],
    actual: [listed('g1', 'Eng', 'G1', ['u1', 'u2']), listed('g2', 'Ops', 'G2', ['u3'])],
    links: { G1: 'g1', G2: 'g2' },
    want: { deprovision: ['delete G1 @g1 (removed) with 2 members'], managedGroups: 2, managedMemberships: 3 },
  },
  {
    name: 'a group the source holds (its members could not be read) is neither deleted nor changed',
    groups: [],
    actual: [listed('g1', 'Admins', 'G1')],
    links: { G1: 'g1' },
    heldKeys: ['G1'],
    want: { managedGroups: 1 },
  },
  {
    name: 'deprovision: leave keeps retired groups, still counted as managed',
    groups: [],
    actual: [listed('g1', 'Old', 'G1')],
    links: { G1: 'g1' },
    settings: { deprovision: 'leave' },
    want: { managedGroups: 1 },
  },
  {
    name: 'groups disabled: nothing at all',
    groups: [group('G1', 'Eng', ['K1'])],
    actual: [listed('g1', 'Old', 'G1')],
    links: { G1: 'g1', G9: 'g9' },
    settings: { enabled: false },
    want: { managedGroups: 0 },
  },
];

describe('group diff', () => {
  it.each(cases)('$name', (c) => {
    const r = diff(c);
    expect({
      groups: r.groups.map(brief),
      memberships: r.memberships.map(brief),
      deprovision: r.deprovision.map(brief),
      warnings: r.warnings,
      managedGroups: r.managedGroups,
      ...(c.want.managedMemberships !== undefined ? { managedMemberships: r.managedMemberships } : {}),
    }).toEqual({ groups: [], memberships: [], deprovision: [], warnings: [], managedGroups: 0, ...c.want });
  });

  it('operations carry the resource to create, unique ids, and the PUT body without members', () => {
    const created = diff({ name: '', groups: [group('G1', 'Eng', ['K1'])], want: {} });
    expect(created.groups).toEqual([
      { id: 'gc-1', kind: 'createGroup', externalId: 'G1', label: 'Eng', resource: { schemas: [SCHEMA_GROUP], externalId: 'G1', displayName: 'Eng', members: [] } },
    ]);
    expect(created.memberships).toEqual([{ id: 'gm-2', kind: 'patchGroupMembers', externalId: 'G1', label: 'Eng', add: ['K1'], remove: [] }]);
    const put = diff({ name: '', groups: [group('G1', 'Eng', ['K1'])], updateMethod: 'put', want: {} });
    expect(put.memberships).toEqual([
      { id: 'gm-2', kind: 'replaceGroup', externalId: 'G1', label: 'Eng', resource: { schemas: [SCHEMA_GROUP], externalId: 'G1', displayName: 'Eng' }, memberKeys: ['K1'] },
    ]);
  });
});

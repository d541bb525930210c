/**
 * verifyOperation as a table: an operation's precondition is taken from the read it was planned on
 * (preconditionOf), then checked against a read made later; for every operation kind the verdict
 * is go, already in place, or stale, with why.
 */
import { describe, expect, it } from 'vitest';
import type { CanonicalGroup, CanonicalUser } from '../../src/model/canonical.js';
import type { Operation } from '../../src/model/plan.js';
import { SCHEMA_GROUP, SCHEMA_USER, type ServerResource } from '../../src/model/scim.js';
import type { MemberNames } from '../../src/planning/member-preconditions.js';
import { preconditionOf, ResourceIndex, verifyOperation, type FreshRead, type Verdict } from '../../src/planning/preconditions.js';

const person = (key: string, over: Partial<CanonicalUser> = {}): CanonicalUser => ({
  key,
  active: true,
  attributes: { userName: `${key.toLowerCase()}@x.com`, title: 'Old' },
  ref: { location: 'people.csv' },
  ...over,
});
const team = (key: string, displayName: string, memberKeys: string[] = []): CanonicalGroup => ({ key, displayName, memberKeys, ref: { location: 'groups.csv' } });
const account = (id: string, externalId: string, over: Record<string, unknown> = {}): ServerResource =>
  ({ schemas: [SCHEMA_USER], id, externalId, userName: `${externalId.toLowerCase()}@x.com`, title: 'Old', active: true, ...over }) as ServerResource;
const listedGroup = (id: string, externalId: string, displayName: string, members: string[] = []): ServerResource => ({
  schemas: [SCHEMA_GROUP],
  id,
  externalId,
  displayName,
  members: members.map((value) => ({ value })),
});

interface Read {
  users?: CanonicalUser[];
  groups?: CanonicalGroup[];
  /** null: the target's users (or groups) were not listed. */
  accounts?: ServerResource[] | null;
  groupResources?: ServerResource[] | null;
  /** Members' accounts: K1 is a1, K2 a2, as the links have them. */
  people?: boolean;
}
const PEOPLE: MemberNames = { keyOf: (id) => ({ a1: 'K1', a2: 'K2' })[id], idOf: (key) => ({ K1: 'a1', K2: 'a2' })[key] };
const fresh = (r: Read): FreshRead => ({
  ...(r.people ? { people: PEOPLE } : {}),
  users: new Map((r.users ?? []).map((u) => [u.key, u])),
  groups: new Map((r.groups ?? []).map((g) => [g.key, g])),
  accounts: r.accounts === null ? null : new ResourceIndex(r.accounts ?? []),
  groupResources: r.groupResources === null ? null : new ResourceIndex(r.groupResources ?? []),
});

const createUser: Operation = { id: 'o1', kind: 'createUser', externalId: 'K1', label: 'k1@x.com', resource: {}, hash: 'h', adoptBy: null };
const updateUser: Operation = {
  id: 'o2',
  kind: 'updateUser',
  externalId: 'K1',
  label: 'k1@x.com',
  scimId: 'a1',
  changes: [{ path: 'title', from: 'Old', to: 'New' }],
  patch: [{ op: 'replace', path: 'title', value: 'New' }],
  hash: 'h',
  recreate: {},
};
const deactivate: Operation = { id: 'o3', kind: 'deprovisionUser', externalId: 'K1', label: 'k1@x.com', scimId: 'a1', mode: 'deactivate', reason: 'removed' };
const deleteUser: Operation = { ...deactivate, mode: 'delete' };
const linkUser: Operation = { id: 'o4', kind: 'linkUser', externalId: 'K1', label: 'k1@x.com', scimId: 'a1', hash: 'h' };
const setManager: Operation = { id: 'o5', kind: 'setManager', externalId: 'K1', label: 'k1@x.com', scimId: 'a1', managerKey: 'K2', managerLabel: 'k2@x.com' };
const createGroup: Operation = { id: 'o6', kind: 'createGroup', externalId: 'G1', label: 'Eng', resource: {} };
const updateGroup: Operation = {
  id: 'o7',
  kind: 'updateGroup',
  externalId: 'G1',
  label: 'Engineering',
  scimId: 'g1',
  changes: [{ path: 'displayName', from: 'Eng', to: 'Engineering' }],
  patch: [{ op: 'replace', path: 'displayName', value: 'Engineering' }],
};
const deleteGroup: Operation = { id: 'o8', kind: 'deleteGroup', externalId: 'G1', label: 'Eng', scimId: 'g1', reason: 'removed' };
const patchMembers: Operation = { id: 'o9', kind: 'patchGroupMembers', externalId: 'G1', label: 'Eng', scimId: 'g1', add: ['K1'], remove: [] };
const replaceGroup: Operation = { id: 'oa', kind: 'replaceGroup', externalId: 'G1', label: 'Eng', scimId: 'g1', resource: {}, memberKeys: ['K1'] };
const removeK2: Operation = { id: 'oc', kind: 'patchGroupMembers', externalId: 'G1', label: 'Eng', scimId: 'g1', add: [], remove: ['a2'] };
const replaceWithoutK2: Operation = { ...replaceGroup, id: 'od', memberKeys: ['K1'], remove: ['a2'] };
const linkGroup: Operation = { id: 'ob', kind: 'linkGroup', externalId: 'G1', label: 'Eng', scimId: 'g1' };

const K1 = person('K1');
const A1 = account('a1', 'K1');
const G1 = team('G1', 'Engineering', ['K1']);
const g1 = listedGroup('g1', 'G1', 'Eng');

const GO = 'go' as const;
const inPlace = (why = 'the target already shows this change') => ['already in place', why] as const;
const stale = (why: string) => ['stale', why] as const;
const SOURCE_CHANGED = 'the source record changed since the plan was made';
const ACCOUNT_CHANGED = 'the account changed in the target since the plan was made';
const GROUP_CHANGED = 'the group changed in the target since the plan was made';

interface Case {
  name: string;
  op: Operation;
  /** What the plan was made from. */
  planned: Read;
  /** What the target and source hold when the plan is applied; default: as planned. */
  now?: Read;
  want: typeof GO | readonly ['already in place' | 'stale', string];
}

const cases: Case[] = [
  // createUser
  { name: 'createUser, nothing changed: go', op: createUser, planned: { users: [K1] }, want: GO },
  { name: 'createUser, the account exists now: already in place', op: createUser, planned: { users: [K1] }, now: { users: [K1], accounts: [A1] }, want: inPlace() },
  { name: 'createUser, the person changed in the source: stale', op: createUser, planned: { users: [K1] }, now: { users: [person('K1', { attributes: { userName: 'new@x.com' } })] }, want: stale(SOURCE_CHANGED) },
  { name: 'createUser, the person left the source: stale', op: createUser, planned: { users: [K1] }, now: {}, want: stale('gone from the source since the plan was made') },
  // updateUser
  { name: 'updateUser, nothing changed: go', op: updateUser, planned: { users: [K1], accounts: [A1] }, want: GO },
  {
    name: 'updateUser, the account shows the change: already in place',
    op: updateUser,
    planned: { users: [K1], accounts: [A1] },
    now: { users: [K1], accounts: [account('a1', 'K1', { title: 'New' })] },
    want: inPlace(),
  },
  {
    name: 'updateUser, the account was edited otherwise: stale',
    op: updateUser,
    planned: { users: [K1], accounts: [A1] },
    now: { users: [K1], accounts: [account('a1', 'K1', { title: 'Boss' })] },
    want: stale(ACCOUNT_CHANGED),
  },
  { name: 'updateUser, the account is gone: stale', op: updateUser, planned: { users: [K1], accounts: [A1] }, now: { users: [K1], accounts: [] }, want: stale('the account is gone from the target') },
  {
    name: 'updateUser, only meta changed (no version): go',
    op: updateUser,
    planned: { users: [K1], accounts: [A1] },
    now: { users: [K1], accounts: [account('a1', 'K1', { meta: { lastModified: '2026-11-30T00:00:00Z' } })] },
    want: GO,
  },
  {
    name: 'updateUser, same meta.version though the body reads differently: go',
    op: updateUser,
    planned: { users: [K1], accounts: [account('a1', 'K1', { meta: { version: 'W/"3"' } })] },
    now: { users: [K1], accounts: [account('a1', 'K1', { nickName: 'k', meta: { version: 'W/"3"' } })] },
    want: GO,
  },
  {
    name: 'updateUser, a new meta.version: stale',
    op: updateUser,
    planned: { users: [K1], accounts: [account('a1', 'K1', { meta: { version: 'W/"3"' } })] },
    now: { users: [K1], accounts: [account('a1', 'K1', { meta: { version: 'W/"4"' } })] },
    want: stale(ACCOUNT_CHANGED),
  },
  {
    name: 'updateUser, the target was not listed now: only the source is checked',
    op: updateUser,
    planned: { users: [K1], accounts: [A1] },
    now: { users: [K1], accounts: null },
    want: GO,
  },
  { name: 'updateUser, the person changed in the source: stale', op: updateUser, planned: { users: [K1], accounts: [A1] }, now: { users: [person('K1', { active: false })], accounts: [A1] }, want: stale(SOURCE_CHANGED) },
  // deprovisionUser
  { name: 'deactivate, nothing changed: go', op: deactivate, planned: { accounts: [A1] }, want: GO },
  { name: 'deactivate, the account is inactive now: already in place', op: deactivate, planned: { accounts: [A1] }, now: { accounts: [account('a1', 'K1', { active: false })] }, want: inPlace() },
  { name: 'deactivate, the account is gone: already in place', op: deactivate, planned: { accounts: [A1] }, now: { accounts: [] }, want: inPlace() },
  { name: 'deactivate, the account was edited and is still active: stale', op: deactivate, planned: { accounts: [A1] }, now: { accounts: [account('a1', 'K1', { title: 'X' })] }, want: stale(ACCOUNT_CHANGED) },
  { name: 'deactivate, the person is back in the source: stale', op: deactivate, planned: { accounts: [A1] }, now: { users: [K1], accounts: [A1] }, want: stale('back in the source since the plan was made') },
  { name: 'delete, the account is inactive now: still stale (not deleted)', op: deleteUser, planned: { accounts: [A1] }, now: { accounts: [account('a1', 'K1', { active: false })] }, want: stale(ACCOUNT_CHANGED) },
  { name: 'delete, the account is gone: already in place', op: deleteUser, planned: { accounts: [A1] }, now: { accounts: [] }, want: inPlace() },
  // linkUser, linkGroup: no precondition
  { name: 'linkUser, whatever changed: go', op: linkUser, planned: { users: [K1], accounts: [A1] }, now: {}, want: GO },
  { name: 'linkGroup, whatever changed: go', op: linkGroup, planned: { groups: [G1], groupResources: [g1] }, now: {}, want: GO },
  // setManager: the source only
  { name: 'setManager, the account was edited: go (it sets one attribute)', op: setManager, planned: { users: [K1], accounts: [A1] }, now: { users: [K1], accounts: [] }, want: GO },
  {
    name: 'setManager, the manager changed in the source: stale',
    op: setManager,
    planned: { users: [person('K1', { managerKey: 'K2' })] },
    now: { users: [person('K1', { managerKey: 'K3' })] },
    want: stale(SOURCE_CHANGED),
  },
  // createGroup
  { name: 'createGroup, nothing changed: go', op: createGroup, planned: { groups: [G1] }, want: GO },
  { name: 'createGroup, the group exists now: already in place', op: createGroup, planned: { groups: [G1] }, now: { groups: [G1], groupResources: [g1] }, want: inPlace() },
  { name: 'createGroup, the source group left: stale', op: createGroup, planned: { groups: [G1] }, now: {}, want: stale('gone from the source since the plan was made') },
  // updateGroup
  { name: 'updateGroup, nothing changed: go', op: updateGroup, planned: { groups: [G1], groupResources: [g1] }, want: GO },
  {
    name: 'updateGroup, renamed in the target meanwhile: stale',
    op: updateGroup,
    planned: { groups: [G1], groupResources: [g1] },
    now: { groups: [G1], groupResources: [listedGroup('g1', 'G1', 'Engineering')] },
    want: stale(GROUP_CHANGED),
  },
  { name: 'updateGroup, the group is gone: stale', op: updateGroup, planned: { groups: [G1], groupResources: [g1] }, now: { groups: [G1], groupResources: [] }, want: stale('the group is gone from the target') },
  // deleteGroup
  { name: 'deleteGroup, nothing changed: go', op: deleteGroup, planned: { groupResources: [g1] }, want: GO },
  { name: 'deleteGroup, the group is gone: already in place', op: deleteGroup, planned: { groupResources: [g1] }, now: { groupResources: [] }, want: inPlace() },
  { name: 'deleteGroup, the group is back in the source: stale', op: deleteGroup, planned: { groupResources: [g1] }, now: { groups: [G1], groupResources: [g1] }, want: stale('back in the source since the plan was made') },
  // Memberships: the source group only
  { name: 'patchGroupMembers, the group was edited in the target: go', op: patchMembers, planned: { groups: [G1], groupResources: [g1] }, now: { groups: [G1], groupResources: [] }, want: GO },
  {
    name: 'patchGroupMembers, the membership changed in the source: stale',
    op: patchMembers,
    planned: { groups: [G1] },
    now: { groups: [team('G1', 'Engineering', ['K1', 'K2'])] },
    want: stale(SOURCE_CHANGED),
  },
  { name: 'replaceGroup, nothing changed: go', op: replaceGroup, planned: { groups: [G1] }, want: GO },
  { name: 'replaceGroup, the source group left: stale', op: replaceGroup, planned: { groups: [G1] }, now: {}, want: stale('gone from the source since the plan was made') },
  // Memberships: the people added or removed, and the group's members now
  {
    name: 'patchGroupMembers, the person it adds changed in the source: stale, naming them',
    op: patchMembers,
    planned: { users: [K1], groups: [G1] },
    now: { users: [person('K1', { active: false })], groups: [G1] },
    want: stale('the source record of K1, whom it adds, changed since the plan was made'),
  },
  {
    name: 'patchGroupMembers, the person it removes is back in the source (the group digest is the same): stale',
    op: removeK2,
    planned: { users: [K1, person('K2', { active: false })], groups: [G1], groupResources: [listedGroup('g1', 'G1', 'Engineering', ['a1', 'a2'])], people: true },
    now: { users: [K1, person('K2')], groups: [G1], groupResources: [listedGroup('g1', 'G1', 'Engineering', ['a1', 'a2'])], people: true },
    want: stale('the source record of K2, whom it removes, changed since the plan was made'),
  },
  {
    name: 'patchGroupMembers, the member it removes is out of the group already: already in place',
    op: removeK2,
    planned: { users: [K1], groups: [G1], groupResources: [listedGroup('g1', 'G1', 'Engineering', ['a1', 'a2'])], people: true },
    now: { users: [K1], groups: [G1], groupResources: [listedGroup('g1', 'G1', 'Engineering', ['a1'])], people: true },
    want: inPlace(),
  },
  {
    name: 'patchGroupMembers, the member it adds is in the group already: already in place',
    op: patchMembers,
    planned: { users: [K1], groups: [G1], groupResources: [g1], people: true },
    now: { users: [K1], groups: [G1], groupResources: [listedGroup('g1', 'G1', 'Eng', ['a1'])], people: true },
    want: inPlace(),
  },
  {
    name: 'replaceGroup, the person it removes is back in the source: stale',
    op: replaceWithoutK2,
    planned: { users: [K1], groups: [G1], groupResources: [listedGroup('g1', 'G1', 'Engineering', ['a1', 'a2'])], people: true },
    now: { users: [K1, person('K2')], groups: [G1], groupResources: [listedGroup('g1', 'G1', 'Engineering', ['a1', 'a2'])], people: true },
    want: stale('the source record of K2, whom it removes, changed since the plan was made'),
  },
  {
    name: 'replaceGroup, the group shows it already: already in place',
    op: replaceWithoutK2,
    planned: { users: [K1], groups: [G1], groupResources: [listedGroup('g1', 'G1', 'Engineering', ['a1', 'a2'])], people: true },
    now: { users: [K1, person('K2')], groups: [G1], groupResources: [listedGroup('g1', 'G1', 'Engineering', ['a1'])], people: true },
    want: inPlace(),
  },
];

describe('verifyOperation', () => {
  it.each(cases)('$name', (c) => {
    const pre = preconditionOf(c.op, fresh(c.planned));
    const op = pre ? { ...c.op, pre } : c.op;
    const want: Verdict = c.want === GO ? { go: true } : { go: false, state: c.want[0], why: c.want[1] };
    expect(verifyOperation(op, fresh(c.now ?? c.planned))).toEqual(want);
  });

  it('every operation kind is in the table', () => {
    const kinds = new Set(cases.map((c) => c.op.kind));
    expect([...kinds].sort()).toEqual(
      ['createGroup', 'createUser', 'deleteGroup', 'deprovisionUser', 'linkGroup', 'linkUser', 'patchGroupMembers', 'replaceGroup', 'setManager', 'updateGroup', 'updateUser'].sort(),
    );
  });

  it('preconditions: digests of what was read, null for what was absent, none for links', () => {
    const read = fresh({ users: [K1], groups: [G1], accounts: [account('a1', 'K1', { meta: { version: 'W/"7"' } })], groupResources: [g1] });
    expect(preconditionOf(createUser, read)).toEqual({ source: expect.stringMatching(/^[\w-]{22}$/), account: null });
    expect(preconditionOf(updateUser, read)).toEqual({ source: expect.stringMatching(/^[\w-]{22}$/), account: 'v:W/"7"' });
    expect(preconditionOf(deactivate, fresh({ accounts: [A1] }))).toEqual({ source: null, account: expect.stringMatching(/^[\w-]{22}$/) });
    expect(preconditionOf(setManager, read)).toEqual({ source: expect.stringMatching(/^[\w-]{22}$/) });
    expect(preconditionOf(patchMembers, read)).toEqual({ source: expect.stringMatching(/^[\w-]{22}$/), members: { K1: expect.stringMatching(/^[\w-]{22}$/) } });
    // A removed member by their key (the links), null when the source does not hold them; a PUT names only whom it adds or removes.
    const listed = fresh({ users: [K1], groups: [G1], groupResources: [listedGroup('g1', 'G1', 'Eng', ['a1', 'a2'])], people: true });
    expect(preconditionOf(removeK2, listed)).toEqual({ source: expect.stringMatching(/^[\w-]{22}$/), members: { K2: null } });
    expect(preconditionOf(replaceWithoutK2, listed)).toEqual({ source: expect.stringMatching(/^[\w-]{22}$/), members: { K2: null } });
  });

  it('a membership operation planned before the people it adds or removes were recorded is stale, unless in place', () => {
    const old = { ...removeK2, pre: { source: preconditionOf(removeK2, fresh({ groups: [G1] }))!.source! } };
    const now = (members: string[]) => fresh({ groups: [G1], groupResources: [listedGroup('g1', 'G1', 'Engineering', members)], people: true });
    expect(verifyOperation(old, now(['a1', 'a2']))).toEqual({
      go: false,
      state: 'stale',
      why: 'planned by an earlier scim-sync, which did not record the people it adds or removes; make a new plan',
    });
    expect(verifyOperation(old, now(['a1']))).toEqual({ go: false, state: 'already in place', why: 'the target already shows this change' });
  });

  it('names the people with the labels the plan has for them, three at most', () => {
    const op: Operation = { ...removeK2, remove: ['a1', 'a2'] };
    const many: Operation = { ...patchMembers, add: ['K1', 'K3', 'K4', 'K5'] };
    const planned = fresh({ groups: [G1] });
    const labels = new Map([['K1', 'k1@x.com']]);
    const read = fresh({ groups: [G1], users: [K1, person('K2'), person('K3'), person('K4'), person('K5')], people: true });
    const stale = (o: Operation) => verifyOperation({ ...o, pre: preconditionOf(o, { ...planned, people: PEOPLE })! }, read, labels);
    expect(stale(op)).toMatchObject({ why: 'the source records of k1@x.com (K1) and K2, whom it removes, changed since the plan was made' });
    expect(stale(many)).toMatchObject({ why: 'the source records of k1@x.com (K1), K3, K4 and 1 more, whom it adds, changed since the plan was made' });
    expect(preconditionOf(linkUser, read)).toBeUndefined();
    expect(preconditionOf(linkGroup, read)).toBeUndefined();
  });
});

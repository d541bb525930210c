/**
 * Planning indexes the read for the operations it planned alone (preconditions.ts `namedBy`): each
 * operation of a plan must carry the precondition a full index of the same read gives, for every
 * kind, including an account found by externalId (no link), a gone person's account, a group, and a
 * SCIM id two accounts were listed under.
 */
import { expect, it } from 'vitest';
import { compileScope } from '../../src/mapping/scope.js';
import { buildUserResource, compileUserMapping, mapUser } from '../../src/mapping/user-mapping.js';
import type { CanonicalUser, DirectorySnapshot } from '../../src/model/canonical.js';
import type { Operation } from '../../src/model/plan.js';
import { SCHEMA_GROUP, type ServerResource } from '../../src/model/scim.js';
import { planTarget } from '../../src/planning/build-plan.js';
import { preconditionOf, ResourceIndex, snapshotIndex } from '../../src/planning/preconditions.js';

const person = (n: number, over: Partial<CanonicalUser> = {}): CanonicalUser => ({
  key: `E${n}`,
  active: true,
  attributes: { userName: `u${n}@x.com`, givenName: `G${n}`, familyName: `F${n}` },
  managerKey: n > 1 ? 'E1' : null,
  ref: { location: 'people.csv', line: n + 1 },
  ...over,
});
const mapping = compileUserMapping({}, new Set(['userName', 'givenName', 'familyName']));
/** The account a previous run left for person n. */
const account = (n: number, over: Record<string, unknown> = {}): ServerResource =>
  ({ ...buildUserResource(mapping, mapUser(mapping, person(n)), true), id: `a${n}`, ...over }) as unknown as ServerResource;

it('every operation carries the precondition a full index of the same read gives', () => {
  const users = [
    ...Array.from({ length: 30 }, (_, i) => person(i + 1)),
    person(31, { attributes: { userName: 'u31@x.com', givenName: 'Changed', familyName: 'F31' } }),
    person(32, { active: false }),
    person(33),
    person(34),
    person(35),
  ];
  const snapshot: DirectorySnapshot = {
    source: 'csv people.csv',
    users,
    groups: [
      { key: 'G1', displayName: 'Eng', memberKeys: ['E1', 'E2', 'E34'], ref: { location: 'groups.csv' } },
      { key: 'G2', displayName: 'New', memberKeys: ['E3'], ref: { location: 'groups.csv' } },
    ],
    issues: [],
    heldKeys: [],
    recordsRead: users.length,
  };
  const actualUsers = [
    ...Array.from({ length: 30 }, (_, i) => account(i + 1, i === 4 ? { meta: { version: 'W/"5"' } } : {})),
    account(31),
    account(32),
    // Found by externalId only (no link), a hand edit on it.
    account(33, { name: { givenName: 'Hand', familyName: 'F33' } }),
    // Found by externalId only and as it should be: linked.
    account(35),
    // A gone person's account, and an account listed under another's SCIM id as well.
    account(40),
    { ...account(41), id: 'a2' } as ServerResource,
  ];
  const links = new Map(Array.from({ length: 32 }, (_, i) => [`E${i + 1}`, { id: `a${i + 1}`, hash: 'h' }]));
  links.set('E40', { id: 'a40', hash: 'h' });
  const actualGroups: ServerResource[] = [
    { schemas: [SCHEMA_GROUP], id: 'g1', externalId: 'G1', displayName: 'Engineering', members: [{ value: 'a1' }] },
    { schemas: [SCHEMA_GROUP], id: 'g9', externalId: 'G9', displayName: 'Gone', members: [] },
  ];
  const plan = planTarget(snapshot, {
    name: 'app',
    mapping,
    inScope: compileScope(undefined),
    actualUsers,
    userLinks: links,
    settings: { operations: { create: true, update: true, deactivate: true }, deprovision: 'deactivate', adopt: 'none', updateMethod: 'patch', useEtags: true },
    groups: {
      actual: actualGroups,
      links: new Map([['G1', { id: 'g1', hash: '' }], ['G9', { id: 'g9', hash: '' }]]),
      settings: { enabled: true, include: ['*'], exclude: [], nested: 'direct', deprovision: 'delete', adopt: 'none', maxMembersPerPatch: 500 },
    },
    manager: true,
  });

  const full = { ...snapshotIndex(snapshot), accounts: new ResourceIndex(actualUsers), groupResources: new ResourceIndex(actualGroups) };
  const ops = plan.phases.flatMap((p) => p.operations);
  const kinds = new Set(ops.map((op) => op.kind));
  for (const kind of ['createUser', 'updateUser', 'linkUser', 'deprovisionUser', 'createGroup', 'updateGroup', 'deleteGroup', 'patchGroupMembers', 'setManager'] as const) {
    expect(kinds, kind).toContain(kind);
  }
  for (const op of ops) {
    const { pre, ...bare } = op as Operation & { pre?: unknown };
    expect(pre, `${op.kind} ${op.externalId}`).toEqual(preconditionOf(bare as Operation, full));
  }
  // The digests are of what was read, not absent: an update's account, a gone person's, a group's.
  const pre = (kind: Operation['kind'], key: string) => ops.find((op) => op.kind === kind && op.externalId === key)!.pre!;
  expect(pre('updateUser', 'E31').account).toMatch(/./);
  expect(pre('updateUser', 'E33').account).toMatch(/./);
  expect(pre('deprovisionUser', 'E40')).toEqual({ source: null, account: expect.stringMatching(/./) });
  expect(pre('updateGroup', 'G1').account).toMatch(/./);
  expect(pre('updateUser', 'E31').source).toMatch(/./);
});

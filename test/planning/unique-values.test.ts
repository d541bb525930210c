/**
 * SelectUniqueValue in the planner: the first candidate the target does not hold, counting the
 * plan's own creates; stable across runs, because a person with an account keeps its value.
 */
import { describe, expect, it } from 'vitest';
import { compileScope } from '../../src/mapping/scope.js';
import { compileUserMapping } from '../../src/mapping/user-mapping.js';
import type { CanonicalUser } from '../../src/model/canonical.js';
import type { CreateUserOp, Operation } from '../../src/model/plan.js';
import type { ServerResource } from '../../src/model/scim.js';
import { diffUsers } from '../../src/planning/user-diff.js';
import type { TargetSettings } from '../../src/planning/target-settings.js';
import type { Link } from '../../src/state/link-store.js';

const settings: TargetSettings = { operations: { create: true, update: true, deactivate: true }, deprovision: 'deactivate', adopt: 'none', updateMethod: 'patch' };
const mapping = compileUserMapping(
  { userName: '=SelectUniqueValue(ToLower(Join(".", givenName, familyName)), ToLower(Join(".", givenName, familyName)) & "2", ToLower(Join(".", givenName, familyName)) & "3")' },
  new Set(['givenName', 'familyName']),
);
const person = (key: string, givenName: string, familyName: string): CanonicalUser => ({ key, active: true, attributes: { givenName, familyName }, ref: { location: 'people.csv' } });

/** One plan; `accounts` as a target holds them after the creates of an earlier plan, linked. */
function plan(people: CanonicalUser[], accounts: ServerResource[] = [], links: [string, string][] = [], adopt: TargetSettings['adopt'] = 'none') {
  return diffUsers({
    snapshot: { source: 't', users: people, groups: [], issues: [], heldKeys: [], recordsRead: people.length },
    mapping,
    inScope: compileScope(undefined),
    actual: accounts,
    links: new Map(links.map(([k, id]): [string, Link] => [k, { id, hash: 'h' }])),
    settings: { ...settings, adopt },
  });
}

const creates = (ops: Operation[]) => ops.filter((o): o is CreateUserOp => o.kind === 'createUser');
const names = (ops: Operation[]) => creates(ops).map((o) => [o.externalId, o.resource['userName']]);

/** What the target holds once these creates ran, and the links they made. */
function applied(ops: Operation[]): { accounts: ServerResource[]; links: [string, string][] } {
  const made = creates(ops).map((o, i) => ({ ...o.resource, id: `id-${o.externalId}-${i}` }) as unknown as ServerResource);
  return { accounts: made, links: made.map((a) => [a['externalId'] as string, a.id]) };
}

describe('SelectUniqueValue', () => {
  const ann1 = person('K1', 'Ann', 'Lee');
  const ann2 = person('K2', 'Ann', 'Lee');

  it('gives two new people with the same name distinct values in one plan, and the same ones in the next', () => {
    const first = plan([ann1, ann2]);
    expect(names(first.users)).toEqual([
      ['K1', 'ann.lee'],
      ['K2', 'ann.lee2'],
    ]);
    const { accounts, links } = applied(first.users);
    const second = plan([ann1, ann2], accounts, links);
    expect(second.users).toEqual([]);
    expect(second.warnings).toEqual([]);
    // Source order changed, a third namesake arrived first: the two keep theirs, the third takes the next.
    const third = plan([person('K3', 'Ann', 'Lee'), ann2, ann1], accounts, links);
    expect(names(third.users)).toEqual([['K3', 'ann.lee3']]);
    expect(third.users).toHaveLength(1);
  });

  it('a person with an account keeps its value when their name changes', () => {
    const { accounts, links } = applied(plan([ann1]).users);
    const renamed = plan([person('K1', 'Ann', 'Park')], accounts, links);
    expect(renamed.users.flatMap((o) => (o.kind === 'updateUser' ? o.changes : []))).toEqual([
      expect.objectContaining({ path: 'name.familyName', to: 'Park' }),
      expect.objectContaining({ path: 'displayName', to: 'Ann Park' }),
    ]);
  });

  it('steps past a value an unmanaged account holds, without calling it a conflict', () => {
    const stranger = { schemas: [], id: 'x1', userName: 'Ann.Lee', active: true } as unknown as ServerResource;
    const r = plan([ann1], [stranger]);
    expect(names(r.users)).toEqual([['K1', 'ann.lee2']]);
    expect(r.warnings).toEqual([]);
  });

  it('adopts the holder of the first candidate where adopting by userName is configured', () => {
    const stranger = { schemas: [], id: 'x1', userName: 'ann.lee', active: true } as unknown as ServerResource;
    const r = plan([ann1], [stranger], [], 'userName');
    expect(r.users).toEqual([expect.objectContaining({ kind: 'updateUser', scimId: 'x1', adopt: true })]);
  });

  it('creates nobody, with a warning, when every candidate is taken', () => {
    const held = ['ann.lee', 'ann.lee2', 'ann.lee3'].map((userName, i) => ({ schemas: [], id: `x${i}`, userName }) as unknown as ServerResource);
    const r = plan([ann1], held);
    expect(r.users).toEqual([]);
    expect(r.warnings).toEqual(['people.csv: K1 is not created: every candidate for userName is taken in the target (ann.lee, ann.lee2, ann.lee3)']);
  });
});

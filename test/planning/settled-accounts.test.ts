import { describe, expect, it } from 'vitest';
import { compileScope } from '../../src/mapping/scope.js';
import { buildUserResource, compileUserMapping, mapUser, type UserMapping } from '../../src/mapping/user-mapping.js';
import type { CanonicalUser, DirectorySnapshot } from '../../src/model/canonical.js';
import type { ServerResource } from '../../src/model/scim.js';
import { planTarget, type TargetInput } from '../../src/planning/build-plan.js';
import { AccountSettler } from '../../src/planning/settled-accounts.js';
import type { TargetSettings } from '../../src/planning/target-settings.js';
import type { Link } from '../../src/state/link-store.js';

const settings: TargetSettings = { operations: { create: true, update: true, deactivate: true }, deprovision: 'deactivate', adopt: 'none', updateMethod: 'patch', useEtags: true };
const u = (n: number, over: Partial<CanonicalUser> = {}): CanonicalUser => ({
  key: `K${n}`,
  active: true,
  attributes: { userName: `u${n}@x.com`, givenName: `G${n}`, familyName: `F${n}`, department: n % 2 ? 'Eng' : 'Sales', manager: null },
  ref: { location: 'people.csv', line: n + 1 },
  ...over,
});
const attributes = new Set(['userName', 'givenName', 'familyName', 'department']);
const mapping = compileUserMapping({}, attributes);
const account = (m: UserMapping, user: CanonicalUser, id: string, over: Record<string, unknown> = {}) =>
  ({ ...buildUserResource(m, mapUser(m, user), true), id, meta: { version: `W/"${id}"` }, ...over }) as unknown as ServerResource;
const snap = (users: CanonicalUser[], heldKeys: string[] = []): DirectorySnapshot => ({ source: 't', users, groups: [], issues: [], heldKeys, recordsRead: users.length });

/**
 * A cycle with every case the settler must leave alone beside ones it settles: changed, unlinked,
 * gone, held, held off, inactive, out of scope, a duplicate externalId, two links to one account, an
 * account keyed to someone else (gone, or in the source unlinked), a userName a new person would take,
 * an account linked but unlisted.
 */
function cycle(m: UserMapping = mapping) {
  const users = [
    ...Array.from({ length: 20 }, (_, i) => u(i)),
    u(20, { attributes: { ...u(20).attributes, givenName: 'Changed' } }),
    u(21),
    u(22),
    u(23, { active: false }),
    u(24),
    u(25),
    u(26),
    u(27),
    u(28),
    u(30, { attributes: { ...u(30).attributes, userName: 'u3@x.com' } }),
    u(31),
    u(33, { attributes: { ...u(33).attributes, department: 'Out' } }),
    u(35),
    u(36),
  ];
  const actual = [
    ...Array.from({ length: 20 }, (_, i) => account(m, u(i), `a${i}`)),
    account(m, u(20), 'a20'),
    account(m, u(21), 'a21'),
    account(m, u(22), 'a22'),
    account(m, u(23), 'a23'),
    account(m, u(24), 'a24'),
    account(m, u(24), 'a24b'),
    account(m, u(25), 'a25'),
    account(m, u(26), 'a26', { externalId: 'K99' }),
    account(m, u(27), 'a27'),
    account(m, u(29), 'a29'),
    account(m, u(31), 'a31', { userName: 'U31@X.COM' }),
    account(m, u(33), 'a33'),
    account(m, u(34), 'a34'),
    account(m, u(36), 'a36', { externalId: 'K35' }),
  ];
  const links: [string, string][] = [
    ...Array.from({ length: 20 }, (_, i): [string, string] => [`K${i}`, `a${i}`]),
    ['K20', 'a20'],
    ['K22', 'a22'],
    ['K23', 'a23'],
    ['K25', 'a25'],
    ['K26', 'a26'],
    ['K28', 'a27'],
    ['K27', 'a27'],
    ['K29', 'a29'],
    ['K31', 'a31'],
    ['K32', 'a32'],
    ['K33', 'a33'],
    ['K36', 'a36'],
    ['K40', 'a0'],
  ];
  return { users, actual, links: new Map(links.map(([k, id]): [string, Link] => [k, { id, hash: 'h' }])) };
}

function plans(opts: { mapping?: UserMapping; held?: string[]; heldOff?: string[]; manager?: boolean; settings?: Partial<TargetSettings>; pageSize?: number } = {}) {
  const m = opts.mapping ?? mapping;
  const { users, actual, links } = cycle(m);
  const snapshot = snap(users, opts.held);
  const inScope = compileScope([{ department: { in: ['eng', 'sales'] } }]);
  const heldOff = new Map((opts.heldOff ?? []).map((k) => [k, { at: '2026-01-01T00:00:00Z', by: 'op', reason: 'r' }])) as unknown as TargetInput['heldOff'];
  const input: TargetInput = {
    name: 'app',
    mapping: m,
    inScope,
    actualUsers: actual,
    userLinks: links,
    settings: { ...settings, ...opts.settings },
    manager: opts.manager ?? false,
    ...(heldOff?.size ? { heldOff } : {}),
  };
  const settler = new AccountSettler({
    snapshot,
    mapping: m,
    inScope,
    links,
    settings: input.settings,
    ...(heldOff?.size ? { heldOff: new Set(heldOff.keys()) } : {}),
    keepAccounts: input.manager,
  });
  const size = opts.pageSize ?? 7;
  for (let i = 0; i < actual.length; i += size) settler.add(actual.slice(i, i + size));
  const whole = planTarget(snapshot, input);
  const settledPlan = planTarget(snapshot, { ...input, actualUsers: settler.accounts, settled: settler.settled });
  return { whole, settledPlan, settler };
}

describe('accounts settled while listing', () => {
  it('settle the unchanged linked people, and the plan is the one made from the whole listing', () => {
    const { whole, settledPlan, settler } = plans();
    expect(settledPlan).toEqual(whole);
    // The plan has work in it, and those it concerns are left to the diff.
    expect(whole.phases.flatMap((p) => p.operations).length).toBeGreaterThan(4);
    expect(whole.warnings.length).toBeGreaterThan(0);
    expect([...settler.settled.keys()].sort()).toEqual([...Array.from({ length: 19 }, (_, i) => `K${i + 1}`), 'K22', 'K25', 'K31'].sort());
    // Stubs keep what lookups read, not the whole account.
    const stub = settler.accounts.find((a) => a.id === 'a1')!;
    expect(settler.accounts.find((a) => a.id === 'a0')).toEqual(cycle().actual[0]);
    expect(Object.keys(stub).sort()).toEqual(['externalId', 'id', 'schemas', 'userName']);
    expect(settler.accounts.map((a) => a.id)).toEqual(cycle().actual.map((a) => a.id));
  });

  it('give the same plan with held, held-off people, adoption by email, PUT, and manager accounts kept whole', () => {
    for (const opts of [
      { held: ['K3', 'K22'] },
      { heldOff: ['K4', 'K5'] },
      { settings: { adopt: 'email' as const } },
      { settings: { adopt: 'userName' as const, updateMethod: 'put' as const } },
      { manager: true, pageSize: 1 },
    ]) {
      const { whole, settledPlan } = plans(opts);
      expect(settledPlan, JSON.stringify(opts)).toEqual(whole);
    }
  });

  it('built a slice of people at a time, pausing between slices, settle the same people as built at once', async () => {
    const { users, actual, links } = cycle();
    const input = { snapshot: snap(users, ['K3']), mapping, inScope: compileScope([{ department: { in: ['eng', 'sales'] } }]), links, settings, keepAccounts: false };
    const once = new AccountSettler(input);
    let pauses = 0;
    const sliced = await AccountSettler.built(input, async () => void pauses++, 4);
    once.add(actual);
    sliced.add(actual);
    expect(pauses).toBe(Math.ceil(users.length / 4));
    expect(once.settled.size).toBeGreaterThan(10);
    expect([...sliced.settled.keys()].sort()).toEqual([...once.settled.keys()].sort());
    expect(sliced.accounts).toEqual(once.accounts);
    // Ids two links name stay unsettled across slices: a27 (K27 and K28, in slices apart), a0 (K0, and K40 gone).
    expect(sliced.settled.has('K27')).toBe(false);
    expect(sliced.settled.has('K0')).toBe(false);
    expect(sliced.settled.has('K1')).toBe(true);
  });

  it('settle nobody when the mapping picks unique values (they are read off every account)', () => {
    const unique = compileUserMapping({ userName: '=SelectUniqueValue("{userName}", "x{userName}")' }, attributes);
    const { whole, settledPlan, settler } = plans({ mapping: unique });
    expect(settler.settled.size).toBe(0);
    expect(settledPlan).toEqual(whole);
  });
});

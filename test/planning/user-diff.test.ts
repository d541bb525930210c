import { describe, expect, it } from 'vitest';
import { compileScope } from '../../src/mapping/scope.js';
import { buildUserResource, compileUserMapping, mapUser } from '../../src/mapping/user-mapping.js';
import type { CanonicalUser, DirectorySnapshot } from '../../src/model/canonical.js';
import type { ServerResource } from '../../src/model/scim.js';
import { diffUsers } from '../../src/planning/user-diff.js';
import type { TargetSettings } from '../../src/planning/target-settings.js';
import type { Link } from '../../src/state/link-store.js';

const settings: TargetSettings = { operations: { create: true, update: true, deactivate: true }, deprovision: 'deactivate', adopt: 'none', updateMethod: 'patch' };
const u = (n: number, over: Partial<CanonicalUser> = {}): CanonicalUser => ({
  key: `K${n}`,
  active: true,
  attributes: { userName: `u${n}@x.com`, givenName: `G${n}`, familyName: `F${n}`, department: n % 2 ? 'Eng' : 'Sales' },
  ref: { location: 'people.csv', line: n + 1 },
  ...over,
});
const mapping = compileUserMapping({}, new Set(['userName', 'givenName', 'familyName', 'department']));
const account = (user: CanonicalUser, id: string, over: Record<string, unknown> = {}) =>
  ({ ...buildUserResource(mapping, mapUser(mapping, user), true), id, ...over }) as unknown as ServerResource;
const snap = (users: CanonicalUser[], heldKeys: string[] = []): DirectorySnapshot => ({ source: 't', users, groups: [], issues: [], heldKeys, recordsRead: users.length });

function plan(users: CanonicalUser[], actual: ServerResource[], links: [string, string][], opts: { held?: string[]; scope?: Parameters<typeof compileScope>[0]; settings?: Partial<TargetSettings> } = {}) {
  return diffUsers({
    snapshot: snap(users, opts.held),
    mapping,
    inScope: compileScope(opts.scope),
    actual,
    links: new Map(links.map(([k, id]): [string, Link] => [k, { id, hash: 'h' }])),
    settings: { ...settings, ...opts.settings },
  });
}

describe('user diff', () => {
  it('holds people whose rows were rejected: no update, no deprovision', () => {
    const r = plan([u(1, { attributes: { userName: 'u1@x.com', givenName: 'Changed' } })], [account(u(1), 'a1'), account(u(2), 'a2')], [['K1', 'a1'], ['K2', 'a2']], { held: ['K1', 'K2'] });
    expect(r.users).toEqual([]);
    expect(r.deprovision).toEqual([]);
  });

  it('deprovisions out-of-scope and inactive people with their reason, and leaves deactivated accounts alone', () => {
    const users = [u(1), u(2), u(3, { active: false }), u(5, { active: false })];
    const actual = [account(u(1), 'a1'), account(u(2), 'a2'), account(u(3), 'a3'), account(u(5), 'a5', { active: false })];
    const r = plan(users, actual, [['K1', 'a1'], ['K2', 'a2'], ['K3', 'a3'], ['K5', 'a5']], { scope: [{ department: { eq: 'eng' } }] });
    expect(r.deprovision.map((o) => [o.externalId, o.kind === 'deprovisionUser' && o.reason])).toEqual([
      ['K2', 'out-of-scope'],
      ['K3', 'inactive'],
    ]);
    expect(r.managedUsers).toBe(4);
  });

  it('deactivates a linked leaver even when a faulty listing hides the account', () => {
    const r = plan([u(1)], [account(u(1), 'a1')], [['K1', 'a1'], ['K9', 'a9']]);
    expect(r.deprovision).toEqual([expect.objectContaining({ kind: 'deprovisionUser', externalId: 'K9', scimId: 'a9', reason: 'removed' })]);
  });

  it('relinks an account carrying our externalId when the link store forgot it', () => {
    const r = plan([u(1)], [account(u(1), 'a1')], []);
    expect(r.users).toEqual([expect.objectContaining({ kind: 'linkUser', externalId: 'K1', scimId: 'a1' })]);
  });

  it('reactivates a returning person with active=true in the same PATCH', () => {
    const r = plan([u(1)], [account(u(1), 'a1', { active: false })], [['K1', 'a1']]);
    expect(r.users).toEqual([expect.objectContaining({ kind: 'updateUser', patch: [{ op: 'replace', path: 'active', value: true }] })]);
  });

  it('warns instead of creating over an unmanaged account, and adopts by email when told', () => {
    const stranger = { schemas: [], id: 's1', userName: 'U1@X.COM', emails: [{ value: 'u1@x.com', type: 'work' }] } as unknown as ServerResource;
    const r = plan([u(1)], [stranger], []);
    expect(r.users).toEqual([]);
    expect(r.warnings[0]).toContain('"u1@x.com" (K1) belongs to an account scim-sync does not manage (id s1)');
    const mapped = compileUserMapping({ 'emails[type eq "work"].value': '{userName}' }, new Set(['userName']));
    const adopted = diffUsers({ snapshot: snap([u(1)]), mapping: mapped, inScope: compileScope(undefined), actual: [stranger], links: new Map(), settings: { ...settings, adopt: 'email' } });
    expect(adopted.users).toEqual([expect.objectContaining({ kind: 'updateUser', adopt: true, scimId: 's1' })]);
  });

  it('never takes an account keyed to someone else', () => {
    const foreign = account(u(1), 'f1', { externalId: 'other-tool-42' });
    const r = plan([u(1)], [foreign], [], { settings: { adopt: 'userName' } });
    expect(r.users).toEqual([]);
    expect(r.warnings).toHaveLength(1);
  });

  it('userName and email differing only in case are no change (servers store them canonicalised); other text is', () => {
    const mapped = compileUserMapping({ 'emails[type eq "work"].value': '{userName}' }, new Set(['userName', 'givenName', 'familyName']));
    const person = u(1, { attributes: { userName: 'Ada.L@X.com', givenName: 'Ada', familyName: 'L' } });
    const built = { ...buildUserResource(mapped, mapUser(mapped, person), true), id: 'a1' } as unknown as ServerResource;
    const lowered = { ...built, userName: 'ada.l@x.com', emails: [{ value: 'ada.l@x.com', type: 'work', primary: true }] } as unknown as ServerResource;
    const diff = (actual: ServerResource) =>
      diffUsers({ snapshot: snap([person]), mapping: mapped, inScope: compileScope(undefined), actual: [actual], links: new Map([['K1', { id: 'a1', hash: 'h' }]]), settings });
    expect(diff(lowered).users).toEqual([]);
    const renamed = { ...lowered, name: { givenName: 'ADA', familyName: 'L' } } as unknown as ServerResource;
    expect(diff(renamed).users).toEqual([expect.objectContaining({ kind: 'updateUser', changes: [{ path: 'name.givenName', from: 'ADA', to: 'Ada' }] })]);
  });

  it('carries the account version into updates and deprovisions when the target supports ETags', () => {
    const versioned = account(u(1), 'a1', { meta: { version: 'W/"7"' }, title: 'stale' });
    const gone = account(u(2), 'a2', { meta: { version: 'W/"3"' } });
    const withEtags = plan([u(1, { attributes: { userName: 'u1@x.com', givenName: 'New', familyName: 'F1' } })], [versioned, gone], [['K1', 'a1'], ['K2', 'a2']], { settings: { useEtags: true } });
    expect(withEtags.users[0]).toMatchObject({ kind: 'updateUser', version: 'W/"7"' });
    expect(withEtags.deprovision[0]).toMatchObject({ kind: 'deprovisionUser', version: 'W/"3"' });
    const without = plan([u(1, { attributes: { userName: 'u1@x.com', givenName: 'New', familyName: 'F1' } })], [versioned], [['K1', 'a1']]);
    expect(without.users[0]).not.toHaveProperty('version');
  });
});

describe('user diff: emergency holds', () => {
  it('deactivates a held-off person as out of scope, and never re-activates them', () => {
    const r = plan([u(1), u(3)], [account(u(1), 'a1'), account(u(3), 'a3', { active: false })], [['K1', 'a1'], ['K3', 'a3']], {});
    expect(r.users.map((o) => o.kind)).toEqual(['updateUser']);
    const held = diffUsers({
      snapshot: snap([u(1), u(3)]),
      mapping,
      inScope: compileScope(undefined),
      actual: [account(u(1), 'a1'), account(u(3), 'a3', { active: false })],
      links: new Map([['K1', { id: 'a1', hash: 'h' }], ['K3', { id: 'a3', hash: 'h' }]]),
      settings,
      heldOff: new Set(['K1', 'K3']),
    });
    expect(held.users).toEqual([]);
    expect(held.deprovision).toMatchObject([{ kind: 'deprovisionUser', externalId: 'K1', scimId: 'a1', reason: 'held-off' }]);
  });
});

describe('user diff: one person whose rule fails', () => {
  // A rule that throws for one person (a bug, or a value no function expected), as FormatDateTime
  // with a zone did for a unix time no Date holds ("RangeError: Invalid time value").
  const failing = {
    ...mapping,
    rules: mapping.rules.map((rule) =>
      rule.path.key !== 'name.givenName'
        ? rule
        : {
            ...rule,
            value: {
              ...rule.value,
              evaluate: (a: Readonly<Record<string, unknown>>) => {
                if (a['department'] === 'Boom') throw new RangeError('Invalid time value');
                return rule.value.evaluate(a as never);
              },
            },
          },
    ),
  };
  const boom = (n: number, over: Partial<CanonicalUser> = {}) => u(n, { attributes: { ...u(n).attributes, department: 'Boom', givenName: 'Changed' }, ...over });

  it('holds that person alone, with a warning naming them, the rule and the error; everyone else is planned', () => {
    const users = [u(1), boom(2), u(3), boom(4), boom(5, { active: false })];
    const actual = [account(u(4), 'a4'), account(u(5), 'a5')];
    const r = diffUsers({
      snapshot: snap(users),
      mapping: failing,
      inScope: compileScope(undefined),
      actual,
      links: new Map([['K4', { id: 'a4', hash: 'h' }], ['K5', { id: 'a5', hash: 'h' }]]),
      settings,
    });
    expect(r.users.map((o) => [o.kind, o.externalId])).toEqual([
      ['createUser', 'K1'],
      ['createUser', 'K3'],
    ]);
    // A leaver is deactivated all the same: that needs no mapped value.
    expect(r.deprovision).toMatchObject([{ kind: 'deprovisionUser', externalId: 'K5', scimId: 'a5', reason: 'inactive', label: 'u5@x.com' }]);
    expect([...r.heldKeys]).toEqual(['K2', 'K4']);
    expect([...r.heldIds]).toEqual(['a4']);
    expect(r.warnings).toEqual([
      'people.csv:3: K2 is held: name.givenName could not be computed: Invalid time value; neither created, updated nor deprovisioned this run',
      'people.csv:5: K4 is held: name.givenName could not be computed: Invalid time value; neither created, updated nor deprovisioned this run',
    ]);
  });
});

describe('user diff: a scope verdict that is unknown', () => {
  it('holds the person: an active account is not deactivated, a new person is not created; the clear verdicts are planned', () => {
    const scope = compileScope(['DateDiff("d", "2026-01-01", Coalesce(endDate, "2999-12-31")) >= 0']);
    const withEnd = (n: number, endDate: string) => u(n, { attributes: { ...u(n).attributes, endDate } });
    const users = [withEnd(1, '31.12.2027'), withEnd(2, '2028-02-30'), u(3), withEnd(4, '2020-01-01')];
    const actual = [account(u(1), 'a1'), account(u(4), 'a4')];
    const r = diffUsers({
      snapshot: snap(users),
      mapping,
      inScope: scope,
      actual,
      links: new Map([['K1', { id: 'a1', hash: 'h' }], ['K4', { id: 'a4', hash: 'h' }]]),
      settings,
    });
    expect(r.users.map((o) => [o.kind, o.externalId])).toEqual([['createUser', 'K3']]);
    expect(r.deprovision.map((o) => [o.externalId, o.kind === 'deprovisionUser' && o.reason])).toEqual([['K4', 'out-of-scope']]);
    expect([...r.heldKeys]).toEqual(['K1', 'K2']);
    expect([...r.heldIds]).toEqual(['a1']);
    expect(r.warnings).toEqual([
      `people.csv:2: K1 is held: scope[0] 'DateDiff("d", "2026-01-01", Coalesce(endDate, "2999-12-31")) >= 0' could not read endDate "31.12.2027" as an ISO date (yyyy-MM-dd); neither created, updated nor deprovisioned this run`,
      `people.csv:3: K2 is held: scope[0] 'DateDiff("d", "2026-01-01", Coalesce(endDate, "2999-12-31")) >= 0' could not read endDate "2028-02-30" as an ISO date (yyyy-MM-dd); neither created, updated nor deprovisioned this run`,
    ]);
  });
});

/**
 * Matching rules per target (issue #16): the attributes that find an account when no link does, in
 * order; adoption only by the ones configured; a value two accounts share is reported and neither
 * is touched.
 */
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { compileScope } from '../../src/mapping/scope.js';
import { compileUserMapping } from '../../src/mapping/user-mapping.js';
import type { CanonicalUser } from '../../src/model/canonical.js';
import type { ServerResource } from '../../src/model/scim.js';
import { diffUsers } from '../../src/planning/user-diff.js';
import type { TargetSettings } from '../../src/planning/target-settings.js';
import type { Link } from '../../src/state/link-store.js';

const mapping = compileUserMapping(
  { 'enterprise:employeeNumber': '{employeeNumber}' },
  new Set(['userName', 'givenName', 'familyName', 'email', 'employeeNumber']),
);
const base: TargetSettings = { operations: { create: true, update: true, deactivate: true }, deprovision: 'deactivate', adopt: 'none', updateMethod: 'patch' };
const ann: CanonicalUser = {
  key: 'K1',
  active: true,
  attributes: { userName: 'ann@corp.example', givenName: 'Ann', familyName: 'Lee', email: 'ann.lee@corp.example', employeeNumber: '1001' },
  ref: { location: 'people.csv', line: 2 },
};
const account = (id: string, over: Record<string, unknown>) => ({ schemas: [], id, active: true, ...over }) as unknown as ServerResource;

function plan(actual: ServerResource[], settings: Partial<TargetSettings>, options: { links?: [string, string][]; people?: CanonicalUser[]; scope?: Parameters<typeof compileScope>[0] } = {}) {
  const people = options.people ?? [ann];
  return diffUsers({
    snapshot: { source: 't', users: people, groups: [], issues: [], heldKeys: [], recordsRead: people.length },
    mapping,
    inScope: compileScope(options.scope),
    actual,
    links: new Map((options.links ?? []).map(([k, id]): [string, Link] => [k, { id, hash: 'h' }])),
    settings: { ...base, ...settings },
  });
}

const WORK = 'emails[type eq "work"].value';

describe('matching rules', () => {
  it('tries the attributes in order and adopts by one configured to adopt', () => {
    const byMail = account('m1', { userName: 'someone-else', emails: [{ type: 'work', value: 'ANN.LEE@corp.example' }] });
    const r = plan([byMail], { match: { on: ['userName', WORK], adopt: [WORK] } });
    expect(r.users).toEqual([expect.objectContaining({ kind: 'updateUser', scimId: 'm1', adopt: true, matchedBy: 'email' })]);
    expect(r.warnings).toEqual([]);
  });

  it('stops at the first attribute that finds an account: one it may not adopt is reported, later attributes are not tried', () => {
    const byName = account('n1', { userName: 'ann@corp.example' });
    const byMail = account('m1', { emails: [{ type: 'work', value: 'ann.lee@corp.example' }] });
    const r = plan([byName, byMail], { match: { on: ['userName', WORK], adopt: [WORK] } });
    expect(r.users).toEqual([]);
    expect(r.warnings).toEqual([
      'userName "ann@corp.example" (K1) belongs to an account scim-sync does not manage (id n1); left alone. Add userName to match.adopt on this target to take it over.',
    ]);
  });

  it('adopts by any mapped attribute, and says which in the operation', () => {
    const r = plan([account('e1', { userName: 'a.lee', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { employeeNumber: '1001' } })], {
      match: { on: ['enterprise:employeeNumber'], adopt: ['enterprise:employeeNumber'] },
    });
    expect(r.users).toEqual([
      expect.objectContaining({ kind: 'updateUser', scimId: 'e1', adopt: true, matchedBy: 'attribute', matchedOn: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber' }),
    ]);
  });

  it('reports a value two accounts share, and touches neither, nor creates the person', () => {
    const twins = [account('t1', { userName: 'Ann@corp.example' }), account('t2', { userName: 'ann@corp.example' })];
    const r = plan(twins, { match: { on: ['userName'], adopt: ['userName'] } });
    expect(r.users).toEqual([]);
    expect(r.deprovision).toEqual([]);
    expect(r.warnings).toEqual(['userName "ann@corp.example" (K1) matches 2 accounts (ids t1, t2): neither is touched, and nobody is created']);
  });

  it('two accounts carrying a person\'s externalId are reported and kept as they are while the person is in scope', () => {
    const twins = [account('x1', { userName: 'ann@corp.example', externalId: 'K1' }), account('x2', { userName: 'ann2@corp.example', externalId: 'K1' })];
    const r = plan(twins, {});
    expect(r.users).toEqual([]);
    expect(r.deprovision).toEqual([]);
    expect(r.heldIds).toEqual(new Set(['x1', 'x2']));
    expect(r.managedUsers).toBe(2);
    expect(r.warnings).toEqual(['externalId "K1" is carried by 2 accounts (ids x1, x2): neither is touched; remove the duplicate in the target']);
  });

  it('a person who leaves scope or goes inactive has every account carrying their key deprovisioned, linked or not', () => {
    const twins = [account('x1', { userName: 'ann@corp.example', externalId: 'K1' }), account('x2', { userName: 'ann2@corp.example', externalId: 'K1' })];
    const out = [{ department: { eq: 'nobody' } }];
    const cases: [[string, string][], { scope?: typeof out; people?: CanonicalUser[] }][] = [
      [[], { scope: out }],
      [[['K1', 'x2']], { scope: out }],
      [[['K1', 'x2']], { people: [{ ...ann, active: false }] }],
    ];
    for (const [links, options] of cases) {
      const r = plan(twins, {}, { ...options, links });
      expect(r.users).toEqual([]);
      expect(r.deprovision.map((op) => [op.kind, op.externalId, 'scimId' in op ? op.scimId : null, op.label])).toEqual(
        links.length === 0
          ? [['deprovisionUser', 'K1', 'x1', 'ann@corp.example'], ['deprovisionUser', 'K1', 'x2', 'ann2@corp.example']]
          : [['deprovisionUser', 'K1', 'x2', 'ann@corp.example'], ['deprovisionUser', 'K1', 'x1', 'ann@corp.example']],
      );
      expect(r.managedUsers).toBe(2);
      expect(r.warnings).toEqual([]);
    }
  });

  it('an account carrying a linked person\'s key besides the linked one is reported on every plan, counted as managed, and not updated', () => {
    const linked = account('x2', { userName: 'ann@corp.example', externalId: 'K1', name: { givenName: 'Ann', familyName: 'Lee' }, emails: [{ type: 'work', value: 'ann.lee@corp.example', primary: true }] });
    const admin = account('x1', { userName: 'ann.admin@corp.example', externalId: 'K1', title: 'Admin' });
    const r = plan([admin, linked], {}, { links: [['K1', 'x2']] });
    expect(r.users.flatMap((op) => (op.kind === 'updateUser' ? [op.scimId] : []))).not.toContain('x1');
    expect(r.deprovision).toEqual([]);
    expect(r.managedUsers).toBe(2);
    expect(r.warnings).toEqual([
      'externalId "K1" is carried by 1 other account besides its linked one (id x2): ann.admin@corp.example (id x1); ' +
        "scim-sync's by that key: not updated, and deprovisioned when K1 leaves the source or this target's scope. " +
        'Delete it in the target, or clear the externalId of an account kept on purpose',
    ]);
  });

  it('a linked leaver gone from the source has the other accounts carrying their key deprovisioned too, never one managed for someone else', () => {
    const bo: CanonicalUser = { ...ann, key: 'K2', attributes: { ...ann.attributes, userName: 'bo@corp.example' } };
    const ann1 = account('a1', { userName: 'ann@corp.example', externalId: 'K1' });
    const annAdmin = account('a2', { userName: 'ann.admin@corp.example', externalId: 'K1' });
    // Bo's account carries Ann's key by mistake; Bo's link names it: Bo's, not Ann's.
    const boAccount = account('b1', { userName: 'bo@corp.example', externalId: 'K1' });
    const r = plan([ann1, annAdmin, boAccount], {}, { people: [bo], links: [['K1', 'a1'], ['K2', 'b1']] });
    expect(r.deprovision.flatMap((op) => (op.kind === 'deprovisionUser' ? [[op.scimId, op.externalId, op.reason, op.matchedBy]] : []))).toEqual([
      ['a1', 'K1', 'removed', 'link'],
      ['a2', 'K1', 'removed', 'externalId'],
    ]);
  });

  it('never adopts an account that carries an externalId or is linked to someone else', () => {
    const foreign = account('f1', { userName: 'ann@corp.example', externalId: 'other-tool-7' });
    expect(plan([foreign], { adopt: 'userName' }).warnings).toEqual([
      'userName "ann@corp.example" (K1) belongs to an account keyed to another identity (id f1, externalId "other-tool-7"); left alone',
    ]);
    const bo: CanonicalUser = { ...ann, key: 'K2', attributes: { ...ann.attributes, userName: 'bo@corp.example' } };
    // Ann's userName is on the account linked to Bo (later in the source): not Ann's to take.
    const linked = account('b1', { userName: 'ann@corp.example' });
    const r = plan([linked], { adopt: 'userName' }, { people: [ann, bo], links: [['K2', 'b1']] });
    expect(r.users.filter((o) => o.externalId === 'K1')).toEqual([]);
    expect(r.warnings).toEqual(['userName "ann@corp.example" (K1) is held by an account scim-sync manages for another person (id b1); left alone']);
  });

  it('without match, adopt keeps its meaning, and a create may adopt on a conflict by the adopting attribute', () => {
    const stranger = account('s1', { userName: 'ann@corp.example' });
    expect(plan([stranger], {}).warnings[0]).toContain('left alone. Set adopt: userName on this target to take it over.');
    expect(plan([stranger], { adopt: 'userName' }).users).toEqual([expect.objectContaining({ kind: 'updateUser', adopt: true, matchedBy: 'userName' })]);
    const creates = (s: Partial<TargetSettings>) => plan([], s).users.map((o) => o.kind === 'createUser' && o.adoptBy);
    expect(creates({})).toEqual([null]);
    expect(creates({ adopt: 'email' })).toEqual(['email']);
    expect(creates({ match: { on: [WORK, 'userName'], adopt: ['userName', WORK] } })).toEqual(['userName']);
  });
});

describe('matching rules in the config', () => {
  const problems = (match: string, adopt = '') => {
    try {
      parseConfig(
        `source: { type: csv, path: p.csv, key: id }\ntargets:\n  app:\n    url: https://app.example/scim/v2\n    auth: { type: none }\n    match: ${match}\n${adopt}`,
        join(tmpdir(), 'org.yaml'),
      );
      return [];
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
  };

  it('accepts ordered attributes and an adopting subset', () => {
    expect(problems(`{ on: [externalId, userName, 'emails[type eq "work"].value'], adopt: ['emails[type eq "work"].value'] }`)).toEqual([]);
  });

  it('refuses adoption by an attribute that does not match, externalId anywhere but first, a path it cannot read, and adopt beside match', () => {
    expect(problems('{ on: [userName], adopt: [enterprise:employeeNumber] }').join('\n')).toContain('targets.app.match.adopt[0] (line 6): enterprise:employeeNumber is not in match.on');
    expect(problems('{ on: [userName], adopt: [enterprise:employeeNumber] }').join('\n')).toContain('enterprise:employeeNumber is not in match.on');
    expect(problems('{ on: [userName, externalId] }').join('\n')).toContain("externalId is scim-sync's own key and is always tried first");
    expect(problems("{ on: ['emails[primary eq true].value'] }").join('\n')).toContain('is not an attribute path this engine understands');
    expect(problems('{ on: [userName], adopt: [externalId] }').join('\n')).toContain("an account carrying a person's externalId is already theirs");
    expect(problems('{ on: [userName] }', '    adopt: userName\n').join('\n')).toContain('adopt and match both say what may be adopted');
  });
});

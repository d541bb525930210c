/**
 * A partial person (DirectorySnapshot.partialKeys) through the user diff: every kind of value a
 * missing secondary may lend is kept, by PATCH and by PUT, and the primary's values still reach
 * the account. Real mapping and diff code, no network (test/e2e/joined-partial*.test.ts do the
 * same against the sandbox).
 */
import { describe, expect, it } from 'vitest';
import { compileScope } from '../../src/mapping/scope.js';
import { buildUserResource, compileUserMapping, mapUser } from '../../src/mapping/user-mapping.js';
import type { CanonicalUser } from '../../src/model/canonical.js';
import type { UpdateUserOp } from '../../src/model/plan.js';
import type { JsonObject, ServerResource } from '../../src/model/scim.js';
import { diffUsers } from '../../src/planning/user-diff.js';
import type { TargetSettings } from '../../src/planning/target-settings.js';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const mapping = compileUserMapping(
  { 'emails[type eq "home"].value': '{homeEmail}' },
  new Set(['userName', 'email', 'homeEmail', 'title', 'country', 'city', 'phone', 'costCenter', 'level', 'jobRole']),
  { roles: [{ value: '{level}', type: 'level' }, { value: '{jobRole}', type: 'job' }] },
);
// What both sources gave at the last sync; `jobRole`, `homeEmail`, `city`, `phone`, `costCenter` are the secondary's.
const whole = { userName: 'cy@x.com', email: 'cy@x.com', homeEmail: 'cy@home.x', title: 'Clerk', country: 'US', city: 'Boston', phone: '+1 3', costCenter: 'CC3', level: 'L3', jobRole: 'buyer' };
const person = (attributes: Record<string, string>): CanonicalUser => ({ key: 'J3', active: true, attributes, ref: { location: 'hr.csv', line: 4 } });
const account = { ...buildUserResource(mapping, mapUser(mapping, person(whole)), true), id: 'a3' } as unknown as ServerResource;
// The secondary has no record of J3 now, and the primary changed the title, the work email and the country.
const primaryOnly = person({ userName: 'cy@x.com', email: 'cy.dee@x.com', title: 'Senior Clerk', country: 'CA', level: 'L3' });

function update(user: CanonicalUser, partial: boolean, updateMethod: TargetSettings['updateMethod']): UpdateUserOp {
  const r = diffUsers({
    snapshot: { source: 't', users: [user], groups: [], issues: [], heldKeys: [], ...(partial ? { partialKeys: [user.key] } : {}), recordsRead: 1 },
    mapping,
    inScope: compileScope(undefined),
    actual: [account],
    links: new Map([['J3', { id: 'a3', hash: 'h' }]]),
    settings: { operations: { create: true, update: true, deactivate: true }, deprovision: 'deactivate', adopt: 'none', updateMethod },
  });
  expect(r.users).toHaveLength(1);
  return r.users[0] as UpdateUserOp;
}

const entries = (body: JsonObject, attribute: string) => body[attribute] as JsonObject[];

describe('a partial person\'s update', () => {
  it('PATCH: the typed entries rewritten whole keep the lent ones, and no lent value is removed', () => {
    const op = update(primaryOnly, true, 'patch');
    expect(op.changes.map((c) => c.path).sort()).toEqual(['addresses[type eq "work"].country', 'emails[type eq "work"].value', 'title']);
    expect(op.patch!.filter((o) => o.op === 'remove')).toEqual([]);
    const emails = op.patch!.find((o) => o.path === 'emails')!.value as JsonObject[];
    expect(emails).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'work', value: 'cy.dee@x.com' }), expect.objectContaining({ type: 'home', value: 'cy@home.x' })]));
    expect(op.patch!.find((o) => o.path === 'addresses')!.value).toEqual([expect.objectContaining({ type: 'work', country: 'CA', locality: 'Boston' })]);
  });

  it('PUT: the body keeps every lent value, roles included', () => {
    const body = update(primaryOnly, true, 'put').resource!;
    expect(body['title']).toBe('Senior Clerk');
    expect(entries(body, 'phoneNumbers')).toEqual([expect.objectContaining({ type: 'work', value: '+1 3' })]);
    expect(body[ENTERPRISE]).toMatchObject({ costCenter: 'CC3' });
    expect(entries(body, 'roles').map((r) => `${String(r['type'])}:${String(r['value'])}`).sort()).toEqual(['job:buyer', 'level:L3']);
  });

  it('a role set keeps the account\'s values and takes the primary\'s new one', () => {
    const op = update(person({ ...primaryOnly.attributes, level: 'L4' }), true, 'patch');
    expect(op.changes.find((c) => c.path === 'roles')).toEqual({ path: 'roles', from: ['L3', 'buyer'], to: ['L3', 'L4', 'buyer'] });
  });

  it('someone not partial has the same values cleared', () => {
    const op = update(primaryOnly, false, 'patch');
    expect(op.patch!.filter((o) => o.op === 'remove').map((o) => o.path).sort()).toEqual(['phoneNumbers', `${ENTERPRISE}:costCenter`]);
    expect(op.changes.find((c) => c.path === 'roles')).toEqual({ path: 'roles', from: ['L3', 'buyer'], to: ['L3'] });
  });
});

/**
 * Rejected deprovisions as a table: dropped while the person's source record is what it was when
 * the set was staged, planned again once it differs; other operations never touched.
 */
import { describe, expect, it } from 'vitest';
import type { CanonicalUser } from '../../src/model/canonical.js';
import type { DeprovisionUserOp, Operation } from '../../src/model/plan.js';
import { personDigest } from '../../src/planning/preconditions.js';
import { dropRejected } from '../../src/planning/rejections.js';

const user = (key: string, title: string, active = true): CanonicalUser => ({ key, active, attributes: { title }, ref: { location: 'people.csv', line: 1 } });
const deprovision = (key: string): DeprovisionUserOp => ({ id: `d-${key}`, kind: 'deprovisionUser', externalId: key, label: `${key}@example.com`, scimId: `s-${key}`, mode: 'deactivate', reason: 'removed' });
const update: Operation = { id: 'u-1', kind: 'updateUser', externalId: 'A', label: 'a', scimId: 's-A', changes: [], hash: 'h', recreate: {} };

describe('dropRejected', () => {
  const inactiveB = user('B', 'Engineer', false);
  const cases: { name: string; users: CanonicalUser[]; rejected: [string, string | null][]; dropped: string[] }[] = [
    { name: 'gone from the source, still gone: dropped', users: [], rejected: [['A', null]], dropped: ['A'] },
    { name: 'gone when rejected, back now: planned', users: [user('A', 'Engineer', false)], rejected: [['A', null]], dropped: [] },
    { name: 'inactive, record unchanged: dropped', users: [inactiveB], rejected: [['B', personDigest(inactiveB)]], dropped: ['B'] },
    { name: 'inactive, record changed since: planned', users: [user('B', 'Lead', false)], rejected: [['B', personDigest(inactiveB)]], dropped: [] },
    { name: 'not rejected: planned', users: [], rejected: [['Z', null]], dropped: [] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const ops = [update, deprovision(c.users[0]?.key ?? 'A'), deprovision('C')];
      const users = new Map(c.users.map((u) => [u.key, u]));
      const result = dropRejected(ops, users, new Map(c.rejected.map(([key, digest]) => [key, { digest, stagedId: 'st-0000abcd' }])));
      expect(result.dropped.map((op) => op.externalId)).toEqual(c.dropped);
      expect(result.kept).toEqual(ops.filter((op) => !c.dropped.includes(op.externalId) || op.kind !== 'deprovisionUser'));
      if (c.dropped.length > 0) expect(result.note).toBe(`1 deprovision not planned: rejected (scim-sync reject st-0000abcd) and the source record is unchanged since: ${c.dropped[0]}@example.com (${c.dropped[0]})`);
      else expect(result.note).toBeUndefined();
    });
  }
});

/**
 * The manager reference diff as a table: who points at whom in the source, who is provisioned in
 * the target with which reference, and the exact operations and warnings planned.
 */
import { describe, expect, it } from 'vitest';
import type { CanonicalUser } from '../../src/model/canonical.js';
import { SCHEMA_ENTERPRISE_USER, SCHEMA_USER, type ServerResource } from '../../src/model/scim.js';
import { diffManagers } from '../../src/planning/manager-diff.js';
import type { Provisioned } from '../../src/planning/user-diff.js';

const person = (key: string, managerKey?: string | null): CanonicalUser => ({
  key,
  active: true,
  attributes: { userName: `${key.toLowerCase()}@x.com` },
  ...(managerKey !== undefined ? { managerKey } : {}),
  ref: { location: 'people.csv' },
});
/** An account as listed, with the manager reference it has now (undefined: none). */
const account = (id: string, manager?: string): ServerResource => ({
  schemas: [SCHEMA_USER],
  id,
  ...(manager !== undefined ? { [SCHEMA_ENTERPRISE_USER]: { manager: { value: manager } } } : {}),
});

interface Case {
  name: string;
  users: CanonicalUser[];
  /** Key -> account (null: created in this run). Absent keys are not provisioned in the target. */
  provisioned: Record<string, ServerResource | null>;
  /** Keys whose reference stays as it is although not provisioned (held by the source). */
  keep?: string[];
  /** [externalId, scimId, managerKey, managerLabel, from] per operation. */
  want: [string, string | undefined, string | null, string | null, string?][];
  warnings?: string[];
}

const cases: Case[] = [
  {
    name: 'a manager set in the source and not in the target: set, named by key',
    users: [person('B', 'A'), person('A')],
    provisioned: { A: account('a'), B: account('b') },
    want: [['B', 'b', 'A', 'a@x.com']],
  },
  {
    name: 'a reference already right: nothing',
    users: [person('B', 'A'), person('A')],
    provisioned: { A: account('a'), B: account('b', 'a') },
    want: [],
  },
  {
    name: 'a reference to the wrong account: set again',
    users: [person('B', 'A'), person('A')],
    provisioned: { A: account('a'), B: account('b', 'zz') },
    want: [['B', 'b', 'A', 'a@x.com', 'zz']],
  },
  {
    name: 'a reference to someone else in the target: set again, naming whom it pointed at',
    users: [person('B', 'A'), person('A'), person('C')],
    provisioned: { A: account('a'), B: account('b', 'c'), C: account('c') },
    want: [['B', 'b', 'A', 'a@x.com', 'c@x.com']],
  },
  {
    name: 'both created in this run: set, ids resolved when it runs',
    users: [person('B', 'A'), person('A')],
    provisioned: { A: null, B: null },
    want: [['B', undefined, 'A', 'a@x.com']],
  },
  {
    name: 'the source clears the manager: the reference is cleared',
    users: [person('B', null)],
    provisioned: { B: account('b', 'a') },
    want: [['B', 'b', null, null, 'a']],
  },
  {
    name: 'cleared in both: nothing',
    users: [person('B', null)],
    provisioned: { B: account('b') },
    want: [],
  },
  {
    name: 'a source without a manager column leaves the reference alone',
    users: [person('B')],
    provisioned: { B: account('b', 'a') },
    want: [],
  },
  {
    name: 'a manager not provisioned in this target: the reference is cleared, with a warning',
    users: [person('B', 'A')],
    provisioned: { B: account('b', 'a') },
    want: [['B', 'b', null, null, 'a']],
    warnings: ['manager A of b@x.com (B) is not provisioned in this target; manager left empty'],
  },
  {
    name: 'a manager not provisioned and absent from the target already: only the warning',
    users: [person('B', 'A')],
    provisioned: { B: account('b') },
    want: [],
    warnings: ['manager A of b@x.com (B) is not provisioned in this target; manager left empty'],
  },
  {
    name: 'a held manager: the reference stays as it is, no warning',
    users: [person('B', 'A')],
    provisioned: { B: account('b', 'a') },
    keep: ['A'],
    want: [],
  },
  {
    name: 'someone not provisioned in the target is not touched',
    users: [person('B', 'A'), person('A')],
    provisioned: { A: account('a') },
    want: [],
  },
  {
    name: 'someone named as their own manager: left empty (cleared), with a warning; a loop of two is set, with a warning naming it',
    users: [person('P1', 'P1'), person('P2', 'P3'), person('P3', 'P2'), person('P4', 'P2'), person('P5', 'P5')],
    provisioned: { P1: account('u1', 'u4'), P2: account('u2'), P3: account('u3'), P4: account('u4'), P5: account('u5') },
    want: [
      ['P1', 'u1', null, null, 'p4@x.com'],
      ['P2', 'u2', 'P3', 'p3@x.com'],
      ['P3', 'u3', 'P2', 'p2@x.com'],
      ['P4', 'u4', 'P2', 'p2@x.com'],
    ],
    warnings: [
      'manager loop: p2@x.com (P2) -> p3@x.com (P3) -> p2@x.com (P2); set as the source says',
      'p1@x.com (P1) is named as their own manager; manager left empty',
      'p5@x.com (P5) is named as their own manager; manager left empty',
    ],
  },
  {
    name: 'a loop of three is named once; a loop through someone this target does not get is not its warning',
    users: [person('A', 'C'), person('B', 'A'), person('C', 'B'), person('X', 'Y'), person('Y', 'X')],
    provisioned: { A: account('a', 'c'), B: account('b', 'a'), C: account('c', 'b'), X: account('x') },
    want: [],
    warnings: ['manager loop: a@x.com (A) -> c@x.com (C) -> b@x.com (B) -> a@x.com (A); set as the source says', 'manager Y of x@x.com (X) is not provisioned in this target; manager left empty'],
  },
];

describe('manager diff', () => {
  it.each(cases)('$name', (c) => {
    const provisioned = new Map<string, Provisioned>(
      Object.entries(c.provisioned).map(([key, acc]) => [key, { account: acc, label: `${key.toLowerCase()}@x.com` }]),
    );
    const keep = new Set(c.keep ?? []);
    const r = diffManagers(c.users, provisioned, (k) => keep.has(k), 'p-');
    expect(r.warnings).toEqual(c.warnings ?? []);
    expect(r.references).toEqual(
      c.want.map(([externalId, scimId, managerKey, managerLabel, from], i) => ({
        id: `p-m-${(i + 1).toString(36)}`,
        kind: 'setManager',
        externalId,
        label: `${externalId.toLowerCase()}@x.com`,
        ...(scimId !== undefined ? { scimId } : {}),
        managerKey,
        managerLabel,
        ...(from !== undefined ? { from } : {}),
      })),
    );
  });
});

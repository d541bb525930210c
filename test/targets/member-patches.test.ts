/** Membership changes cut to what a server takes per PATCH, and accepted by the sandbox acting as AWS. */
import { describe, expect, it } from 'vitest';
import { memberPatches } from '../../src/targets/member-patches.js';
import { resolveQuirks } from '../../src/targets/profiles.js';
import { startSandbox } from '../../src/sandbox/index.js';
import { Client } from '../sandbox/helpers.js';

describe('member patches', () => {
  it('no limit: one request, removals first, adds as one operation', () => {
    expect(memberPatches(['a', 'b'], ['c'], null)).toEqual([
      [
        { op: 'remove', path: 'members[value eq "c"]' },
        { op: 'add', path: 'members', value: [{ value: 'a' }, { value: 'b' }] },
      ],
    ]);
    expect(memberPatches([], [], null)).toEqual([]);
  });

  it('at most `max` member values per request', () => {
    const requests = memberPatches(['a', 'b', 'c', 'd', 'e'], ['x', 'y'], 3);
    expect(requests.map((ops) => ops.reduce((n, op) => n + (Array.isArray(op.value) ? op.value.length : 1), 0))).toEqual([3, 3, 1]);
    expect(requests[0]![0]).toEqual({ op: 'remove', path: 'members[value eq "x"]' });
  });

  it('the sandbox acting as AWS takes every request cut for the aws profile, and refuses the uncut one', async () => {
    const sandbox = await startSandbox({ profile: 'aws' });
    try {
      const c = new Client(sandbox.url);
      const ids: string[] = [];
      for (let i = 0; i < 250; i++) ids.push((await c.createUser(`m${i}`)).id as string);
      const group = await c.createGroup('everyone', ids.slice(200));
      const add = ids.slice(0, 200);
      const remove = ids.slice(200, 230);
      expect((await c.patch(`/Groups/${group.id}`, memberPatches(add, remove, null)[0]!)).status).toBe(400);
      const requests = memberPatches(add, remove, resolveQuirks('aws').maxMembersPerPatch);
      expect(requests).toHaveLength(3);
      for (const ops of requests) expect((await c.patch(`/Groups/${group.id}`, ops)).status).toBe(200);
      const members = ((await c.get(`/Groups/${group.id}`)).body.members as { value: string }[]).map((m) => m.value);
      expect(new Set(members)).toEqual(new Set([...add, ...ids.slice(230)]));
    } finally {
      await sandbox.close();
    }
  });
});

/**
 * The person commands on a server that returns group members nowhere (the sandbox as AWS IAM
 * Identity Center): `provision` and `deprovision` take the person's memberships from the member
 * memory the cycles keep, and ask only the pairs it does not answer (a group forgotten, a person it
 * does not cover); a memory that cannot be read holds no emergency deprovision back. Pair checks
 * are counted at the server.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, memberNames } from '../support/harness.js';
import { askedUsers, checkedGroups, emails, groupedPeople, pairChecks } from '../support/member-checks.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const AWS = '    profile: aws';
const people = groupedPeople;

const groupId = (h: Harness, name: string) => h.sandbox.store.findGroupByDisplayName(name)!['id'] as string;
const userId = (h: Harness, n: number) => h.sandbox.store.findUserByUserName(`user${n}@example.com`)!['id'] as string;
const memoryFile = (h: Harness) => join(h.dir, 'state', 'group-members.json');

type Kept = { version: 1; targets: { app: { users: string[]; groups: Record<string, { members: string[] }> } } };

/** Changes the member memory file as a cycle would have left it otherwise. */
function editMemory(h: Harness, change: (kept: Kept['targets']['app']) => void): void {
  const kept = JSON.parse(readFileSync(memoryFile(h), 'utf8')) as Kept;
  change(kept.targets.app);
  writeFileSync(memoryFile(h), JSON.stringify(kept));
}

function cli(h: Harness, ...args: string[]) {
  h.sandbox.clearRequests();
  return h.cli(...args, '--config', h.configFile);
}

describe('person commands and the member memory (groupMembersInList: false)', () => {
  it('provision after a cycle asks no group about the person, applies the change, and the next run finds nothing to do', async () => {
    h = await Harness.synced(people, { sandbox: { profile: 'aws' }, target: AWS });
    // user6 joins eng.
    h.writePeople(people.map((p) => (p.id === 'E1006' ? { ...p, groups: ['eng', 'all'] } : p)));
    const r = await cli(h, 'provision', '--user', 'E1006');
    expect(r.code, r.out + r.err).toBe(0);
    expect(pairChecks(h.sandbox)).toHaveLength(0);
    expect(r.out).toContain('app: group members: 0 group-and-person pairs asked, 3 from memory');
    expect(memberNames(h.sandbox, 'eng')).toEqual(emails(1, 2, 3, 6));

    // The provision's write was remembered: the cycle after it asks nothing and writes nothing.
    h.sandbox.clearRequests();
    const next = await h.run();
    expect(next.code, next.out + next.err).toBe(0);
    expect(pairChecks(h.sandbox)).toHaveLength(0);
    expect(h.writes()).toEqual([]);
  });

  it('provision takes a person out of a group they left, from memory, and the memory keeps the removal', async () => {
    h = await Harness.synced(people, { sandbox: { profile: 'aws' }, target: AWS });
    // user1 leaves eng.
    h.writePeople(people.map((p) => (p.id === 'E1001' ? { ...p, groups: ['all'] } : p)));
    const r = await cli(h, 'provision', '--user', 'E1001');
    expect(r.code, r.out + r.err).toBe(0);
    expect(pairChecks(h.sandbox)).toHaveLength(0);
    expect(r.out).toContain('app: group members: 0 group-and-person pairs asked, 3 from memory');
    expect(memberNames(h.sandbox, 'eng')).toEqual(emails(2, 3));
    expect(memberNames(h.sandbox, 'all')).toEqual(emails(1, 2, 3, 4, 5, 6));

    h.sandbox.clearRequests();
    const next = await h.run();
    expect(next.code, next.out + next.err).toBe(0);
    expect(pairChecks(h.sandbox)).toHaveLength(0);
    expect(h.writes()).toEqual([]);
  });

  it('asks a forgotten group about the person alone, and every group about a person the memory does not cover', async () => {
    h = await Harness.synced(people, { sandbox: { profile: 'aws' }, target: AWS });
    editMemory(h, (app) => {
      delete app.groups[groupId(h!, 'eng')];
      app.users = app.users.filter((u) => u !== userId(h!, 5));
    });
    h.writePeople(people.map((p) => (p.id === 'E1002' ? { ...p, groups: ['eng', 'ops', 'all'] } : p.id === 'E1005' ? { ...p, groups: ['eng', 'ops', 'all'] } : p)));

    const two = await cli(h, 'provision', '--user', 'E1002');
    expect(two.code, two.out + two.err).toBe(0);
    expect(checkedGroups(h.sandbox)).toEqual(['eng']);
    expect(pairChecks(h.sandbox)).toHaveLength(1);
    expect(askedUsers(h.sandbox)).toEqual([userId(h, 2)]);
    expect(two.out).toContain('app: group members: 1 group-and-person pair asked, 2 from memory');
    expect(memberNames(h.sandbox, 'ops')).toEqual(emails(2, 4, 5));

    const five = await cli(h, 'provision', '--user', 'E1005');
    expect(five.code, five.out + five.err).toBe(0);
    expect(checkedGroups(h.sandbox)).toEqual(['all', 'eng', 'ops']);
    expect(askedUsers(h.sandbox)).toEqual([userId(h, 5)]);
    expect(pairChecks(h.sandbox)).toHaveLength(3);
    expect(memberNames(h.sandbox, 'eng')).toEqual(emails(1, 2, 3, 5));
  });

  it('an emergency deprovision with a member memory that cannot be read asks every group, warns, and cuts the person off', async () => {
    h = await Harness.synced(people, { sandbox: { profile: 'aws' }, target: AWS });
    writeFileSync(memoryFile(h), '{ not json');
    const r = await cli(h, 'deprovision', '--user', 'E1004', '--reason', 'laptop stolen, ticket 4711');
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/app: group members: the member memory could not be read \(.*group-members\.json.*\): every managed group was asked about E1004 instead/);
    expect(askedUsers(h.sandbox)).toEqual([userId(h, 4)]);
    expect(pairChecks(h.sandbox)).toHaveLength(3);
    expect(h.sandbox.store.findUserByUserName('user4@example.com')!['active']).toBe(false);
    expect(memberNames(h.sandbox, 'ops')).toEqual(emails(5));
    expect(memberNames(h.sandbox, 'all')).toEqual(emails(1, 2, 3, 5, 6));
  });
});

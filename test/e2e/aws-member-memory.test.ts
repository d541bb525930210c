/**
 * The member memory on a server that returns group members nowhere (the sandbox as AWS IAM
 * Identity Center), over real HTTP: memberships are asked about once, then taken from memory;
 * writes keep it; a write that failed, or may have been carried out, makes its group asked about
 * again; a hand-made membership is seen at the group's next verification, or at once with
 * --verify-members. Pair checks are counted at the server.
 */
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, memberNames, person } from '../support/harness.js';
import { checkedGroups, emails, groupedPeople, pairChecks } from '../support/member-checks.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const AWS = '    profile: aws';
const people = groupedPeople;

async function synced(target = AWS): Promise<Harness> {
  h = await Harness.synced(people, { sandbox: { profile: 'aws' }, target });
  return h;
}

const groupId = (h: Harness, name: string) => h.sandbox.store.findGroupByDisplayName(name)!['id'] as string;
const userId = (h: Harness, n: number) => h.sandbox.store.findUserByUserName(`user${n}@example.com`)!['id'] as string;
const memberPatches = (h: Harness) => h.sandbox.requests.filter((r) => r.method === 'PATCH' && r.path.startsWith('/Groups/'));

function handAdd(h: Harness, group: string, n: number): void {
  h.sandbox.store.patch('Group', groupId(h, group), {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'add', path: 'members', value: [{ value: userId(h, n) }] }],
  });
}

/** A run, with the requests of the ones before cleared. */
function run(h: Harness, ...extra: string[]) {
  h.sandbox.clearRequests();
  return h.run(...extra);
}

describe('the member memory (groupMembersInList: false)', () => {
  it('an unchanged run asks nothing; a change in the source is applied from memory, and the run after it asks nothing either', async () => {
    const h = await synced();
    expect(memberNames(h.sandbox, 'eng')).toEqual(emails(1, 2, 3));

    const second = await run(h);
    expect(second.code, second.out + second.err).toBe(0);
    expect(pairChecks(h.sandbox)).toHaveLength(0);
    expect(h.writes()).toEqual([]);
    expect(second.out).toContain('group members: 0 group-and-user pairs asked (0 groups checked in full), 18 from memory (3 groups)');

    // user3 moves from eng to ops; user7 is new, in eng.
    h.writePeople([...people.map((p) => (p.id === 'E1003' ? { ...p, groups: ['ops', 'all'] } : p)), person(7, { groups: ['eng'] })]);
    const third = await run(h);
    expect(third.code, third.out + third.err).toBe(0);
    expect(pairChecks(h.sandbox)).toHaveLength(0);
    expect(memberNames(h.sandbox, 'eng')).toEqual(emails(1, 2, 7));
    expect(memberNames(h.sandbox, 'ops')).toEqual(emails(3, 4, 5));
    expect(memberPatches(h)).toHaveLength(2);

    // user7 was created by this run: in no group but the one it was put in, so the memory covers them.
    const fourth = await run(h);
    expect(fourth.code, fourth.out + fourth.err).toBe(0);
    expect(pairChecks(h.sandbox)).toHaveLength(0);
    expect(h.writes()).toEqual([]);
  });

  it('a target synced without a memory (an upgrade, a lost state file) is asked in full once, remembered in a private file, then not asked again', async () => {
    const h = await synced();
    const file = join(h.dir, 'state', 'group-members.json');
    rmSync(file, { force: true });

    const second = await run(h);
    expect(second.code, second.out + second.err).toBe(0);
    expect(pairChecks(h.sandbox)).toHaveLength(18);

    const third = await run(h);
    expect(third.code).toBe(0);
    expect(pairChecks(h.sandbox)).toHaveLength(0);

    expect(second.out).toContain('group members: 18 group-and-user pairs asked (3 groups checked in full), 0 from memory (0 groups)');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const kept = JSON.parse(readFileSync(file, 'utf8')) as { targets: { app: { users: string[]; groups: Record<string, { members: string[] }> } } };
    expect(kept.targets.app.users.sort()).toEqual([1, 2, 3, 4, 5, 6].map((n) => userId(h, n)).sort());
    expect(kept.targets.app.groups[groupId(h, 'ops')]!.members.sort()).toEqual([userId(h, 4), userId(h, 5)].sort());
  });

  it('a member added by hand is left until the verification interval has passed, then removed; a deleted person drops out of the memory', async () => {
    const h = await synced(`${AWS}\n    deprovision: delete`);
    handAdd(h, 'eng', 4);

    const within = await run(h);
    expect(within.code).toBe(0);
    expect(pairChecks(h.sandbox)).toHaveLength(0);
    expect(memberNames(h.sandbox, 'eng')).toEqual(emails(1, 2, 3, 4));

    // The interval has passed (a tiny one stands in for 24 hours): every group is checked in full.
    h.writeConfig(`${AWS}\n    deprovision: delete\n    groups: { verifyMembersEvery: 1ms }`);
    const after = await run(h);
    expect(after.code, after.out + after.err).toBe(0);
    expect(pairChecks(h.sandbox)).toHaveLength(18);
    expect(memberNames(h.sandbox, 'eng')).toEqual(emails(1, 2, 3));
    expect(memberPatches(h).map((r) => (r.body as { Operations: unknown[] }).Operations)).toEqual([[{ op: 'remove', path: `members[value eq "${userId(h, 4)}"]` }]]);

    const gone = userId(h, 6);
    h.writeConfig(`${AWS}\n    deprovision: delete`);
    h.writePeople(people.slice(0, 5));
    const deleted = await run(h, '--override-safety');
    expect(deleted.code, deleted.out + deleted.err).toBe(0);
    expect(h.sandbox.store.getUser(gone)).toBeUndefined();
    expect(readFileSync(join(h.dir, 'state', 'group-members.json'), 'utf8')).not.toContain(gone);
    expect(pairChecks(h.sandbox)).toHaveLength(0);
  });

  it('verifications stamped in the future (a clock that was wrong) are due now, not when that time comes: one warning for them all, and the next run asks nothing', async () => {
    const h = await synced();
    handAdd(h, 'eng', 4);
    const file = join(h.dir, 'state', 'group-members.json');
    const kept = JSON.parse(readFileSync(file, 'utf8')) as { targets: { app: { groups: Record<string, { verifiedAt: string }> } } };
    for (const g of Object.values(kept.targets.app.groups)) g.verifiedAt = '2099-01-01T00:00:00.000Z';
    kept.targets.app.groups[groupId(h, 'ops')]!.verifiedAt = '2099-06-01T00:00:00.000Z';
    writeFileSync(file, JSON.stringify(kept));

    const now = await run(h);
    expect(now.code, now.out + now.err).toBe(0);
    expect(pairChecks(h.sandbox)).toHaveLength(18);
    expect(memberNames(h.sandbox, 'eng')).toEqual(emails(1, 2, 3));
    const said = (now.out + now.err).split('\n').filter((line) => line.includes('in the future'));
    expect(said).toHaveLength(1);
    expect(said[0]).toContain(`3 groups (group ${groupId(h, 'ops')} and 2 more) were verified at 2099-06-01T00:00:00.000Z, in the future`);
    expect(said[0]).toContain('clock may have been wrong');
    // Verified now, so stamped now.
    const after = JSON.parse(readFileSync(file, 'utf8')) as typeof kept;
    for (const g of Object.values(after.targets.app.groups)) expect(Date.parse(g.verifiedAt)).toBeLessThanOrEqual(Date.now());

    const next = await run(h);
    expect(next.code, next.out + next.err).toBe(0);
    expect(pairChecks(h.sandbox)).toHaveLength(0);
    expect(next.out + next.err).not.toContain('in the future');
  });

  it("a user the memory does not cover is asked about, and the server's answer wins over a membership the memory holds: the member removed by hand is added again", async () => {
    const h = await synced();
    const file = join(h.dir, 'state', 'group-members.json');
    const u1 = userId(h, 1);
    // As after a write recorded user1 in eng before the memory covered them (linked since the last verification).
    const kept = JSON.parse(readFileSync(file, 'utf8')) as { targets: { app: { users: string[] } } };
    kept.targets.app.users = kept.targets.app.users.filter((u) => u !== u1);
    writeFileSync(file, JSON.stringify(kept));
    h.sandbox.store.patch('Group', groupId(h, 'eng'), {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'remove', path: `members[value eq "${u1}"]` }],
    });

    const asked = await run(h);
    expect(asked.code, asked.out + asked.err).toBe(0);
    expect(pairChecks(h.sandbox)).toHaveLength(3);
    expect(memberPatches(h)).toHaveLength(1);
    expect(memberNames(h.sandbox, 'eng')).toEqual(emails(1, 2, 3));

    const next = await run(h);
    expect(next.code).toBe(0);
    expect(pairChecks(h.sandbox)).toHaveLength(0);
    expect(h.writes()).toEqual([]);
  });

  it('--verify-members asks about every group and linked user at once and removes a member added by hand; the next run asks nothing', async () => {
    const h = await synced();
    handAdd(h, 'ops', 1);
    const forced = await run(h, '--verify-members');
    expect(forced.code, forced.out + forced.err).toBe(0);
    expect(pairChecks(h.sandbox)).toHaveLength(18);
    expect(memberNames(h.sandbox, 'ops')).toEqual(emails(4, 5));

    const next = await run(h);
    expect(next.code).toBe(0);
    expect(pairChecks(h.sandbox)).toHaveLength(0);
    expect(h.writes()).toEqual([]);
  });

  it('verifications that fall due together are spread over cycles by verifyMembersPerCycle, oldest first, one group each here', async () => {
    const h = await synced();
    h.writeConfig(`${AWS}\n    groups: { verifyMembersEvery: 1ms, verifyMembersPerCycle: 6 }`);
    const seen: string[][] = [];
    for (let cycle = 0; cycle < 3; cycle++) {
      const r = await run(h);
      expect(r.code, r.out + r.err).toBe(0);
      expect(pairChecks(h.sandbox)).toHaveLength(6);
      seen.push(checkedGroups(h.sandbox));
      if (cycle === 0) expect(r.out).toContain('2 groups due for a full check left for a later cycle (groups.verifyMembersPerCycle)');
    }
    expect(seen.flat().sort()).toEqual(['all', 'eng', 'ops']);
  });

  it('a membership PATCH refused makes the next run check that group alone, in full, and send the change again', async () => {
    const h = await synced();
    h.writePeople(people.map((p) => (p.id === 'E1005' ? { ...p, groups: ['ops', 'eng', 'all'] } : p.id === 'E1001' ? { ...p, groups: ['eng', 'ops', 'all'] } : p)));
    h.sandbox.addFault({ method: 'PATCH', path: `/Groups/${groupId(h, 'eng')}`, action: { type: 'status', status: 400, detail: 'refused for the test' } });
    const failed = await run(h);
    expect(failed.code).toBe(1);
    expect(memberNames(h.sandbox, 'ops')).toEqual(emails(1, 4, 5));
    expect(memberNames(h.sandbox, 'eng')).toEqual(emails(1, 2, 3));

    const next = await run(h);
    expect(next.code, next.out + next.err).toBe(0);
    expect(checkedGroups(h.sandbox)).toEqual(['eng']);
    expect(pairChecks(h.sandbox)).toHaveLength(6);
    expect(memberNames(h.sandbox, 'eng')).toEqual(emails(1, 2, 3, 5));

    const after = await run(h);
    expect(after.code).toBe(0);
    expect(pairChecks(h.sandbox)).toHaveLength(0);
    expect(h.writes()).toEqual([]);
  });

  it('a membership PATCH carried out but answered with a 500 (ambiguous) makes the next run check that group, find the member, and send nothing', async () => {
    const h = await synced(`${AWS}\n    retries: 1`);
    h.writePeople(people.map((p) => (p.id === 'E1005' ? { ...p, groups: ['ops', 'eng', 'all'] } : p)));
    h.sandbox.addFault({ method: 'PATCH', path: `/Groups/${groupId(h, 'eng')}`, when: 'after', action: { type: 'status', status: 500 } });
    const failed = await run(h);
    expect(failed.code).toBe(1);
    expect(memberNames(h.sandbox, 'eng')).toEqual(emails(1, 2, 3, 5));

    const next = await run(h);
    expect(next.code, next.out + next.err).toBe(0);
    expect(checkedGroups(h.sandbox)).toEqual(['eng']);
    expect(h.writes()).toEqual([]);
  });
});

/**
 * Both member memories (group members remembered on a server that returns them nowhere) keep the
 * same contract: the file one in a temporary state directory, the Redis one on the shared Redis
 * under a prefix of its own. A read that a write overtook is not recorded; a damaged file is an
 * error that names it, never "nothing remembered".
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StateError } from '../../src/errors.js';
import { FileMemberMemory, membersFile, type MemberRead, type TargetMembers } from '../../src/state/member-memory.js';
import { memberMemories, type Cleanups } from '../support/member-memories.js';

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const T0 = '2026-01-01T00:00:00.000Z';
const read = (over: Partial<MemberRead> = {}): MemberRead => ({
  readAt: T0,
  verified: new Map([
    ['g1', ['u1', 'u2']],
    ['g2', []],
  ]),
  topped: new Map(),
  asked: [],
  users: ['u1', 'u2', 'u3'],
  groups: ['g1', 'g2'],
  ...over,
});

/** Groups as sorted member lists, and the covered users sorted: what a comparison needs. */
function plain(m: TargetMembers) {
  return {
    groups: Object.fromEntries([...m.groups].sort(([a], [b]) => a.localeCompare(b)).map(([id, g]) => [id, { verifiedAt: g.verifiedAt, members: [...g.members].sort() }])),
    users: [...m.users].sort(),
  };
}

describe.each(memberMemories)('%s', (_name, store) => {
  const make = () => store(cleanups);
  it('records a read, per target, and another instance reads it back', async () => {
    const { open } = make();
    await open().recordRead('app', read());
    await open().recordRead('other', read({ verified: new Map([['g9', ['u9']]]), users: ['u9'], groups: ['g9'] }));
    expect(plain(await open().read('app'))).toEqual({
      groups: { g1: { verifiedAt: T0, members: ['u1', 'u2'] }, g2: { verifiedAt: T0, members: [] } },
      users: ['u1', 'u2', 'u3'],
    });
    expect(plain(await open().read('other')).users).toEqual(['u9']);
    expect(plain(await open().read('none'))).toEqual({ groups: {}, users: [] });
  });

  it('applies confirmed writes to remembered groups only, and forgets a group on request', async () => {
    const { open } = make();
    const memory = open();
    await memory.recordRead('app', read());
    await memory.changed('app', 'g1', { add: ['u3'], remove: ['u1'] });
    await memory.changed('app', 'g7', { add: ['u3'], remove: [] });
    let now = await memory.read('app');
    expect([...now.groups.get('g1')!.members].sort()).toEqual(['u2', 'u3']);
    expect(now.groups.get('g1')!.changedAt).toBeDefined();
    expect(now.groups.has('g7')).toBe(false);
    await memory.forgetGroup('app', 'g1');
    await memory.replaced('app', 'g3', [], '2026-01-02T00:00:00.000Z');
    await memory.created('app', 'u4');
    now = await open().read('app');
    expect(plain(now)).toEqual({ groups: { g2: { verifiedAt: T0, members: [] }, g3: { verifiedAt: '2026-01-02T00:00:00.000Z', members: [] } }, users: ['u1', 'u2', 'u3', 'u4'] });
  });

  it('a read overtaken by a write is not recorded: a group written during a full check is forgotten, and so is one asked about uncovered users before it', async () => {
    const { open } = make();
    const memory = open();
    await memory.recordRead('app', read());
    // Written after the next read began (a change-driven sync in the same moment).
    const second = new Date(Date.now() - 60_000).toISOString();
    await memory.changed('app', 'g1', { add: ['u3'], remove: [] });
    await memory.changed('app', 'g2', { add: [], remove: ['u2'] });
    await memory.recordRead('app', read({ readAt: second, verified: new Map([['g1', ['u1']]]), topped: new Map([['g2', ['u4']]]), asked: ['u4'], users: ['u1', 'u2', 'u3', 'u4'] }));
    expect(plain(await open().read('app')).groups).toEqual({});

    // A read begun after the writes is recorded.
    await memory.recordRead('app', read({ readAt: new Date(Date.now() + 1).toISOString() }));
    expect(Object.keys(plain(await open().read('app')).groups)).toEqual(['g1', 'g2']);
  });

  it('a read keeps members to the users it covers, tops remembered groups, and forgets groups no longer managed', async () => {
    const { open } = make();
    const memory = open();
    await memory.recordRead('app', read({ verified: new Map([['g1', ['u1', 'u2']], ['g2', ['u3']], ['g3', []]]), groups: ['g1', 'g2', 'g3'] }));
    // u2 is no longer linked; u4 is, and the remembered g2 holds them; g3 left the managed groups.
    await memory.recordRead('app', read({ readAt: new Date(Date.now() + 1).toISOString(), verified: new Map(), topped: new Map([['g1', []], ['g2', ['u4']]]), asked: ['u4'], users: ['u1', 'u3', 'u4'], groups: ['g1', 'g2'] }));
    expect(plain(await open().read('app'))).toEqual({
      groups: { g1: { verifiedAt: T0, members: ['u1'] }, g2: { verifiedAt: T0, members: ['u3', 'u4'] } },
      users: ['u1', 'u3', 'u4'],
    });
  });

  it('the answers about the users asked replace what was remembered of them: a member a write recorded who is gone is dropped', async () => {
    const { open } = make();
    const memory = open();
    await memory.recordRead('app', read());
    // u4, linked since the last read, was added to both groups by a write; since then, removed from g1 by hand.
    await memory.changed('app', 'g1', { add: ['u4'], remove: [] });
    await memory.changed('app', 'g2', { add: ['u4'], remove: [] });
    const next = read({ readAt: new Date(Date.now() + 1).toISOString(), verified: new Map(), topped: new Map([['g1', []], ['g2', ['u4']]]), asked: ['u4'], users: ['u1', 'u2', 'u3', 'u4'] });
    await memory.recordRead('app', next);
    expect(plain(await open().read('app'))).toEqual({
      groups: { g1: { verifiedAt: T0, members: ['u1', 'u2'] }, g2: { verifiedAt: T0, members: ['u4'] } },
      users: ['u1', 'u2', 'u3', 'u4'],
    });
  });

  it('a group written while it was asked about uncovered users is forgotten, whatever the answers were', async () => {
    const { open } = make();
    const memory = open();
    await memory.recordRead('app', read());
    const readAt = new Date(Date.now() - 60_000).toISOString();
    // The read found u4 in neither group; then a write added u4 to g2.
    await memory.changed('app', 'g2', { add: ['u4'], remove: [] });
    await memory.recordRead('app', read({ readAt, verified: new Map(), topped: new Map([['g1', []], ['g2', []]]), asked: ['u4'], users: ['u1', 'u2', 'u3', 'u4'] }));
    expect(Object.keys(plain(await open().read('app')).groups)).toEqual(['g1']);
  });

  it('drops deleted users from every group and from the covered users', async () => {
    const { open } = make();
    const memory = open();
    await memory.recordRead('app', read({ verified: new Map([['g1', ['u1', 'u2']], ['g2', ['u2']]]) }));
    await memory.dropUsers('app', ['u2']);
    expect(plain(await open().read('app'))).toEqual({ groups: { g1: { verifiedAt: T0, members: ['u1'] }, g2: { verifiedAt: T0, members: [] } }, users: ['u1', 'u3'] });
  });

  it('many writes at once all land (the file coalesces them)', async () => {
    const { open } = make();
    const memory = open();
    await memory.recordRead('app', read({ verified: new Map([['g1', []]]), groups: ['g1'] }));
    await Promise.all(Array.from({ length: 40 }, (_, i) => memory.changed('app', 'g1', { add: [`n${i}`], remove: [] })));
    expect((await open().read('app')).groups.get('g1')!.members).toHaveLength(40);
  });
});

describe('FileMemberMemory', () => {
  it('writes its file 0600, and refuses a damaged one naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scim-sync-members-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    await new FileMemberMemory(dir).recordRead('app', read());
    expect(statSync(membersFile(dir)).mode & 0o777).toBe(0o600);
    writeFileSync(membersFile(dir), JSON.stringify({ version: 1, targets: { app: { users: [], groups: { g1: { verifiedAt: 'yesterday', members: [] } } } } }));
    const error = await new FileMemberMemory(dir).read('app').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StateError);
    expect((error as Error).message).toContain(membersFile(dir));
    expect((error as Error).message).toContain('verifiedAt');
  });
});

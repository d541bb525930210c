/**
 * A membership write recorded while a cycle verifies a group (checks it against every linked user)
 * makes that read doubtful for the group, whether or not the memory held it: a group new to the
 * memory, forgotten after a doubtful write, or every group on the first cycle with a memory is read
 * in full, and that read can take hours on AWS while serve's change-driven batches write. Recorded,
 * the read from before the write would say "verified" and undo the write in memory until the
 * group's next verification (a member added meanwhile is then never removed). Both stores.
 * From a review's reproduction: the write is a PATCH, a PUT, or a forgetting; a group the memory
 * held is the control.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { chooseMemberChecks } from '../../src/planning/member-checks.js';
import type { MemberMemory, MemberRead } from '../../src/state/member-memory.js';
import { memberMemories, type Cleanups } from '../support/member-memories.js';

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** The cycle's read began a minute ago: every write recorded now is recorded during it. */
const aMinuteAgo = () => new Date(Date.now() - 60_000).toISOString();

/** The cycle found U in no group: G was checked against every linked user. */
const cycleRead = (readAt: string): MemberRead => ({ readAt, verified: new Map([['G', []]]), topped: new Map(), asked: [], users: ['U'], groups: ['G'] });

/** Whether the next cycle checks G in full. */
async function checkedInFull(memory: MemberMemory): Promise<boolean> {
  const choice = chooseMemberChecks(['G'], ['U'], await memory.read('app'), { everyMs: 86_400_000, perCycle: 10_000, force: false }, Date.now());
  return choice.verify.has('G');
}

describe.each(memberMemories)('%s', (_name, store) => {
  it('a PATCH recorded during the full check of a group the memory does not hold: the read is not recorded for that group, which is checked in full again', async () => {
    const { open } = store(cleanups);
    const memory = open();
    const readAt = aMinuteAgo();
    await memory.changed('app', 'G', { add: ['U'], remove: [] });
    await memory.recordRead('app', cycleRead(readAt));

    expect((await open().read('app')).groups.has('G')).toBe(false);
    expect(await checkedInFull(open())).toBe(true);

    // The next cycle's read, begun after the write, is recorded.
    await memory.recordRead('app', { ...cycleRead(new Date().toISOString()), verified: new Map([['G', ['U']]]) });
    expect((await open().read('app')).groups.get('G')?.members).toEqual(['U']);
  });

  it('a PUT recorded during the full check of a group the memory does not hold: the older read is not recorded over it, and the group is checked in full again', async () => {
    const { open } = store(cleanups);
    const memory = open();
    const readAt = aMinuteAgo();
    await memory.replaced('app', 'G', ['U'], new Date().toISOString());
    await memory.recordRead('app', cycleRead(readAt));

    expect((await open().read('app')).groups.has('G')).toBe(false);
    expect(await checkedInFull(open())).toBe(true);
  });

  it('a write that may have been carried out (its group forgotten) during the full check of a remembered group: the read is not recorded', async () => {
    const { open } = store(cleanups);
    const memory = open();
    await memory.replaced('app', 'G', [], new Date(Date.now() - 3_600_000).toISOString());
    const readAt = aMinuteAgo();
    await memory.forgetGroup('app', 'G');
    await memory.recordRead('app', cycleRead(readAt));

    expect((await open().read('app')).groups.has('G')).toBe(false);
  });

  it('control: a PATCH recorded during the full check of a group the memory held makes it forgotten', async () => {
    const { open } = store(cleanups);
    const memory = open();
    await memory.replaced('app', 'G', [], new Date(Date.now() - 3_600_000).toISOString());
    const readAt = aMinuteAgo();
    await memory.changed('app', 'G', { add: ['U'], remove: [] });
    await memory.recordRead('app', cycleRead(readAt));

    expect((await open().read('app')).groups.has('G')).toBe(false);
  });
});

/**
 * Which groups a plan checks in full on a server that returns members nowhere, and what it takes
 * from memory (planning/member-checks.ts): unknown groups always, due groups oldest first within
 * the cycle's budget (at least one), and every group verified within the documented bound.
 */
import { describe, expect, it } from 'vitest';
import { aheadWarnings, chooseMemberChecks, choosePeopleChecks, memberCheckCounts, type MemberCheckSettings } from '../../src/planning/member-checks.js';
import type { RememberedGroup, TargetMembers } from '../../src/state/member-memory.js';

const HOUR = 3_600_000;
const settings = (over: Partial<MemberCheckSettings> = {}): MemberCheckSettings => ({ everyMs: 24 * HOUR, perCycle: 10_000, force: false, ...over });
const at = (ms: number) => new Date(ms).toISOString();
const memory = (groups: Record<string, RememberedGroup>, users: string[]): TargetMembers => ({ groups: new Map(Object.entries(groups)), users: new Set(users) });

describe('chooseMemberChecks', () => {
  const users = ['u1', 'u2', 'u3'];

  it('checks unknown groups in full, answers fresh ones from memory (in the order of the users), and asks those about uncovered users only', () => {
    const now = 100 * HOUR;
    const m = memory({ g1: { verifiedAt: at(now - HOUR), members: ['u2', 'u1', 'gone'] } }, ['u1', 'u2']);
    const choice = chooseMemberChecks(['g1', 'g2'], users, m, settings(), now);
    expect([...choice.verify]).toEqual(['g2']);
    expect(choice.remembered).toEqual(new Map([['g1', ['u1', 'u2']]]));
    expect(choice.uncovered).toEqual(['u3']);
    expect(memberCheckCounts(choice, users)).toEqual({ asked: 3 + 1, remembered: 2, verifiedGroups: 1, rememberedGroups: 1, overdueGroups: 0 });
  });

  it('a user the memory does not cover is asked about, not answered from memory, even where a write recorded them a member', () => {
    const now = 100 * HOUR;
    const m = memory({ g1: { verifiedAt: at(now - HOUR), members: ['u1', 'u3'] } }, ['u1', 'u2']);
    const choice = chooseMemberChecks(['g1'], users, m, settings(), now);
    expect(choice.remembered).toEqual(new Map([['g1', ['u1']]]));
    expect(choice.uncovered).toEqual(['u3']);
  });

  it('force checks every group in full', () => {
    const now = 100 * HOUR;
    const m = memory({ g1: { verifiedAt: at(now), members: [] } }, users);
    expect([...chooseMemberChecks(['g1'], users, m, settings({ force: true }), now).verify]).toEqual(['g1']);
  });

  it('due groups go oldest first within the budget, at least one per cycle, the rest are overdue and answered from memory', () => {
    const now = 100 * HOUR;
    const m = memory(
      { a: { verifiedAt: at(now - 30 * HOUR), members: [] }, b: { verifiedAt: at(now - 40 * HOUR), members: [] }, c: { verifiedAt: at(now - 25 * HOUR), members: [] }, d: { verifiedAt: at(now - HOUR), members: [] } },
      users,
    );
    const two = chooseMemberChecks(['a', 'b', 'c', 'd'], users, m, settings({ perCycle: 6 }), now);
    expect([...two.verify].sort()).toEqual(['a', 'b']);
    expect(two.overdue).toBe(1);
    const one = chooseMemberChecks(['a', 'b', 'c', 'd'], users, m, settings({ perCycle: 1 }), now);
    expect([...one.verify]).toEqual(['b']);
    expect(one.overdue).toBe(2);
  });

  it('a verification stamped in the future beyond clock drift is due now, before older due groups, and named in one warning; one a little ahead is fresh', () => {
    const now = 100 * HOUR;
    const MINUTE = 60_000;
    const m = memory(
      {
        old: { verifiedAt: at(now - 40 * HOUR), members: [] },
        far: { verifiedAt: at(now + 1000 * HOUR), members: [] },
        farther: { verifiedAt: at(now + 2000 * HOUR), members: [] },
        skewed: { verifiedAt: at(now + 4 * MINUTE), members: [] },
      },
      users,
    );
    const one = chooseMemberChecks(['old', 'far', 'farther', 'skewed'], users, m, settings({ perCycle: 1 }), now);
    expect([...one.verify]).toEqual(['far']);
    expect(one.overdue).toBe(2);
    const all = chooseMemberChecks(['old', 'far', 'farther', 'skewed'], users, m, settings(), now);
    expect([...all.verify].sort()).toEqual(['far', 'farther', 'old']);
    expect(all.remembered.has('skewed')).toBe(true);
    expect(all.ahead.map((a) => a.id)).toEqual(['far', 'farther']);
    const warnings = aheadWarnings(all);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`2 groups (group farther and 1 more) were verified at ${at(now + 2000 * HOUR)}, in the future`);
    expect(aheadWarnings(chooseMemberChecks(['old', 'skewed'], users, m, settings(), now))).toEqual([]);
  });

  it('every group is verified at the latest everyMs plus ⌈groups ÷ max(1, ⌊perCycle ÷ users⌋)⌉ cycles after its last verification', () => {
    const cycleMs = HOUR;
    for (const [groups, perCycle] of [
      [50, 10_000],
      [50, 3_000],
      [7, 1],
      [12, 5_000],
    ] as const) {
      const linked = Array.from({ length: 2000 }, (_, i) => `u${i}`);
      const ids = Array.from({ length: groups }, (_, i) => `g${i}`);
      const s = settings({ perCycle });
      const k = Math.max(1, Math.floor(perCycle / linked.length));
      const bound = s.everyMs + Math.ceil(groups / k) * cycleMs;
      // All verified together (the first cycle), then cycles every hour for two weeks.
      const state = memory(Object.fromEntries(ids.map((id) => [id, { verifiedAt: at(0), members: [] }])), linked);
      let worst = 0;
      for (let now = cycleMs; now < 14 * 24 * HOUR; now += cycleMs) {
        const choice = chooseMemberChecks(ids, linked, state, s, now);
        for (const id of ids) worst = Math.max(worst, now - Date.parse(state.groups.get(id)!.verifiedAt));
        for (const id of choice.verify) state.groups.set(id, { verifiedAt: at(now), members: [] });
        expect(choice.verify.size).toBeLessThanOrEqual(Math.max(k, 1));
      }
      expect(worst, `${groups} groups, ${perCycle} checks per cycle`).toBeLessThanOrEqual(bound);
    }
  });
});

describe('choosePeopleChecks', () => {
  it('answers a few people from fresh groups that cover them, and asks every other group about them, with no budget', () => {
    const now = 100 * HOUR;
    const m = memory(
      {
        fresh: { verifiedAt: at(now - HOUR), members: ['u1', 'u9'] },
        due: { verifiedAt: at(now - 30 * HOUR), members: ['u1'] },
        older: { verifiedAt: at(now - 40 * HOUR), members: [] },
      },
      ['u1', 'u9'],
    );
    const choice = choosePeopleChecks(['fresh', 'due', 'older', 'unknown'], ['u1', 'u2'], m, 24 * HOUR, now);
    expect([...choice.verify].sort()).toEqual(['due', 'older', 'unknown']);
    expect(choice.remembered).toEqual(new Map([['fresh', ['u1']]]));
    expect(choice.uncovered).toEqual(['u2']);
    expect(choice.overdue).toBe(0);
    expect(memberCheckCounts(choice, ['u1', 'u2'])).toMatchObject({ asked: 3 * 2 + 1, remembered: 1 });
  });
});

/**
 * Which group memberships a plan asks the server about, on a server that returns members nowhere
 * (quirk groupMembersInList: false, AWS): one request per group and user, so a cycle that asked
 * about every pair would send groups × linked users requests. Pure: given what is remembered
 * (state/member-memory.ts), it decides.
 *
 * Contract:
 * - A group with nothing remembered (new to the memory, forgotten after a write that may have done
 *   something else, or with `force`) is checked against every linked user: its full verification.
 * - A group verified longer than `everyMs` ago is due, and so is one whose verification is stamped
 *   in the future (beyond what clocks differ, model/clock-drift.ts): a clock that was wrong when it
 *   was stamped, or a hand-edited state file, must not put its check off until that time passes and
 *   leave drift in the target unseen. Such groups go first (when they were verified is unknown) and
 *   are named in one warning (MemberCheckChoice.ahead); verifying one stamps it anew.
 * - Due groups are verified oldest first while the cycle's pair checks on them stay within
 *   `perCycle`, and at least one per cycle; the others are answered from memory this cycle. So
 *   each cycle verifies k = max(1, ⌊perCycle ÷ linked users⌋) due groups (or all of them), and a
 *   group is verified again at the latest everyMs plus ⌈managed groups ÷ k⌉ cycles after its last
 *   verification: the groups ahead of it are those verified before it, at most all the others.
 * - Every other group is answered from memory for the users the memory covers, and asked about the
 *   linked users it does not cover (linked since: adopted, or their accounts were made by hand):
 *   for those, the server's answer is the only one, even where a write recorded a membership.
 * - Members are listed in the order of `among`, however they were learnt, so two reads of an
 *   unchanged group look alike (the group's digest in a saved plan).
 * - A plan for a few people (choosePeopleChecks) follows the same rule with `among` those people:
 *   a fresh group is answered from memory for the people it covers, and every other pair is asked.
 */
import { isAheadOfClock } from '../model/clock-drift.js';
import type { MemberCheckCounts } from '../model/plan.js';
import type { TargetMembers } from '../state/member-memory.js';

export interface MemberCheckSettings {
  /** A group verified longer ago than this (ms) is due for a full verification. */
  everyMs: number;
  /** Pair checks a cycle spends on due groups (at least one group's worth). */
  perCycle: number;
  /** Verify every group in full (`--verify-members`). */
  force: boolean;
}

export interface MemberCheckChoice {
  /** Groups checked against every linked user this cycle. */
  verify: Set<string>;
  /** The other groups: their remembered members among the covered users. */
  remembered: Map<string, string[]>;
  /** Linked users the memory does not cover: each remembered group is asked about them. */
  uncovered: string[];
  /** Due groups left for a later cycle by the budget. */
  overdue: number;
  /** Groups whose verification is stamped in the future, with that stamp: due now, and warned of. */
  ahead: { id: string; verifiedAt: string }[];
}

/** `groups`: the managed groups' SCIM ids; `among`: the linked users whose accounts are listed. */
export function chooseMemberChecks(groups: readonly string[], among: readonly string[], memory: TargetMembers, settings: MemberCheckSettings, now: number): MemberCheckChoice {
  const verify = new Set<string>();
  const remembered = new Map<string, string[]>();
  const due: { id: string; at: number }[] = [];
  const ahead: MemberCheckChoice['ahead'] = [];
  for (const id of groups) {
    const g = memory.groups.get(id);
    const at = g ? Date.parse(g.verifiedAt) : NaN;
    if (!g || settings.force || Number.isNaN(at)) verify.add(id);
    else if (isAheadOfClock(at, now)) {
      ahead.push({ id, verifiedAt: g.verifiedAt });
      due.push({ id, at: -Infinity });
    } else if (now - at >= settings.everyMs) due.push({ id, at });
  }
  due.sort((a, b) => a.at - b.at);
  let spent = 0;
  let overdue = 0;
  for (const { id } of due) {
    if (spent > 0 && spent + among.length > settings.perCycle) {
      overdue++;
      continue;
    }
    verify.add(id);
    // At least one group per cycle, even when a group alone costs more than the budget.
    spent += Math.max(among.length, 1);
  }
  const uncovered = among.filter((u) => !memory.users.has(u));
  const asked = new Set(uncovered);
  for (const id of groups) {
    if (verify.has(id)) continue;
    const members = new Set(memory.groups.get(id)!.members);
    remembered.set(id, among.filter((u) => members.has(u) && !asked.has(u)));
  }
  return { verify, remembered, uncovered, overdue, ahead };
}

/**
 * The one warning for the groups whose verification is stamped in the future, or none: one per
 * read, not one per group, naming the furthest stamp (the one that would have put a check off
 * longest) and how many groups there are.
 */
export function aheadWarnings(choice: MemberCheckChoice): string[] {
  if (choice.ahead.length === 0) return [];
  const latest = choice.ahead.reduce((a, b) => (Date.parse(b.verifiedAt) > Date.parse(a.verifiedAt) ? b : a));
  const others = choice.ahead.length - 1;
  const which = others === 0 ? `group ${latest.id}` : `${choice.ahead.length} groups (group ${latest.id} and ${others} more)`;
  return [
    `the member memory says ${which} ${others === 0 ? 'was' : 'were'} verified at ${latest.verifiedAt}, in the future: this machine's clock may have been wrong when it was stamped (or the state was edited); due for verification now rather than at that time`,
  ];
}

/**
 * The same choice for a few people (the service's change-driven batches, the person commands:
 * engine/one-person.ts), `among` their SCIM ids: no budget, nothing forced. Every group that is not
 * fresh (unknown, forgotten, due) is in `verify`, which here means asked about these people alone:
 * one request per group and person, as before the memory, and never a full verification (the
 * caller records nothing of it).
 */
export function choosePeopleChecks(groups: readonly string[], among: readonly string[], memory: TargetMembers, everyMs: number, now: number): MemberCheckChoice {
  return chooseMemberChecks(groups, among, memory, { everyMs, perCycle: Infinity, force: false }, now);
}

export function memberCheckCounts(choice: MemberCheckChoice, among: readonly string[]): MemberCheckCounts {
  const covered = among.length - choice.uncovered.length;
  return {
    asked: choice.verify.size * among.length + choice.remembered.size * choice.uncovered.length,
    remembered: choice.remembered.size * covered,
    verifiedGroups: choice.verify.size,
    rememberedGroups: choice.remembered.size,
    overdueGroups: choice.overdue,
  };
}

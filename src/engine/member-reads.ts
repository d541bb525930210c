/**
 * Group members on a server that returns them nowhere (AWS), found through the member memory
 * (state/member-memory.ts): the groups planning/member-checks.ts picks are checked against every
 * linked user, the others answered from memory and asked only about the users it does not cover.
 * A cycle records what it read; `plan` and apply's check of a saved plan only read the memory.
 *
 * A plan for a few people (PeopleReading: the service's change-driven batches, the person
 * commands) asks about those people alone, by the same rule, and only reads the memory: what it
 * asked is no verification of any group, and the covered users are the cycles' to say. A memory
 * that cannot be read does not hold it back: every pair is asked, as before the memory, and the
 * caller is told why.
 */
import type { TargetRuntime } from '../execution/executor.js';
import type { MemberCheckCounts } from '../model/plan.js';
import type { ServerResource } from '../model/scim.js';
import { memberValues } from '../planning/group-diff.js';
import { aheadWarnings, chooseMemberChecks, choosePeopleChecks, memberCheckCounts, type MemberCheckChoice, type MemberCheckSettings } from '../planning/member-checks.js';
import type { MemberMemory, TargetMembers } from '../state/member-memory.js';

export interface MemberReading {
  memory: MemberMemory;
  settings: MemberCheckSettings;
  /** Record what was read (a cycle, under its lock); false: the memory is only read. */
  record: boolean;
  /** The time the verification interval is measured at; default now. */
  now?: Date;
}

/** A few people's plan: the memory is only read, and one that cannot be read is told to `unreadable` and read as empty. */
export interface PeopleReading {
  people: true;
  memory: MemberMemory;
  /** groups.verifyMembersEvery (ms): an older group is asked about these people. */
  everyMs: number;
  unreadable(error: unknown): void;
}

/** `members` in the shape ScimTarget.withMembers gives them. */
const withMemberIds = (group: ServerResource, ids: readonly string[]): ServerResource => ({ ...group, members: ids.map((value) => ({ value })) });

const NOTHING_REMEMBERED: TargetMembers = { groups: new Map(), users: new Set() };

/**
 * The managed groups with their members among `among` (in that order), what finding them cost, and
 * what was asked: `verified` (groups asked about every one of `among`) and `topped` (remembered
 * groups asked about the uncovered users), and the warnings for the plan (a verification stamped
 * in the future). Groups are asked one after another, as listed.
 */
async function ask(runtime: TargetRuntime, managed: readonly ServerResource[], among: readonly string[], choice: MemberCheckChoice) {
  const verified = new Map<string, string[]>();
  const topped = new Map<string, string[]>();
  const groups = new Map<string, ServerResource>();
  for (const group of managed) {
    const remembered = choice.remembered.get(group.id);
    if (!remembered) {
      const read = await runtime.client.withMembers(group, among);
      verified.set(group.id, memberValues(read));
      groups.set(group.id, read);
      continue;
    }
    const found = choice.uncovered.length > 0 ? memberValues(await runtime.client.withMembers(group, choice.uncovered)) : [];
    topped.set(group.id, found);
    const members = new Set([...remembered, ...found]);
    groups.set(group.id, withMemberIds(group, among.filter((u) => members.has(u))));
  }
  return { groups, verified, topped, counts: memberCheckCounts(choice, among), warnings: aheadWarnings(choice) };
}

/**
 * The managed groups with their members among `among` (the linked users whose accounts are listed,
 * or, with a PeopleReading, the accounts of those people), what finding them cost, and the
 * warnings for the target's plan.
 */
export async function readMembers(
  runtime: TargetRuntime,
  managed: readonly ServerResource[],
  among: readonly string[],
  reading: MemberReading | PeopleReading,
): Promise<{ groups: Map<string, ServerResource>; counts: MemberCheckCounts; warnings: string[] }> {
  const readAt = new Date().toISOString();
  const target = runtime.name;
  const ids = managed.map((g) => g.id);
  if ('people' in reading) {
    const memory = await reading.memory.read(target).catch((error: unknown) => {
      reading.unreadable(error);
      return NOTHING_REMEMBERED;
    });
    const { groups, counts, warnings } = await ask(runtime, managed, among, choosePeopleChecks(ids, among, memory, reading.everyMs, Date.now()));
    return { groups, counts, warnings };
  }
  const memory = await reading.memory.read(target);
  const choice = chooseMemberChecks(ids, among, memory, reading.settings, (reading.now ?? new Date()).getTime());
  const { groups, verified, topped, counts, warnings } = await ask(runtime, managed, among, choice);
  if (reading.record) await reading.memory.recordRead(target, { readAt, verified, topped, asked: choice.uncovered, users: among, groups: ids });
  return { groups, counts, warnings };
}

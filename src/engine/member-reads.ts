/**
 * Group members on a server that returns them nowhere (AWS), found through the member memory
 * (state/member-memory.ts): the groups planning/member-checks.ts picks are checked against every
 * linked user, the others answered from memory and asked only about the users it does not cover.
 * A cycle records what it read; `plan` and apply's check of a saved plan only read the memory.
 */
import type { TargetRuntime } from '../execution/executor.js';
import type { MemberCheckCounts } from '../model/plan.js';
import type { ServerResource } from '../model/scim.js';
import { memberValues } from '../planning/group-diff.js';
import { chooseMemberChecks, memberCheckCounts, type MemberCheckSettings } from '../planning/member-checks.js';
import type { MemberMemory } from '../state/member-memory.js';

export interface MemberReading {
  memory: MemberMemory;
  settings: MemberCheckSettings;
  /** Record what was read (a cycle, under its lock); false: the memory is only read. */
  record: boolean;
  /** The time the verification interval is measured at; default now. */
  now?: Date;
}

/** `members` in the shape ScimTarget.withMembers gives them. */
const withMemberIds = (group: ServerResource, ids: readonly string[]): ServerResource => ({ ...group, members: ids.map((value) => ({ value })) });

/**
 * The managed groups with their members among `among` (the linked users whose accounts are listed,
 * in that order), and what finding them cost. Groups are asked one after another, as listed.
 */
export async function readMembers(
  runtime: TargetRuntime,
  managed: readonly ServerResource[],
  among: readonly string[],
  reading: MemberReading,
): Promise<{ groups: Map<string, ServerResource>; counts: MemberCheckCounts }> {
  const readAt = new Date().toISOString();
  const target = runtime.name;
  const memory = await reading.memory.read(target);
  const ids = managed.map((g) => g.id);
  const choice = chooseMemberChecks(ids, among, memory, reading.settings, (reading.now ?? new Date()).getTime());
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
  if (reading.record) await reading.memory.recordRead(target, { readAt, verified, topped, asked: choice.uncovered, users: among, groups: ids });
  return { groups, counts: memberCheckCounts(choice, among) };
}

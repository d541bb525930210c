/**
 * The executor's side of the member memory (state/member-memory.ts), on a target whose server
 * returns group members nowhere (TargetRuntime.membersNowhere, AWS). Shared by the inline executor
 * and the BullMQ workers, so both keep the one memory the planner reads:
 * - a write the server confirmed is applied for exactly what it did (runOperation says it in
 *   OperationResult.members): members added and removed by a PATCH, a group created empty, a group
 *   set whole by PUT, a group deleted, a user created (in no group), a user deleted;
 * - a membership write that ended without success (failed, or skipped or left after an attempt that
 *   may have been carried out: a timeout, a 5xx after sending) makes its group forgotten, so the next
 *   cycle checks it against every linked user. A membership change split over several PATCHes that
 *   went through in part is the same: the PATCHes that failed forget the group.
 *
 * Best effort: the memory only saves requests. A change it could not record is followed by an
 * attempt to forget the group; failing that too, it keeps its state before the write, and the next
 * plan asks for the same change again, until the group's next verification.
 */
import type { Operation } from '../model/plan.js';
import type { LinkStore } from '../state/link-store.js';
import type { MemberMemory } from '../state/member-memory.js';

/** What a completed write tells the member memory. */
export type MemberFact =
  | { kind: 'members'; group: string; add: readonly string[]; remove: readonly string[] }
  /** Every member of the group is known: created empty, or set whole (PUT). */
  | { kind: 'set'; group: string; members: readonly string[] }
  /** The group was found rather than made (an earlier create's, or adopted): its members are not known. */
  | { kind: 'unknown'; group: string }
  | { kind: 'groupGone'; group: string }
  /** An account just created: in no group. */
  | { kind: 'newUser'; user: string }
  | { kind: 'userGone'; user: string };

const MEMBERSHIP_KINDS = new Set<Operation['kind']>(['patchGroupMembers', 'replaceGroup']);

export class MemberWrites {
  constructor(
    private readonly memory: MemberMemory,
    readonly target: string,
  ) {}

  /** A completed operation's fact, recorded. */
  async done(fact: MemberFact | undefined): Promise<void> {
    if (!fact) return;
    const { memory, target } = this;
    try {
      switch (fact.kind) {
        case 'members':
          return await memory.changed(target, fact.group, fact);
        case 'set':
          return await memory.replaced(target, fact.group, fact.members, new Date().toISOString());
        case 'unknown':
        case 'groupGone':
          return await memory.forgetGroup(target, fact.group);
        case 'newUser':
          return await memory.created(target, fact.user);
        case 'userGone':
          return await memory.dropUsers(target, [fact.user]);
      }
    } catch {
      if ('group' in fact) await memory.forgetGroup(target, fact.group).catch(() => undefined);
    }
  }

  /**
   * A membership operation that ended without success. `sent`: it made at least one attempt (one
   * that never started changed nothing). Its group, by its SCIM id or its link, is forgotten.
   */
  async undone(op: Operation, sent: boolean, links: Pick<LinkStore, 'get'>): Promise<void> {
    if (!sent || !MEMBERSHIP_KINDS.has(op.kind)) return;
    try {
      // As runOperation finds it: by the group's link, else the id the plan read.
      const group = (await links.get(this.target, 'group', op.externalId))?.id ?? ('scimId' in op ? op.scimId : undefined);
      if (group) await this.memory.forgetGroup(this.target, group);
    } catch {
      // See above: best effort.
    }
  }
}

/** The member writes of a target, when its server returns members nowhere and a memory is kept. */
export function memberWrites(memory: MemberMemory | undefined, target: string, membersNowhere: boolean | undefined): MemberWrites | undefined {
  return memory && membersNowhere ? new MemberWrites(memory, target) : undefined;
}

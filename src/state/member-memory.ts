/**
 * The membership scim-sync remembers on a target whose server returns group members nowhere (quirk
 * groupMembersInList: false, AWS IAM Identity Center), where the only way to learn a membership is
 * one filtered request per user and group. Per target: for each managed group, which linked users
 * (SCIM ids) are members and when the group was last checked against every linked user (its
 * verification); and the linked users the memory covers, whose membership in every remembered
 * group it knows. Planning answers from it instead of asking (planning/member-checks.ts decides
 * what is asked); every membership write the executor completes is applied to it, and a write that
 * may have done something else makes its group forgotten (execution/member-writes.ts).
 *
 * Kept in the state directory (embedded mode: `group-members.json`, written atomically, 0600) or in
 * Redis (distributed mode, redis-member-memory.ts), so workers and cycles on any machine share it.
 *
 * A write recorded while a planning read was under way makes that read doubtful: a group read
 * before the write and recorded after it would undo it. Such a group is forgotten instead (checked
 * in full next cycle); the time of the group's last write is what tells. Every write stamps it,
 * whether or not the memory holds the group (a group new to the memory, forgotten, or every group
 * on the first cycle with a memory is read in full, and a write during that read is just as
 * doubtful): PATCHes, PUTs and forgetting alike. A planning read consumes the stamps of the groups
 * it records.
 */
import { join } from 'node:path';
import * as z from 'zod';
import { StateError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { ensureStateDir, explainCode } from './state-dir.js';
import { readStateFile, stateJson, type StateShape } from './state-json.js';

/** What is remembered of one group. */
export interface RememberedGroup {
  /** ISO time its last full verification began (or scim-sync created it, or set all its members). */
  verifiedAt: string;
  /** SCIM ids of the members among the linked users. */
  members: string[];
  /** ISO time of the last write recorded since that verification. */
  changedAt?: string;
}

export interface TargetMembers {
  groups: Map<string, RememberedGroup>;
  /** Linked users (SCIM ids) whose membership in every remembered group is known. */
  users: Set<string>;
}

/** What a planning read learnt of a target, recorded in one step. */
export interface MemberRead {
  /** ISO time the read began: a group written since is forgotten rather than recorded. */
  readAt: string;
  /** Groups checked against every user of `users`: their members among them. */
  verified: ReadonlyMap<string, readonly string[]>;
  /** Remembered groups asked only about the users the memory did not cover: who of those is a member. */
  topped: ReadonlyMap<string, readonly string[]>;
  /** The users the topped groups were asked about: their answers replace what was remembered of them. */
  asked: readonly string[];
  /** Every linked user whose account is listed: covered from now on; anyone else is forgotten. */
  users: readonly string[];
  /** Every managed group: what is remembered of any other is forgotten. */
  groups: readonly string[];
}

/** A membership write the server confirmed. */
export interface MemberChange {
  add: readonly string[];
  remove: readonly string[];
}

export interface MemberMemory {
  read(target: string): Promise<TargetMembers>;
  /** A planning read (see MemberRead). */
  recordRead(target: string, read: MemberRead): Promise<void>;
  /** Members added and removed by a confirmed write; a group not remembered only gets the write's time. */
  changed(target: string, group: string, change: MemberChange): Promise<void>;
  /** A group whose every member is known now (made empty by scim-sync, or set whole by PUT): verified, and written, at `at`. */
  replaced(target: string, group: string, members: readonly string[], at: string): Promise<void>;
  /** Forgets a group after a write that may have changed it: its next plan checks it against every linked user. */
  forgetGroup(target: string, group: string): Promise<void>;
  /** A user scim-sync just created: a member of no group, so covered. */
  created(target: string, user: string): Promise<void>;
  /** Users whose accounts are gone: out of every group and of the covered users. */
  dropUsers(target: string, users: readonly string[]): Promise<void>;
}

const rememberedGroup: z.ZodType<RememberedGroup> = z.object({
  verifiedAt: z.iso.datetime(),
  members: z.array(z.string()),
  changedAt: z.iso.datetime().optional(),
});
const targetEntry = z.object({
  users: z.array(z.string()),
  groups: z.record(z.string(), rememberedGroup),
  /** ISO time of the last write recorded to each group the memory does not hold (a held group keeps it as changedAt). */
  changed: z.record(z.string(), z.iso.datetime()).optional(),
});
type TargetEntry = z.infer<typeof targetEntry>;
type FileData = { version: 1; targets: Record<string, TargetEntry> };

export const FORGET_FIX = 'fix or remove it (removing it makes the next cycle check every group of every such target against every linked user)';
const fileShape: StateShape<FileData> = {
  schema: z.object({ version: z.literal(1), targets: z.record(z.string(), targetEntry) }),
  what: 'a group membership memory ({version: 1, targets: {<target>: {users, groups}}})',
  fix: FORGET_FIX,
};

/** `at` is at or after `since`: a write at the very millisecond a read began counts as during it. */
export const notBefore = (at: string | undefined, since: string): boolean => at !== undefined && Date.parse(at) >= Date.parse(since);

/** A write to a group the memory does not hold: its time, for a read under way (see above). */
function stamp(entry: TargetEntry, group: string): void {
  (entry.changed ??= {})[group] = new Date().toISOString();
}

/** The TargetEntry as `read` gives it. */
function toMembers(entry: TargetEntry | undefined): TargetMembers {
  return {
    groups: new Map(Object.entries(entry?.groups ?? {}).map(([id, g]) => [id, { ...g, members: [...g.members] }])),
    users: new Set(entry?.users ?? []),
  };
}

export function membersFile(stateDir: string): string {
  return join(stateDir, 'group-members.json');
}

/**
 * Embedded mode: one file, read once and written through. Changes are applied in the order they
 * come; writes are coalesced (a change waits for the write in progress, then one write carries
 * every change made meanwhile), so the PATCHes of a large membership change cost no fsync each.
 */
export class FileMemberMemory implements MemberMemory {
  private readonly file: string;
  private data: FileData | undefined;
  private loading: Promise<FileData> | undefined;
  /** The write in progress, and the one that will carry the changes made since it began. */
  private writing: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  constructor(private readonly stateDir: string) {
    this.file = membersFile(stateDir);
  }

  async read(target: string): Promise<TargetMembers> {
    return toMembers((await this.load()).targets[target]);
  }

  recordRead(target: string, read: MemberRead): Promise<void> {
    return this.update(target, (entry) => {
      const managed = new Set(read.groups);
      for (const id of Object.keys(entry.groups)) if (!managed.has(id)) delete entry.groups[id];
      const users = new Set(read.users);
      entry.users = [...users];
      const asked = new Set(read.asked);
      for (const [id, g] of Object.entries(entry.groups)) {
        if (read.verified.has(id)) continue;
        const topped = read.topped.get(id) ?? [];
        // An answer given before a write would undo it (a member removed coming back, or one added
        // dropped): the group is forgotten.
        if (asked.size > 0 && notBefore(g.changedAt, read.readAt)) delete entry.groups[id];
        else g.members = [...new Set([...g.members.filter((u) => !asked.has(u)), ...topped])].filter((u) => users.has(u));
      }
      for (const [id, members] of read.verified) {
        if (notBefore(entry.groups[id]?.changedAt ?? entry.changed?.[id], read.readAt)) delete entry.groups[id];
        else entry.groups[id] = { verifiedAt: read.readAt, members: [...members] };
      }
      const changed = entry.changed ?? {};
      for (const id of Object.keys(changed)) if (!managed.has(id) || read.verified.has(id)) delete changed[id];
    });
  }

  changed(target: string, group: string, change: MemberChange): Promise<void> {
    return this.update(target, (entry) => {
      const g = entry.groups[group];
      if (!g) return stamp(entry, group);
      const members = new Set(g.members);
      for (const u of change.add) members.add(u);
      for (const u of change.remove) members.delete(u);
      g.members = [...members];
      g.changedAt = new Date().toISOString();
    });
  }

  replaced(target: string, group: string, members: readonly string[], at: string): Promise<void> {
    return this.update(target, (entry) => {
      entry.groups[group] = { verifiedAt: at, members: [...new Set(members)], changedAt: at };
      if (entry.changed) delete entry.changed[group];
    });
  }

  forgetGroup(target: string, group: string): Promise<void> {
    return this.update(target, (entry) => {
      delete entry.groups[group];
      stamp(entry, group);
    });
  }

  created(target: string, user: string): Promise<void> {
    return this.update(target, (entry) => {
      if (entry.users.includes(user)) return false;
      entry.users.push(user);
    });
  }

  dropUsers(target: string, users: readonly string[]): Promise<void> {
    if (users.length === 0) return Promise.resolve();
    const gone = new Set(users);
    return this.update(target, (entry) => {
      entry.users = entry.users.filter((u) => !gone.has(u));
      for (const g of Object.values(entry.groups)) g.members = g.members.filter((u) => !gone.has(u));
    });
  }

  /** Applies `change` (false: it changed nothing) and writes the file. */
  private async update(target: string, change: (entry: TargetEntry) => boolean | void): Promise<void> {
    const data = await this.load();
    const entry = data.targets[target] ?? { users: [], groups: {} };
    if (change(entry) === false) return;
    if (entry.changed && Object.keys(entry.changed).length === 0) delete entry.changed;
    if (entry.users.length === 0 && Object.keys(entry.groups).length === 0 && !entry.changed) delete data.targets[target];
    else data.targets[target] = entry;
    return this.flush();
  }

  private flush(): Promise<void> {
    if (this.next) return this.next;
    const after = this.writing ?? Promise.resolve();
    const next = after
      .catch(() => undefined)
      .then(() => {
        this.next = undefined;
        this.writing = next;
        return this.write();
      })
      .finally(() => {
        if (this.writing === next) this.writing = undefined;
      });
    this.next = next;
    return next;
  }

  private async write(): Promise<void> {
    try {
      ensureStateDir(this.stateDir);
      await writeFileAtomic(this.file, `${stateJson(this.data, 2)}\n`);
    } catch (error) {
      if (error instanceof StateError) throw error;
      throw new StateError(`cannot write ${this.file}: ${explainCode(error)}`, {}, { cause: error });
    }
  }

  private load(): Promise<FileData> {
    if (this.data) return Promise.resolve(this.data);
    this.loading ??= readStateFile(this.file, fileShape, { version: 1 as const, targets: {} }).then(
      (data) => (this.data = data),
      (error: unknown) => {
        this.loading = undefined;
        throw error;
      },
    );
    return this.loading;
  }
}

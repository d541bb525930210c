/**
 * Every Redis key of distributed mode, in one place: the link store, the target locks, the cycle
 * store and the BullMQ queues all build their names here. Every key starts with `queue.prefix`, so
 * several deployments can share one Redis. Renaming a key orphans what a running deployment keeps
 * under the old name.
 *
 * - `<prefix>:state:...`: our own records (links, locks, stored plans, outcomes, reports).
 * - `<prefix>:<queue>:...`: BullMQ's, for the queues named below (BullMQ adds the rest itself, given
 *   the prefix and the queue name).
 */
import type { ResourceKind } from './link-store.js';

/** One `phase` and `feed` job per target and phase (see execution/bullmq/queue-layout.ts). */
export const CONTROL_QUEUE = 'control';
/** The job scheduler's ticks and the cycles they start. */
export const SCHEDULE_QUEUE = 'schedule';
/** One job per chunk of a phase's operations; names derive from target names, which the config restricts to [A-Za-z0-9_-]. */
export const targetQueueName = (target: string): string => `target-${target}`;

export function redisKeys(prefix: string) {
  return {
    /** Hash per target and kind: externalId -> link JSON {id, hash} (redis-link-store.ts). */
    links: (target: string, kind: ResourceKind) => `${prefix}:state:links:${target}:${kind}`,
    /** SCAN MATCH pattern of every link hash (prefixes and target names have no glob characters). */
    allLinks: `${prefix}:state:links:*`,
    /** The target and kind a link hash's key names; null for any other key. */
    linksOf: (key: string): { target: string; kind: ResourceKind } | null => {
      const m = key.startsWith(`${prefix}:state:links:`) ? /^(.+):(user|group)$/.exec(key.slice(`${prefix}:state:links:`.length)) : null;
      return m ? { target: m[1]!, kind: m[2] as ResourceKind } : null;
    },
    /** String: the token of whoever holds the target's cycle lock (redis-run-lock.ts). */
    lock: (target: string) => `${prefix}:state:lock:${target}`,
    /** Hash: meta (PlanMeta JSON), phase:<i> (Operation[] JSON). */
    plan: (planId: string, target: string) => `${prefix}:state:plan:${planId}:${target}`,
    /** SCAN MATCH pattern of every stored plan of a target (target names have no glob characters). */
    plansOf: (target: string) => `${prefix}:state:plan:*:${target}`,
    /** Hash: opId -> OutcomeEntry JSON, written by the worker before its chunk's job completes. */
    outcomes: (planId: string, target: string) => `${prefix}:state:outcomes:${planId}:${target}`,
    /** Hash: '<user|group>\n<externalId>' -> FailedIdentity JSON, for each create that failed (dependencies.ts). */
    failed: (planId: string, target: string) => `${prefix}:state:failed:${planId}:${target}`,
    /** String: how many accounts the cycle's workers made again when an update found one gone (CycleStore.recreateBudget). */
    recreates: (planId: string, target: string) => `${prefix}:state:recreates:${planId}:${target}`,
    /** String: TargetStop JSON {kind, reason}, why the cycle stopped sending to this target (a rejected credential, a worker config differing from the planner's, the lock lost); a bare reason from an earlier version. */
    stopped: (planId: string, target: string) => `${prefix}:state:stopped:${planId}:${target}`,
    /** String: CycleReport JSON once the cycle's last phase is done. */
    report: (planId: string, target: string) => `${prefix}:state:report:${planId}:${target}`,
    /** Hash per target: dead letter id -> DeadLetter JSON, each operation that failed for good (its latest failure), until `retry` takes it, a later cycle does it, or queue.failedRetentionHours pass (execution/bullmq/dead-letters.ts). */
    deadLetters: (target: string) => `${prefix}:state:dead-letters:${target}`,
    /** Sorted set per target: dead letter ids by the time they failed (ms). */
    deadLetterOrder: (target: string) => `${prefix}:state:dead-letter-order:${target}`,
    /** Hash per target: an operation's identity (deadLetterKey) -> the id of its dead letter, the one kept of its failures. */
    deadLetterIndex: (target: string) => `${prefix}:state:dead-letter-index:${target}`,
    /** String: the latest CycleReport of a target, until queue.failedRetentionHours after it was written (CycleStore.finish, setLastCycle). */
    lastCycle: (target: string) => `${prefix}:state:last-cycle:${target}`,
    /** Hash per target: attribute -> LearnedShape JSON, the PATCH shape it is kept in (redis-write-memory.ts). */
    shapes: (target: string) => `${prefix}:state:shapes:${target}`,
    /** Hash per target: parked change key -> ParkedEntry JSON (redis-write-memory.ts). */
    parked: (target: string) => `${prefix}:state:parked:${target}`,
    /** Hash per target: group SCIM id -> ISO time of its last full verification, for each remembered group (redis-member-memory.ts). */
    memberVerified: (target: string) => `${prefix}:state:member-verified:${target}`,
    /** Hash per target: group SCIM id -> ISO time of the last membership write recorded since that verification. */
    memberChanged: (target: string) => `${prefix}:state:member-changed:${target}`,
    /** Set per target and remembered group: the SCIM ids of its members among the linked users. */
    members: (target: string, group: string) => `${prefix}:state:members:${target}:${group}`,
    /** Set per target: the linked users (SCIM ids) whose membership in every remembered group is known. */
    memberUsers: (target: string) => `${prefix}:state:member-users:${target}`,
    /** Hash: target -> QuarantineEntry JSON, for each quarantined target (quarantine-store.ts). */
    quarantine: `${prefix}:state:quarantine`,
    /** Hash: target -> FirstSyncEntry JSON, for each target whose first sync began and has not completed (first-sync-store.ts). */
    firstSyncs: `${prefix}:state:first-syncs`,
    /** Hash: source key -> Hold JSON, for each emergency hold (holds.ts). */
    holds: `${prefix}:state:holds`,
    /** Hash: staged set id -> StagedSet JSON, for each set awaiting approve or reject (staged-store.ts). */
    staged: `${prefix}:state:staged`,
    /** Hash: staged set id -> StagedSet JSON, for each set taken by an approve or reject not yet carried out. */
    stagedTaken: `${prefix}:state:staged:taken`,
    /** Hash: staged set id -> its taker's JSON {pid, host, since, token, start, beat (ms, Redis's clock)}, for each taken set. */
    stagedTakers: `${prefix}:state:staged:takers`,
    /** Hash: '<target>\n<source key>' -> RejectionEntry JSON, for each rejected deprovision (rejection-store.ts). */
    rejections: `${prefix}:state:rejections`,
    /** Hash: source key -> time (ms) of the source read behind the newest change-driven decision applied for that person (person-clock.ts). */
    personClock: `${prefix}:state:person-clock`,
    /** BullMQ's key of a queue, as a job names its parent's queue. */
    queue: (name: string) => `${prefix}:${name}`,
    /** BullMQ's limiter count of a queue: jobs let through in the current window, which expires with it. */
    limiter: (name: string) => `${prefix}:${name}:limiter`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;

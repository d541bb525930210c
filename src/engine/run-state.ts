/**
 * What a command holds while it runs: the link store, the audit log, the lock, and the executor of
 * the mode (embedded or distributed). Types only, and the halt controller both modes share; the two
 * ways to open it are state.ts (embedded) and redis-state.ts (distributed).
 */
import type { AuditSink, Initiator } from '../audit/audit-sink.js';
import type { AuditSinkOptions } from '../audit/jsonl-audit-sink.js';
import type { LoadedConfig } from '../config/load.js';
import type { Executor } from '../execution/executor.js';
import type { HoldStore } from '../state/holds.js';
import type { LinkInventory, LinkStore } from '../state/link-store.js';
import type { PersonClock } from '../state/person-clock.js';
import type { QuarantineStore } from '../state/quarantine-store.js';
import type { RejectionStore } from '../state/rejection-store.js';
import type { StagedStore } from '../state/staged-store.js';
import type { FirstSyncStore } from '../state/first-sync-store.js';
import type { WriteMemory } from '../state/write-memory.js';
import type { MemberMemory } from '../state/member-memory.js';
import type { SyncObserver } from '../telemetry/sync-events.js';
import type { RecentChanges } from '../planning/safety.js';

export interface ExecutorOptions {
  /** Distributed: wait for the workers and report, else return once enqueued. */
  wait: boolean;
  /** Distributed, with `wait`: report what is still running as such after this long. */
  waitTimeoutMs?: number;
  /** The operator's stop (SIGINT/SIGTERM): start no further operation, let those in flight finish. */
  signal?: AbortSignal;
  /**
   * The service's full cycles: an operation whose person a change-driven sync decided on a source
   * read newer than this is skipped as superseded (state/person-clock.ts), in this process or on the
   * workers.
   */
  guardSince?: Date;
  /** Distributed: run here rather than on the workers (the service's change-driven batches: a few operations that must not queue behind a cycle). */
  inline?: boolean;
  /** Who started this work, when not the state's own initiator (the service's change-driven syncs). */
  initiator?: { initiator: Initiator; by?: string };
  /** Told each target's total, each operation's outcome and each retry, where the operations run here (progress, metrics). */
  observer?: SyncObserver;
  /** Inline: what the service's change-driven batches did within the safety window (their re-creates count against this apply's). */
  recent?: RecentChanges;
}

/**
 * The decisions kept between cycles, each behind one interface with a file adapter (the state
 * directory) and a Redis adapter (distributed mode, shared by every machine): picked together by
 * `fileStores` (state.ts) or `redisStores` (redis-state.ts), never one by one.
 */
export interface DecisionStores {
  /** Quarantined targets. */
  quarantine: QuarantineStore;
  /** Emergency holds (`scim-sync deprovision`). */
  holds: HoldStore;
  /** Staged change sets a safety stop left for approve or reject. */
  staged: StagedStore;
  /** Rejected deprovisions (`scim-sync reject`). */
  rejections: RejectionStore;
  /** Learned PATCH shapes and parked changes (what a target keeps, and what it never keeps). */
  memory: WriteMemory;
  /** Group members remembered on servers that return them nowhere (AWS). */
  members: MemberMemory;
  /** Targets whose first sync began and has not completed: the create check judges them as first syncs. */
  firstSyncs: FirstSyncStore;
}

export interface RunState extends DecisionStores {
  links: LinkStore & LinkInventory;
  audit: AuditSink;
  /** True in distributed mode: plans are executed by `scim-sync worker` processes. */
  distributed: boolean;
  /**
   * Aborted, with the StateError as its reason, when an audit or link journal write fails: the
   * executor starts no further operation, since what it did could no longer be recorded.
   */
  halted: AbortSignal;
  executor(options: ExecutorOptions): Executor;
  /** The order per person between full cycles and change-driven syncs (the service). */
  personClock: PersonClock;
  /**
   * Distributed mode, a state opened without the lock (the service): takes the cycle locks of the
   * targets that are free, for one cycle. The returned state executes on the workers under them;
   * `release` frees those not handed off to the enqueued cycle.
   */
  lockCycle?(targets: readonly string[]): Promise<{ state: RunState; targets: readonly string[]; busy: readonly string[]; release(): Promise<void> }>;
  /** Writes what is pending, releases the lock; throws the first write failure, if any. */
  close(): Promise<void>;
}

export interface OpenStateOptions {
  /** Take the run lock first (every command that writes does). */
  lock: boolean;
  audit: boolean;
  /** Read links only; create, fold and empty nothing (plan, check). */
  readOnly?: boolean;
  /** Distributed mode locks per target: the targets this run writes to. Default every enabled target. */
  targets?: readonly string[];
  /** Told about Redis connection trouble (distributed mode). */
  log?: (line: string) => void;
  /**
   * Distributed mode: a process that lives on (serve), whose Redis commands wait across reconnects
   * for as long as Redis is away. Default: a command that ends, whose Redis commands give up after
   * queue.commandTimeoutMs (state/redis-connection.ts).
   */
  longLived?: boolean;
  /** Who started this work, stamped on the audit records that do not say (`by`: user@host for the CLI). */
  initiator?: { initiator: Initiator; by?: string };
}

/** How a command's audit log is opened: the config's settings, who started the work, and the halt. */
export function auditOptions(loaded: LoadedConfig, options: OpenStateOptions, onFailure: (error: Error) => void): AuditSinkOptions {
  return { onFailure, settings: loaded.config.audit, ...(options.initiator ? { initiator: options.initiator } : {}) };
}

/** The controller behind `RunState.halted`: the first failure wins. */
export function haltOnFailure(): { signal: AbortSignal; fail(error: Error): void } {
  const controller = new AbortController();
  return {
    signal: controller.signal,
    fail: (error) => {
      if (!controller.signal.aborted) controller.abort(error);
    },
  };
}

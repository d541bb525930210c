/**
 * What a command holds while it runs: the link store, the audit log, the lock, and the executor of
 * the mode (embedded or distributed). Types only, and the halt controller both modes share; the two
 * ways to open it are state.ts (embedded) and redis-state.ts (distributed).
 */
import type { AuditSink, Initiator } from '../audit/audit-sink.js';
import type { AuditSinkOptions } from '../audit/jsonl-audit-sink.js';
import type { LoadedConfig } from '../config/load.js';
import type { Executor } from '../execution/executor.js';
import type { LinkStore } from '../state/link-store.js';
import type { QuarantineStore } from '../state/quarantine-store.js';
import type { WriteMemory } from '../state/write-memory.js';

export interface ExecutorOptions {
  /** Distributed: wait for the workers and report, else return once enqueued. */
  wait: boolean;
  /** Distributed, with `wait`: report what is still running as such after this long. */
  waitTimeoutMs?: number;
  /** The operator's stop (SIGINT/SIGTERM): start no further operation, let those in flight finish. */
  signal?: AbortSignal;
}

export interface RunState {
  links: LinkStore;
  audit: AuditSink;
  /** Quarantined targets: quarantine.json, or Redis in distributed mode. */
  quarantine: QuarantineStore;
  /** Learned PATCH shapes and parked changes: two files of the state directory, or Redis in distributed mode. */
  memory: WriteMemory;
  /** True in distributed mode: plans are executed by `scim-sync worker` processes. */
  distributed: boolean;
  /**
   * Aborted, with the StateError as its reason, when an audit or link journal write fails: the
   * executor starts no further operation, since what it did could no longer be recorded.
   */
  halted: AbortSignal;
  executor(options: ExecutorOptions): Executor;
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

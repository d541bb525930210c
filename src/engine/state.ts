/**
 * The state of one run: link store, run lock and audit log, opened and closed together, and the
 * executor that goes with them. Embedded by default (files in the state directory, inline executor);
 * distributed when `queue.redis` is set (redis-state.ts: Redis links and per-target locks, BullMQ).
 */
import type { LoadedConfig } from '../config/load.js';
import { NO_AUDIT, type AuditSink } from '../audit/audit-sink.js';
import { JsonlAuditSink } from '../audit/jsonl-audit-sink.js';
import type { Executor } from '../execution/executor.js';
import { InlineExecutor } from '../execution/inline-executor.js';
import { FileLinkStore } from '../state/file-link-store.js';
import type { LinkStore } from '../state/link-store.js';
import { acquireRunLock, type RunLock } from '../state/run-lock.js';
import { openRedisState } from './redis-state.js';

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

export async function openState(loaded: LoadedConfig, options: OpenStateOptions): Promise<RunState> {
  if (loaded.config.queue) return openRedisState(loaded, options);
  const halt = haltOnFailure();
  const lock: RunLock | null = options.lock ? await acquireRunLock(loaded.stateDir, { config: loaded.file }) : null;
  try {
    const links = await FileLinkStore.open(loaded.stateDir, options.readOnly ? { readOnly: true } : { onFailure: halt.fail });
    const audit: AuditSink = options.audit ? new JsonlAuditSink(loaded.auditFile, halt.fail) : NO_AUDIT;
    return {
      links,
      audit,
      distributed: false,
      halted: halt.signal,
      executor: ({ signal }) => new InlineExecutor({ links, audit, stop: signal ? AbortSignal.any([halt.signal, signal]) : halt.signal }),
      close: async () => {
        try {
          try {
            await links.close();
          } finally {
            // The audit lines of the last turn are written even when the link snapshot fails.
            await audit.close();
          }
        } finally {
          await lock?.release();
        }
      },
    };
  } catch (error) {
    await lock?.release();
    throw error;
  }
}

/**
 * The state of one run: link store, run lock and audit log, opened and closed together, and the
 * executor that goes with them. Embedded by default (files in the state directory, inline executor);
 * distributed when `queue.redis` is set (redis-state.ts: Redis links and per-target locks, BullMQ).
 */
import type { LoadedConfig } from '../config/load.js';
import type { AuditSink } from '../audit/audit-sink.js';
import { JsonlAuditSink } from '../audit/jsonl-audit-sink.js';
import type { Executor } from '../execution/executor.js';
import { InlineExecutor } from '../execution/inline-executor.js';
import { FileLinkStore } from '../state/file-link-store.js';
import type { LinkStore } from '../state/link-store.js';
import { acquireRunLock, type RunLock } from '../state/run-lock.js';
import { openRedisState } from './redis-state.js';

export interface RunState {
  links: LinkStore;
  audit: AuditSink;
  /** True in distributed mode: plans are executed by `scim-sync worker` processes. */
  distributed: boolean;
  /**
   * The executor of this mode. `wait` (distributed): wait for the workers and report, else return
   * once enqueued; `waitTimeoutMs`: report what is still running as such after this long.
   */
  executor(options: { wait: boolean; waitTimeoutMs?: number }): Executor;
  close(): Promise<void>;
}

export interface OpenStateOptions {
  /** Take the run lock first (every command that writes does). */
  lock: boolean;
  audit: boolean;
  /** Distributed mode locks per target: the targets this run writes to. Default every enabled target. */
  targets?: readonly string[];
  /** Told about Redis connection trouble (distributed mode). */
  log?: (line: string) => void;
}

export async function openState(loaded: LoadedConfig, options: OpenStateOptions): Promise<RunState> {
  if (loaded.config.queue) return openRedisState(loaded, options);
  const lock: RunLock | null = options.lock ? await acquireRunLock(loaded.stateDir) : null;
  try {
    const links = await FileLinkStore.open(loaded.stateDir);
    const audit: AuditSink = options.audit ? new JsonlAuditSink(loaded.auditFile) : { record: () => undefined, close: async () => undefined };
    return {
      links,
      audit,
      distributed: false,
      executor: () => new InlineExecutor({ links, audit }),
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

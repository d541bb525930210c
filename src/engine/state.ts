/**
 * The state of one run: link store, run lock and audit log, opened and closed together, and the
 * executor that goes with them. Embedded by default (files in the state directory, inline executor);
 * distributed when `queue.redis` is set (redis-state.ts: Redis links and per-target locks, BullMQ).
 */
import type { LoadedConfig } from '../config/load.js';
import { NO_AUDIT, type AuditSink } from '../audit/audit-sink.js';
import { JsonlAuditSink } from '../audit/jsonl-audit-sink.js';
import { InlineExecutor } from '../execution/inline-executor.js';
import { FileLinkStore } from '../state/file-link-store.js';
import { FileQuarantineStore } from '../state/quarantine-store.js';
import { FileWriteMemory } from '../state/write-memory.js';
import { acquireRunLock, type RunLock } from '../state/run-lock.js';
import { auditOptions, haltOnFailure, type OpenStateOptions, type RunState } from './run-state.js';

export async function openState(loaded: LoadedConfig, options: OpenStateOptions): Promise<RunState> {
  // Loaded only in distributed mode: BullMQ and ioredis are most of a cold start.
  if (loaded.config.queue) return (await import('./redis-state.js')).openRedisState(loaded, options);
  const halt = haltOnFailure();
  const lock: RunLock | null = options.lock ? await acquireRunLock(loaded.stateDir, { config: loaded.file }) : null;
  try {
    const links = await FileLinkStore.open(loaded.stateDir, options.readOnly ? { readOnly: true } : { onFailure: halt.fail });
    const audit: AuditSink = options.audit ? new JsonlAuditSink(loaded.auditFile, auditOptions(loaded, options, halt.fail)) : NO_AUDIT;
    const memory = new FileWriteMemory(loaded.stateDir);
    return {
      links,
      audit,
      quarantine: new FileQuarantineStore(loaded.stateDir),
      memory,
      distributed: false,
      halted: halt.signal,
      executor: ({ signal }) => new InlineExecutor({ links, audit, memory, stop: signal ? AbortSignal.any([halt.signal, signal]) : halt.signal }),
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

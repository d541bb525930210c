/**
 * The state of one run: link store, run lock and audit log, opened and closed together, and the
 * executor that goes with them. Embedded by default (files in the state directory, inline executor);
 * distributed when `queue.redis` is set (redis-state.ts: Redis links and per-target locks, BullMQ).
 */
import type { LoadedConfig } from '../config/load.js';
import { NO_AUDIT, withInitiator, type AuditSink } from '../audit/audit-sink.js';
import { JsonlAuditSink } from '../audit/jsonl-audit-sink.js';
import { InlineExecutor } from '../execution/inline-executor.js';
import { FileLinkStore } from '../state/file-link-store.js';
import { MemoryPersonClock } from '../state/person-clock.js';
import { FileHoldStore } from '../state/holds.js';
import { FileQuarantineStore } from '../state/quarantine-store.js';
import { FileRejectionStore } from '../state/rejection-store.js';
import { FileWriteMemory } from '../state/write-memory.js';
import { FileMemberMemory } from '../state/member-memory.js';
import { acquireRunLock, type RunLock } from '../state/run-lock.js';
import { FileStagedStore } from '../state/staged-store.js';
import { FileFirstSyncStore } from '../state/first-sync-store.js';
import { auditOptions, haltOnFailure, type DecisionStores, type OpenStateOptions, type RunState } from './run-state.js';

/** Embedded mode's decision stores: files in the state directory, written under its run lock. */
export function fileStores(stateDir: string): DecisionStores {
  return {
    quarantine: new FileQuarantineStore(stateDir),
    holds: new FileHoldStore(stateDir),
    staged: new FileStagedStore(stateDir),
    rejections: new FileRejectionStore(stateDir),
    memory: new FileWriteMemory(stateDir),
    members: new FileMemberMemory(stateDir),
    firstSyncs: new FileFirstSyncStore(stateDir),
  };
}

export async function openState(loaded: LoadedConfig, options: OpenStateOptions): Promise<RunState> {
  // Loaded only in distributed mode: BullMQ and ioredis are most of a cold start.
  if (loaded.config.queue) return (await import('./redis-state.js')).openRedisState(loaded, options);
  const halt = haltOnFailure();
  const personClock = new MemoryPersonClock();
  const lock: RunLock | null = options.lock ? await acquireRunLock(loaded.stateDir, { config: loaded.file }) : null;
  try {
    // Read in the background: a plan starts its targets' reads meanwhile, and waits for it (LinkStore.loaded).
    const links = await FileLinkStore.open(loaded.stateDir, { background: true, ...(options.readOnly ? { readOnly: true } : { onFailure: halt.fail }) });
    const audit: AuditSink = options.audit ? new JsonlAuditSink(loaded.auditFile, auditOptions(loaded, options, halt.fail)) : NO_AUDIT;
    const stores = fileStores(loaded.stateDir);
    return {
      links,
      audit,
      ...stores,
      distributed: false,
      halted: halt.signal,
      personClock,
      executor: ({ signal, guardSince, initiator, observer, recent }) =>
        new InlineExecutor({
          ...(observer ? { observer } : {}),
          ...(recent ? { recent } : {}),
          links,
          safety: loaded.config.safety,
          audit: initiator ? withInitiator(audit, initiator) : audit,
          memory: stores.memory,
          members: stores.members,
          stop: signal ? AbortSignal.any([halt.signal, signal]) : halt.signal,
          ...(guardSince ? { superseded: personClock.superseded(guardSince) } : {}),
        }),
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

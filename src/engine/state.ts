/** The embedded state of one run: run lock, link store and audit log, opened and closed together. */
import type { LoadedConfig } from '../config/load.js';
import type { AuditSink } from '../audit/audit-sink.js';
import { JsonlAuditSink } from '../audit/jsonl-audit-sink.js';
import { FileLinkStore } from '../state/file-link-store.js';
import type { LinkStore } from '../state/link-store.js';
import { acquireRunLock, type RunLock } from '../state/run-lock.js';

export interface RunState {
  links: LinkStore;
  audit: AuditSink;
  close(): Promise<void>;
}

/** `lock`: take the run lock first (every command that writes does). */
export async function openState(loaded: LoadedConfig, options: { lock: boolean; audit: boolean }): Promise<RunState> {
  const lock: RunLock | null = options.lock ? await acquireRunLock(loaded.stateDir) : null;
  try {
    const links = await FileLinkStore.open(loaded.stateDir);
    const audit: AuditSink = options.audit ? new JsonlAuditSink(loaded.auditFile) : { record: () => undefined, close: async () => undefined };
    return {
      links,
      audit,
      close: async () => {
        try {
          await links.close();
          await audit.close();
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

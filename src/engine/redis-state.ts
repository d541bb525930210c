/**
 * The state of one run in distributed mode: links in Redis, one lock per target (so a target is in
 * one cycle at a time, whichever machine started it), the local audit log, and the BullMQ executor.
 */
import { NO_AUDIT, type AuditSink } from '../audit/audit-sink.js';
import { JsonlAuditSink } from '../audit/jsonl-audit-sink.js';
import type { LoadedConfig } from '../config/load.js';
import { BullmqExecutor } from '../execution/bullmq/bullmq-executor.js';
import { connectRedis } from '../state/redis-connection.js';
import { RedisLinkStore } from '../state/redis-link-store.js';
import { RedisQuarantineStore } from '../state/quarantine-store.js';
import { RedisWriteMemory } from '../state/redis-write-memory.js';
import { acquireTargetLocks, type TargetLocks } from '../state/redis-run-lock.js';
import { selectTargets } from '../config/select-targets.js';
import { auditOptions, haltOnFailure, type OpenStateOptions, type RunState } from './run-state.js';

export async function openRedisState(loaded: LoadedConfig, options: OpenStateOptions): Promise<RunState> {
  const q = loaded.config.queue!;
  const halt = haltOnFailure();
  const redis = await connectRedis(q.redis, { ...(options.log ? { onError: options.log } : {}) });
  let locks: TargetLocks | null = null;
  try {
    if (options.lock) {
      const targets = options.targets ?? selectTargets(loaded).map(([name]) => name);
      locks = (await acquireTargetLocks(redis, q.prefix, targets)).locks;
    }
    const audit: AuditSink = options.audit ? new JsonlAuditSink(loaded.auditFile, auditOptions(loaded, options, halt.fail)) : NO_AUDIT;
    const held = locks;
    return {
      links: new RedisLinkStore(redis, q.prefix),
      audit,
      quarantine: new RedisQuarantineStore(redis, q.prefix),
      memory: new RedisWriteMemory(redis, q.prefix),
      distributed: true,
      halted: halt.signal,
      executor: ({ wait, waitTimeoutMs, signal }) => {
        if (!held) throw new Error('openState: executing needs the lock');
        return new BullmqExecutor({
          redis,
          queue: q,
          locks: held,
          wait,
          ...(waitTimeoutMs !== undefined ? { waitTimeoutMs } : {}),
          ...(signal ? { signal } : {}),
          ...(options.log ? { log: options.log } : {}),
        });
      },
      close: async () => {
        try {
          await audit.close();
        } finally {
          await locks?.release();
          redis.disconnect();
        }
      },
    };
  } catch (error) {
    await locks?.release();
    redis.disconnect();
    throw error;
  }
}

/**
 * The state of one run in distributed mode: links and the decision stores in Redis, one lock per
 * target (so a target is in one cycle at a time, whichever machine started it), the local audit
 * log, and the BullMQ executor.
 */
import { NO_AUDIT, withInitiator, type AuditSink } from '../audit/audit-sink.js';
import { JsonlAuditSink } from '../audit/jsonl-audit-sink.js';
import type { LoadedConfig } from '../config/load.js';
import { BullmqExecutor } from '../execution/bullmq/bullmq-executor.js';
import type { Executor } from '../execution/executor.js';
import { InlineExecutor } from '../execution/inline-executor.js';
import type { Redis } from 'ioredis';
import { RedisHoldStore } from '../state/holds.js';
import { connectRedis } from '../state/redis-connection.js';
import { redisStep } from '../state/redis-errors.js';
import { RedisLinkStore } from '../state/redis-link-store.js';
import { RedisPersonClock } from '../state/person-clock.js';
import { RedisQuarantineStore } from '../state/quarantine-store.js';
import { RedisRejectionStore } from '../state/rejection-store.js';
import { RedisWriteMemory } from '../state/redis-write-memory.js';
import { RedisMemberMemory } from '../state/redis-member-memory.js';
import { acquireTargetLocks, type TargetLocks } from '../state/redis-run-lock.js';
import { RedisStagedStore } from '../state/staged-store.js';
import { RedisFirstSyncStore } from '../state/first-sync-store.js';
import { selectTargets } from '../config/select-targets.js';
import { auditOptions, haltOnFailure, type DecisionStores, type ExecutorOptions, type OpenStateOptions, type RunState } from './run-state.js';

/** Distributed mode's decision stores: Redis hashes under the prefix, seen alike by every machine. */
export function redisStores(redis: Redis, prefix: string): DecisionStores {
  return {
    quarantine: new RedisQuarantineStore(redis, prefix),
    holds: new RedisHoldStore(redis, prefix),
    staged: new RedisStagedStore(redis, prefix),
    rejections: new RedisRejectionStore(redis, prefix),
    memory: new RedisWriteMemory(redis, prefix),
    members: new RedisMemberMemory(redis, prefix),
    firstSyncs: new RedisFirstSyncStore(redis, prefix),
  };
}

export async function openRedisState(loaded: LoadedConfig, options: OpenStateOptions): Promise<RunState> {
  const q = loaded.config.queue!;
  const halt = haltOnFailure();
  const redis = await connectRedis(q.redis, { ...(options.log ? { onError: options.log } : {}), ...(options.longLived ? {} : { commandTimeoutMs: q.commandTimeoutMs }) });
  let locks: TargetLocks | null = null;
  try {
    if (options.lock) {
      const targets = options.targets ?? selectTargets(loaded).map(([name]) => name);
      locks = (await redisStep(q.redis, `taking the cycle locks of ${targets.join(', ')}`, () => acquireTargetLocks(redis, q.prefix, targets))).locks;
    }
    const audit: AuditSink = options.audit ? new JsonlAuditSink(loaded.auditFile, auditOptions(loaded, options, halt.fail)) : NO_AUDIT;
    const links = new RedisLinkStore(redis, q.prefix);
    const stores = redisStores(redis, q.prefix);
    /** The executor of a state whose cycle locks are `held` (null: opened without the lock). */
    const executorUnder = (held: TargetLocks | null) => ({ wait, waitTimeoutMs, signal, guardSince, inline, initiator, observer, recent }: ExecutorOptions): Executor => {
      const stamped = initiator ? withInitiator(audit, initiator) : audit;
      if (inline) {
        return new InlineExecutor({ links, safety: loaded.config.safety, audit: stamped, memory: stores.memory, members: stores.members, stop: signal ? AbortSignal.any([halt.signal, signal]) : halt.signal, ...(observer ? { observer } : {}), ...(recent ? { recent } : {}) });
      }
      if (!held) throw new Error('openState: executing on the workers needs the lock');
      return new BullmqExecutor({
        redis,
        queue: q,
        safety: loaded.config.safety,
        locks: held,
        wait,
        ...(waitTimeoutMs !== undefined ? { waitTimeoutMs } : {}),
        ...(signal ? { signal } : {}),
        ...(guardSince ? { guardSince } : {}),
        ...(options.log ? { log: options.log } : {}),
        ...(observer ? { observer } : {}),
      });
    };
    const state: RunState = {
      links,
      audit,
      ...stores,
      distributed: true,
      halted: halt.signal,
      personClock: new RedisPersonClock(redis, q.prefix),
      executor: executorUnder(locks),
      lockCycle: async (targets) => {
        const { locks: cycle, busy } = await acquireTargetLocks(redis, q.prefix, targets, { skipBusy: true });
        return { state: { ...state, executor: executorUnder(cycle) }, targets: cycle.targets, busy: busy.map((b) => b.target), release: () => cycle.release() };
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
    return state;
  } catch (error) {
    await locks?.release();
    redis.disconnect();
    throw error;
  }
}

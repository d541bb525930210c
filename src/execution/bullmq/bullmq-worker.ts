/**
 * The BullMQ side of distributed mode: `scim-sync worker` starts a worker on each of its targets'
 * queues (chunk-jobs.ts) and one on the control queue (phase-jobs.ts), all sharing one
 * WorkerContext, and closes them on the way out.
 */
import { RedisPersonClock } from '../../state/person-clock.js';
import { FlowProducer, Queue, Worker, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AuditSink } from '../../audit/audit-sink.js';
import type { LoadedConfig } from '../../config/load.js';
import type { QueueConfig } from '../../config/schema/index.js';
import { CONTROL_QUEUE, redisKeys, targetQueueName } from '../../state/redis-keys.js';
import { RedisLinkStore } from '../../state/redis-link-store.js';
import { RedisWriteMemory } from '../../state/redis-write-memory.js';
import { RedisMemberMemory } from '../../state/redis-member-memory.js';
import { memberWrites, type MemberWrites } from '../member-writes.js';
import { WriteChecks } from '../write-checks.js';
import type { TargetRuntime } from '../executor.js';
import { createTargetRuntime } from '../target-runtime.js';
import { Lanes } from '../lanes.js';
import { CycleStore } from './cycle-store.js';
import { LockKeeper } from './lock-keeper.js';
import { chunkProcessor } from './chunk-jobs.js';
import { controlProcessor } from './phase-jobs.js';
import { MAX_STALLED_COUNT, chunkSize, chunksInFlight, limiterOf, type AnyChunkJobData, type PhaseJobData } from './queue-layout.js';
import { StopTracker } from './stop-tracker.js';
import { CycleBreakers } from './cycle-breakers.js';
import type { WorkerContext } from './worker-context.js';
import type { SyncObserver } from '../../telemetry/sync-events.js';
import type { Log } from '../../telemetry/logger.js';

/** Control jobs in flight per worker process: they only talk to Redis. */
const CONTROL_CONCURRENCY = 4;

/** Write checks kept per process: the plans of the last few cycles of each target. */
const CHECKS_KEPT = 16;

export interface StartWorkersOptions {
  loaded: LoadedConfig;
  redis: Redis;
  /** Targets whose operations this process executes (phase jobs are taken for every target). */
  targets: readonly string[];
  audit: AuditSink;
  /** One line per notable event (cycle done, connection trouble). */
  log: Log;
  /** Worker name shown by `status` (BullMQ's processedBy). */
  name: string;
  /** Told each operation's outcome, each retry, and each target's cycle end (metrics). */
  observer?: SyncObserver;
}

export interface WorkerHandle {
  /** Stop taking jobs, finish the ones in flight, then return. */
  close(): Promise<void>;
}

export async function startWorkers(options: StartWorkersOptions): Promise<WorkerHandle> {
  const { loaded, redis } = options;
  const q = loaded.config.queue as QueueConfig;
  const connection = { connection: redis, prefix: q.prefix };
  const store = CycleStore.of(redis, q);
  const queues = new Map<string, Queue<AnyChunkJobData>>();
  const runtimes = new Map<string, TargetRuntime>();
  const slots = new Map<string, Lanes>();
  for (const name of options.targets) {
    const runtime = createTargetRuntime(name, loaded.config.targets[name]!);
    runtimes.set(name, runtime);
    slots.set(name, new Lanes(runtime.concurrency));
  }
  const stops = new StopTracker(store);
  const closing = new AbortController();
  const memory = new RedisWriteMemory(redis, q.prefix);
  const members = new RedisMemberMemory(redis, q.prefix);
  const memberWritesOf = new Map<string, MemberWrites | undefined>([...runtimes].map(([name, runtime]) => [name, memberWrites(members, name, runtime.membersNowhere)]));
  // One per plan and target in this process: what it read back once is not read back again (another
  // worker process learns it for itself, or from Redis once learned).
  const checks = new Map<string, Promise<WriteChecks>>();
  const writeChecks = (planId: string, target: string): Promise<WriteChecks | undefined> => {
    const settings = runtimes.get(target)?.writeChecks;
    if (!settings) return Promise.resolve(undefined);
    const id = `${planId}\n${target}`;
    let opened = checks.get(id);
    if (!opened) {
      opened = WriteChecks.open(memory, target, planId, settings);
      opened.catch(() => checks.delete(id));
      checks.set(id, opened);
      if (checks.size > CHECKS_KEPT) checks.delete(checks.keys().next().value!);
    }
    return opened;
  };
  const ctx: WorkerContext = {
    loaded,
    q,
    redis,
    keys: redisKeys(q.prefix),
    store,
    links: new RedisLinkStore(redis, q.prefix),
    audit: options.audit,
    log: options.log,
    runtimes,
    locks: new LockKeeper(redis, q.prefix, q.cycleLockMs, store, stops),
    personClock: new RedisPersonClock(redis, q.prefix),
    stops,
    breakers: new CycleBreakers(store, stops, runtimes),
    control: new Queue<PhaseJobData>(CONTROL_QUEUE, connection),
    flows: new FlowProducer(connection),
    queueOf: (target) => {
      let queue = queues.get(target);
      if (!queue) {
        queue = new Queue<AnyChunkJobData>(targetQueueName(target), connection);
        queues.set(target, queue);
      }
      return queue;
    },
    slots: (target) => slots.get(target)!,
    closing: closing.signal,
    writeChecks,
    memberWrites: (target) => memberWritesOf.get(target),
    ...(options.observer ? { observer: options.observer } : {}),
  };

  const common: WorkerOptions = {
    ...connection,
    name: options.name,
    lockDuration: q.lockDurationMs,
    stalledInterval: q.stalledIntervalMs,
    maxStalledCount: MAX_STALLED_COUNT,
  };
  const processChunk = chunkProcessor(ctx);
  const workers: Worker[] = [];
  for (const [target, runtime] of runtimes) {
    const { rateLimit } = runtime;
    const chunk = chunkSize(runtime.concurrency, rateLimit);
    workers.push(
      new Worker<AnyChunkJobData>(targetQueueName(target), processChunk, {
        ...common,
        concurrency: chunksInFlight(runtime.concurrency, chunk, rateLimit !== null),
        limiter: limiterOf(rateLimit, chunk),
      }),
    );
  }
  workers.push(new Worker<PhaseJobData>(CONTROL_QUEUE, controlProcessor(ctx), { ...common, concurrency: CONTROL_CONCURRENCY }));
  for (const worker of workers) {
    worker.on('error', (error) => options.log(`queue ${worker.name}: ${error.message}`, { level: 'error' }));
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));

  return {
    close: async () => {
      closing.abort();
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all([ctx.flows.close(), ctx.control.close(), ...[...queues.values()].map((queue) => queue.close())]);
    },
  };
}

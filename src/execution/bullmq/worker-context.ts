/** What a worker process's job processors share: its connections, stores and per-target runtimes. */
import type { FlowProducer, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AuditSink } from '../../audit/audit-sink.js';
import type { LoadedConfig } from '../../config/load.js';
import type { QueueConfig } from '../../config/schema/index.js';
import type { PersonClock } from '../../state/person-clock.js';
import type { RedisKeys } from '../../state/redis-keys.js';
import type { RedisLinkStore } from '../../state/redis-link-store.js';
import type { TargetRuntime } from '../executor.js';
import type { Lanes } from '../lanes.js';
import type { WriteChecks } from '../write-checks.js';
import type { MemberWrites } from '../member-writes.js';
import type { CycleStore } from './cycle-store.js';
import type { LockKeeper } from './lock-keeper.js';
import type { AnyChunkJobData, PhaseJobData } from './queue-layout.js';
import type { StopTracker } from './stop-tracker.js';
import type { CycleBreakers } from './cycle-breakers.js';
import type { SyncObserver } from '../../telemetry/sync-events.js';
import type { Log } from '../../telemetry/logger.js';

export interface WorkerContext {
  loaded: LoadedConfig;
  q: QueueConfig;
  redis: Redis;
  keys: RedisKeys;
  store: CycleStore;
  links: RedisLinkStore;
  audit: AuditSink;
  log: Log;
  /** The targets whose operations this process executes. */
  runtimes: ReadonlyMap<string, TargetRuntime>;
  locks: LockKeeper;
  /** The order per person the service keeps (state/person-clock.ts), read before a guarded operation. */
  personClock: PersonClock;
  stops: StopTracker;
  /** Each cycle's failure breaker per target in this process (too many failed answers in a row stop the cycle for the target). */
  breakers: CycleBreakers;
  control: Queue<PhaseJobData>;
  flows: FlowProducer;
  /** The target's queue of chunk jobs, opened on first use. */
  queueOf(target: string): Queue<AnyChunkJobData>;
  /** The target's requests in flight from this process: its `concurrency`, shared by the chunks the process holds. */
  slots(target: string): Lanes;
  /** Aborted when the process stops: no operation starts after it (those in flight end, their chunks go back to the queue). */
  closing: AbortSignal;
  /** The write checks of a plan's operations on a target in this process (learned shapes, parking); opened on first use. */
  writeChecks(planId: string, target: string): Promise<WriteChecks | undefined>;
  /** The member memory's writes of a target whose server returns group members nowhere (AWS); else undefined. */
  memberWrites(target: string): MemberWrites | undefined;
  /** Told each operation's outcome, each retry, and each target's cycle end this process sees (metrics). */
  observer?: SyncObserver;
}

/**
 * `scim-sync schedule`: cycles on the config's cron expression. A BullMQ job scheduler (one per
 * prefix, whichever scheduler process upserts it; several processes may run for availability) makes
 * a tick job at each cron time; the tick enqueues a cycle job after a random delay up to
 * `schedule.jitterMs`; the cycle job reads the source, plans the targets whose lock it gets (a
 * target whose previous cycle still runs is skipped), checks safety and enqueues the plan for the
 * workers, exactly as `run` does.
 *
 * A cycle job's lock token and plan id derive from its job id, so a cycle retried after its
 * scheduler died takes its own locks again and enqueues the same plan, never a second one.
 */
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AuditSink } from '../audit/audit-sink.js';
import type { LoadedConfig } from '../config/load.js';
import { describeError } from '../errors.js';
import { BullmqExecutor } from '../execution/bullmq/bullmq-executor.js';
import { CycleStore } from '../execution/bullmq/cycle-store.js';
import { MAX_STALLED_COUNT } from '../execution/bullmq/queue-layout.js';
import { operationCount } from '../model/plan.js';
import { emptyTargetReport } from '../execution/run-report.js';
import { SCHEDULE_QUEUE } from '../state/redis-keys.js';
import { RedisLinkStore } from '../state/redis-link-store.js';
import { RedisQuarantineStore } from '../state/quarantine-store.js';
import { RedisWriteMemory } from '../state/redis-write-memory.js';
import { forgetSettledParked } from './parked-changes.js';
import { NO_NOTIFIER, safetyStopEvent, type Notifier } from '../notify/notifier.js';
import { SafetyError } from '../errors.js';
import { partitionTargets, quarantinedTargets, settlePlanRead } from './quarantine.js';
import { acquireTargetLocks } from '../state/redis-run-lock.js';
import { applyPlan } from './apply-plan.js';
import { selectTargets } from '../config/select-targets.js';
import { makePlan } from './make-plan.js';
import type { RunState } from './run-state.js';

const SCHEDULER_ID = 'cycle';

export interface SchedulerOptions {
  loaded: LoadedConfig;
  redis: Redis;
  audit: AuditSink;
  log: (line: string) => void;
  name: string;
  notifier?: Notifier;
  /** The clock quarantine decisions read (tests). */
  now?: () => Date;
}

export interface SchedulerHandle {
  /** When the next tick is due, if Redis knows. */
  next: Date | null;
  close(): Promise<void>;
}

/** A job id made safe for our own ids: BullMQ's scheduler ids hold ':'. */
const safeId = (id: string) => id.replace(/[^A-Za-z0-9_-]/g, '-');

export async function startScheduler(options: SchedulerOptions): Promise<SchedulerHandle> {
  const { loaded, redis, audit, log } = options;
  const q = loaded.config.queue!;
  const s = loaded.config.schedule!;
  const connection = { connection: redis, prefix: q.prefix };
  const keep = { removeOnComplete: { age: q.retentionHours * 3600 }, removeOnFail: { age: q.retentionHours * 3600 } };
  const queue = new Queue(SCHEDULE_QUEUE, connection);
  const first = await queue.upsertJobScheduler(
    SCHEDULER_ID,
    { pattern: s.cron, ...(s.timezone ? { tz: s.timezone } : {}) },
    { name: 'tick', data: {}, opts: keep },
  );

  const notifier = options.notifier ?? NO_NOTIFIER;
  const quarantine = new RedisQuarantineStore(redis, q.prefix);

  const cycle = async (job: Job): Promise<unknown> => {
    const cycleId = safeId(job.id ?? String(job.timestamp));
    const now = options.now?.() ?? new Date();
    const { run: targets, skipped } = partitionTargets(
      selectTargets(loaded).map(([name]) => name),
      await quarantinedTargets(quarantine, loaded.config.quarantine),
      now,
    );
    for (const [target, status] of skipped) log(`${cycleId}: target ${target} skipped: ${status}`);
    const { locks, busy } = await acquireTargetLocks(redis, q.prefix, targets, { token: `schedule-${cycleId}`, skipBusy: true });
    for (const b of busy) log(`${cycleId}: target ${b.target} skipped: its previous cycle still runs (${b.holder})`);
    if (locks.targets.length === 0) {
      await locks.release();
      return { skipped: busy.map((b) => b.target) };
    }
    const links = new RedisLinkStore(redis, q.prefix);
    const executor = new BullmqExecutor({ redis, queue: q, locks, wait: false });
    const memory = new RedisWriteMemory(redis, q.prefix);
    const state: RunState = { links, audit, quarantine, memory, distributed: true, halted: new AbortController().signal, executor: () => executor, close: async () => undefined };
    try {
      const { plan, runtimes } = await makePlan(loaded, links, locks.targets, { memory });
      plan.id = `plan-${cycleId}`;
      await forgetSettledParked(memory, plan);
      await settlePlanRead(plan, { store: quarantine, audit, notifier, settings: loaded.config.quarantine, planId: plan.id, now });
      await applyPlan(loaded, plan, runtimes, state, executor, { overrideSafety: false });
      const ops = operationCount(plan);
      log(`${cycleId}: enqueued ${plan.id} (${ops} operations) for ${locks.targets.join(', ')}`);
      return { planId: plan.id, operations: ops };
    } catch (error) {
      if (error instanceof SafetyError) await notifier.notify(safetyStopEvent(`plan-${cycleId}`, error.reasons));
      // Nothing was enqueued (source unreadable, safety stop): say so where `status` looks.
      const store = new CycleStore(redis, q.prefix, q.retentionHours * 3_600_000);
      const now = new Date().toISOString();
      for (const target of locks.targets) {
        const report = emptyTargetReport(target);
        report.stopped = describeError(error);
        await store.setLastCycle({ planId: `plan-${cycleId}`, target, enqueuedAt: now, finishedAt: now, report, warnings: [], error: describeError(error) });
      }
      log(`${cycleId}: nothing enqueued: ${describeError(error)}`);
      return { error: describeError(error) };
    } finally {
      await locks.release();
    }
  };

  const worker = new Worker(
    SCHEDULE_QUEUE,
    async (job: Job) => {
      if (job.name !== 'tick') return cycle(job);
      const delay = Math.floor(Math.random() * (s.jitterMs + 1));
      await queue.add('cycle', {}, { ...keep, jobId: `cycle-${safeId(job.id ?? String(job.timestamp))}`, delay });
      return { delay };
    },
    {
      ...connection,
      name: options.name,
      concurrency: 1,
      lockDuration: q.lockDurationMs,
      stalledInterval: q.stalledIntervalMs,
      maxStalledCount: MAX_STALLED_COUNT,
    },
  );
  worker.on('error', (error) => log(`scheduler: ${error.message}`));
  await worker.waitUntilReady();
  const scheduler = await queue.getJobScheduler(SCHEDULER_ID);
  const next = scheduler?.next ? new Date(scheduler.next) : first ? new Date(first.timestamp + (first.delay ?? 0)) : null;
  return {
    next,
    close: async () => {
      await worker.close();
      await queue.close();
    },
  };
}

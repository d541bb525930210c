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
import { operationCount, type Plan } from '../model/plan.js';
import { stoppedTargetReport } from '../execution/run-report.js';
import { SCHEDULE_QUEUE } from '../state/redis-keys.js';
import { RedisLinkStore } from '../state/redis-link-store.js';
import { RedisPersonClock } from '../state/person-clock.js';
import { NO_NOTIFIER, type Notifier } from '../notify/notifier.js';
import { SafetyError } from '../errors.js';
import { partitionTargets, quarantinedTargets, settlePlanRead } from './quarantine.js';
import { acquireTargetLocks } from '../state/redis-run-lock.js';
import { applyPlan } from './apply-plan.js';
import { selectTargets } from '../config/select-targets.js';
import { forgetOvertaken, planCycle } from './plan-cycle.js';
import { completeFirstSyncs } from './first-sync.js';
import { redisStores } from './redis-state.js';
import type { RunState } from './run-state.js';
import { notifySafetyStop } from './stage-stop.js';
import type { Log } from '../telemetry/logger.js';
import type { SyncObserver } from '../telemetry/sync-events.js';

const SCHEDULER_ID = 'cycle';

export interface SchedulerOptions {
  loaded: LoadedConfig;
  redis: Redis;
  audit: AuditSink;
  log: Log;
  /** Told each scheduled cycle's result: enqueued, stopped (safety), failed, or skipped (every target busy or in quarantine). */
  onCycle?: (result: 'enqueued' | 'stopped' | 'failed' | 'skipped') => void;
  /** Told the source read and the targets' listings (metrics of the requests come from the request hub). */
  observer?: SyncObserver;
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
  // The same stores `run` opens in distributed mode: holds, staged sets and rejections set from any machine are heeded here.
  const stores = redisStores(redis, q.prefix);
  const { quarantine } = stores;

  const cycle = async (job: Job): Promise<unknown> => {
    const cycleId = safeId(job.id ?? String(job.timestamp));
    const cycle = `plan-${cycleId}`;
    const now = options.now?.() ?? new Date();
    const { run: targets, skipped } = partitionTargets(
      selectTargets(loaded).map(([name]) => name),
      await quarantinedTargets(quarantine, loaded.config.quarantine),
      now,
    );
    for (const [target, status] of skipped) log(`${cycleId}: target ${target} skipped: ${status}`, { cycle, target });
    const { locks, busy } = await acquireTargetLocks(redis, q.prefix, targets, { token: `schedule-${cycleId}`, skipBusy: true });
    for (const b of busy) log(`${cycleId}: target ${b.target} skipped: its previous cycle still runs (${b.holder})`, { cycle, target: b.target });
    if (locks.targets.length === 0) {
      options.onCycle?.('skipped');
      await locks.release();
      return { skipped: busy.map((b) => b.target) };
    }
    const links = new RedisLinkStore(redis, q.prefix);
    const executor = new BullmqExecutor({ redis, queue: q, safety: loaded.config.safety, locks, wait: false });
    const state: RunState = { links, audit, ...stores, distributed: true, halted: new AbortController().signal, personClock: new RedisPersonClock(redis, q.prefix), executor: () => executor, close: async () => undefined };
    let planned: Plan | undefined;
    try {
      const planning = await planCycle(loaded, state, locks.targets, { planId: cycle, ...(options.observer ? { observer: options.observer } : {}) });
      const { plan, runtimes } = planning;
      planned = plan;
      await settlePlanRead(plan, { store: quarantine, audit, notifier, settings: loaded.config.quarantine, planId: plan.id, now });
      await applyPlan(loaded, plan, runtimes, state, executor, { overrideSafety: false, fullRead: true });
      await forgetOvertaken(state, planning);
      // Handed to the workers: only a plan that leaves a first sync nothing to do completes it here.
      await completeFirstSyncs(state.firstSyncs, state.audit, plan);
      const ops = operationCount(plan);
      log(`${cycleId}: enqueued ${plan.id} (${ops} operations) for ${locks.targets.join(', ')}`, { cycle });
      options.onCycle?.('enqueued');
      return { planId: plan.id, operations: ops };
    } catch (error) {
      if (error instanceof SafetyError && planned) await notifySafetyStop(notifier, planned, error);
      // Nothing was enqueued (source unreadable, safety stop): say so where `status` looks.
      const staged = error instanceof SafetyError ? error.stagedMessage : undefined;
      const why = staged ? `${describeError(error)}\n${staged}` : describeError(error);
      const store = CycleStore.of(redis, q);
      const now = new Date().toISOString();
      for (const target of locks.targets) {
        const report = stoppedTargetReport(target, { kind: 'not-planned', reason: why });
        await store.setLastCycle({ planId: `plan-${cycleId}`, target, enqueuedAt: now, finishedAt: now, report, warnings: [], error: why });
      }
      log(`${cycleId}: nothing enqueued: ${why}`, { cycle, level: 'warn' });
      options.onCycle?.(error instanceof SafetyError ? 'stopped' : 'failed');
      return { error: why };
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
  worker.on('error', (error) => log(`scheduler: ${error.message}`, { level: 'error' }));
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

/**
 * What `scim-sync status` shows and `scim-sync retry` does, read from and done in Redis: per target
 * its queue, the cycle holding its lock, the operations in flight, the failed operations (dead
 * letters) with their reasons, and its last cycle's report.
 */
import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { QueueConfig, ScheduleConfig, TargetConfig } from '../../config/schema/index.js';
import { targetRateLimit } from '../target-runtime.js';
import { CONTROL_QUEUE, SCHEDULE_QUEUE, targetQueueName } from '../../state/redis-keys.js';
import { readLock } from '../../state/redis-run-lock.js';
import { CycleStore, type CycleReport } from './cycle-store.js';
import { limiterOf, type OpJobData, type PhaseJobData } from './queue-layout.js';

/** Failed and in-flight operations listed per target; the counts cover the rest. */
const LIST_LIMIT = 100;

export interface JobLine {
  jobId: string;
  planId: string;
  kind: string;
  label: string;
  externalId: string;
  attempts: number;
  /** When it started (in flight) or failed, ISO time. */
  at?: string;
  /** Worker that runs it (in flight). */
  worker?: string;
  /** Why it failed. */
  reason?: string;
}

export interface TargetStatus {
  target: string;
  queue: string;
  counts: Record<string, number>;
  /** Operations in flight at once across all workers (BullMQ global concurrency). */
  concurrency: number | null;
  rateLimit: { requests: number; perMs: number } | null;
  /** The queue is paused for this long by its rate limit or a 429, ms; 0 when not. */
  rateLimitedForMs: number;
  /** The cycle lock, when a cycle runs (or a planner holds it). */
  lock: { holder: string; ttlMs: number } | null;
  inFlight: JobLine[];
  failed: JobLine[];
  lastCycle: CycleReport | null;
}

export interface QueueStatus {
  prefix: string;
  /** Worker connections seen on the targets' queues. */
  workers: number;
  targets: TargetStatus[];
  control: Record<string, number>;
  /** Failed control jobs (Redis trouble while starting a phase), with their reasons. */
  controlFailed: { jobId: string; target: string; reason: string }[];
  schedule: { cron: string; next: string | null } | null;
}

const COUNT_TYPES = ['waiting', 'prioritized', 'active', 'delayed', 'waiting-children', 'paused', 'failed', 'completed'] as const;

function line(job: Job<OpJobData>, kind: 'inFlight' | 'failed'): JobLine {
  const op = job.data.op;
  return {
    jobId: job.id ?? '',
    planId: job.data.planId,
    kind: op.kind,
    label: op.label,
    externalId: op.externalId,
    attempts: job.attemptsStarted,
    ...(kind === 'inFlight' && job.processedOn ? { at: new Date(job.processedOn).toISOString() } : {}),
    ...(kind === 'failed' && job.finishedOn ? { at: new Date(job.finishedOn).toISOString() } : {}),
    ...(kind === 'inFlight' && job.processedBy ? { worker: job.processedBy } : {}),
    ...(kind === 'failed' ? { reason: job.failedReason } : {}),
  };
}

export async function readQueueStatus(
  redis: Redis,
  q: QueueConfig,
  targets: readonly [string, TargetConfig][],
  schedule: ScheduleConfig | undefined,
): Promise<QueueStatus> {
  const connection = { connection: redis, prefix: q.prefix };
  const store = new CycleStore(redis, q.prefix, q.retentionHours * 3_600_000);
  const opened: Queue[] = [];
  const open = <T>(name: string): Queue<T> => {
    const queue = new Queue<T>(name, connection);
    opened.push(queue);
    return queue;
  };
  try {
    let workers = 0;
    const result: TargetStatus[] = [];
    for (const [target, config] of targets) {
      const queue = open<OpJobData>(targetQueueName(target));
      const [counts, concurrency, rateLimitedForMs, lock, active, failed, lastCycle, w] = await Promise.all([
        queue.getJobCounts(...COUNT_TYPES),
        queue.getGlobalConcurrency(),
        queue.getRateLimitTtl(limiterOf(targetRateLimit(config)).max),
        readLock(redis, q.prefix, target),
        queue.getActive(0, LIST_LIMIT - 1),
        queue.getFailed(0, LIST_LIMIT - 1),
        store.lastCycle(target),
        queue.getWorkersCount(),
      ]);
      workers = Math.max(workers, w);
      result.push({
        target,
        queue: targetQueueName(target),
        counts,
        concurrency,
        rateLimit: targetRateLimit(config),
        rateLimitedForMs: Math.max(0, rateLimitedForMs),
        lock: lock ? { holder: lock.token, ttlMs: lock.ttlMs } : null,
        inFlight: active.filter((j) => j?.data?.op).map((j) => line(j, 'inFlight')),
        failed: failed.filter((j) => j?.data?.op).map((j) => line(j, 'failed')),
        lastCycle,
      });
    }
    const control = open<PhaseJobData>(CONTROL_QUEUE);
    const [controlCounts, controlFailed] = await Promise.all([control.getJobCounts(...COUNT_TYPES), control.getFailed(0, LIST_LIMIT - 1)]);
    let scheduleStatus: QueueStatus['schedule'] = null;
    if (schedule) {
      const scheduler = await open(SCHEDULE_QUEUE).getJobScheduler('cycle');
      scheduleStatus = { cron: schedule.cron, next: scheduler?.next ? new Date(scheduler.next).toISOString() : null };
    }
    return {
      prefix: q.prefix,
      workers,
      targets: result,
      control: controlCounts,
      controlFailed: controlFailed.filter(Boolean).map((j) => ({ jobId: j.id ?? '', target: j.data.target, reason: j.failedReason })),
      schedule: scheduleStatus,
    };
  } finally {
    await Promise.all(opened.map((queue) => queue.close()));
  }
}

/** The failed operation jobs of a target (its dead letters), oldest first. */
export async function failedOperationJobs(redis: Redis, q: QueueConfig, target: string): Promise<Job<OpJobData>[]> {
  const queue = new Queue<OpJobData>(targetQueueName(target), { connection: redis, prefix: q.prefix });
  try {
    return (await queue.getFailed(0, -1)).filter(Boolean).reverse();
  } finally {
    await queue.close();
  }
}

/** Removes these jobs from a target's queue (dead letters taken over by a retry cycle). */
export async function removeOperationJobs(redis: Redis, q: QueueConfig, target: string, jobIds: readonly string[]): Promise<void> {
  const queue = new Queue<OpJobData>(targetQueueName(target), { connection: redis, prefix: q.prefix });
  try {
    for (const id of jobIds) await queue.remove(id);
  } finally {
    await queue.close();
  }
}

/**
 * Puts the failed control jobs of these targets (phase and feed jobs that Redis trouble failed)
 * back on the control queue. Returns how many per target.
 */
export async function retryFailedControlJobs(redis: Redis, q: QueueConfig, targets: readonly string[]): Promise<Map<string, number>> {
  const control = new Queue<PhaseJobData>(CONTROL_QUEUE, { connection: redis, prefix: q.prefix });
  const retried = new Map<string, number>();
  try {
    const failed = (await control.getFailed(0, -1)).filter(Boolean);
    for (const target of targets) {
      let n = 0;
      for (const job of failed.filter((j) => j.data.target === target)) {
        try {
          await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
          n++;
        } catch {
          // Retried or removed by someone else meanwhile.
        }
      }
      retried.set(target, n);
    }
  } finally {
    await control.close();
  }
  return retried;
}

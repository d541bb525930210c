/**
 * What `scim-sync status` shows and `scim-sync retry` does, read from and done in Redis: per target
 * its queue, the cycle holding its lock, the operations in flight, the failed operations (dead
 * letters) with their reasons, and its last cycle's report. Counts are of operations, not of the
 * chunk jobs that carry them.
 */
import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { QueueConfig, ScheduleConfig, TargetConfig } from '../../config/schema/index.js';
import { targetRateLimit } from '../target-runtime.js';
import { CONTROL_QUEUE, SCHEDULE_QUEUE, targetQueueName } from '../../state/redis-keys.js';
import { readLock } from '../../state/redis-run-lock.js';
import { CycleStore, type CycleReport } from './cycle-store.js';
import { chunkOfDeadLetter, type DeadLetters } from './dead-letters.js';
import { deadLettersOf, dropFailedChunks, failedChunkReasons, failedOperations, type FailedOperation } from './failed-operations.js';
import { chunkSize, limiterOf, operationsInJob, type AnyChunkJobData, type ChunkJobData, type PhaseJobData } from './queue-layout.js';

/** Failed and in-flight operations listed per target; the counts cover the rest. */
const LIST_LIMIT = 100;

export interface JobLine {
  /** In flight: the chunk job holding it; failed: its dead letter id (`<chunk job id>/<operation id>`). */
  jobId: string;
  planId: string;
  kind: string;
  label: string;
  externalId: string;
  attempts: number;
  /** When it started (in flight: its chunk) or failed, ISO time. */
  at?: string;
  /** Worker that runs it (in flight). */
  worker?: string;
  /** Why it failed. */
  reason?: string;
}

export interface TargetStatus {
  target: string;
  queue: string;
  /** Operations by state (waiting, active, delayed, failed, completed...), counted through the chunks that hold them. */
  counts: Record<string, number>;
  /** Chunk jobs in flight at once across all workers (BullMQ global concurrency), when one is set. */
  concurrency: number | null;
  rateLimit: { requests: number; perMs: number } | null;
  /** The queue is paused for this long by its rate limit or a 429, ms; 0 when not. */
  rateLimitedForMs: number;
  /** The cycle lock, when a cycle runs (or a planner holds it). */
  lock: { holder: string; ttlMs: number } | null;
  inFlight: JobLine[];
  failed: JobLine[];
  /** null when no cycle was recorded within queue.failedRetentionHours (the record expires then). */
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

function failedLine(f: FailedOperation): JobLine {
  return { jobId: f.id, planId: f.planId, kind: f.op.kind, label: f.op.label, externalId: f.op.externalId, attempts: f.attempts, ...(f.at ? { at: f.at } : {}), reason: f.reason };
}

/** The operations of the chunks in flight that have no outcome yet, at most `limit`. */
async function inFlightLines(active: Job<AnyChunkJobData>[], store: CycleStore, limit: number): Promise<JobLine[]> {
  const lines: JobLine[] = [];
  for (const job of active.filter((j) => !!j?.data && ('count' in j.data || 'ops' in j.data))) {
    const { planId, target } = job.data;
    const ops = await store.chunkOperations(job.data);
    const recorded = await store.recorded(planId, target, ops.map((op) => op.id));
    for (const op of ops) {
      if (recorded.has(op.id) || lines.length >= limit) continue;
      lines.push({
        jobId: job.id ?? '',
        planId,
        kind: op.kind,
        label: op.label,
        externalId: op.externalId,
        attempts: job.attemptsStarted,
        ...(job.processedOn ? { at: new Date(job.processedOn).toISOString() } : {}),
        ...(job.processedBy ? { worker: job.processedBy } : {}),
      });
    }
  }
  return lines;
}

/**
 * Operations per state, from the ids of the chunk jobs in it (each says how many it holds). Failed:
 * the failed operations (dead letters and the unrecorded operations of failed chunks); completed:
 * the operations of completed chunks that did not fail.
 */
async function operationCounts(queue: Queue<AnyChunkJobData>, letters: DeadLetters, target: string, failed: number): Promise<Record<string, number>> {
  const ids = await Promise.all(COUNT_TYPES.map((type) => (type === 'failed' ? Promise.resolve([]) : queue.getRanges([type], 0, -1))));
  const counts: Record<string, number> = {};
  COUNT_TYPES.forEach((type, i) => {
    counts[type] = ids[i]!.reduce((n, id) => n + operationsInJob(id), 0);
  });
  const completed = new Set(ids[COUNT_TYPES.indexOf('completed')]);
  counts['completed']! -= (await letters.ids(target)).filter((id) => completed.has(chunkOfDeadLetter(id))).length;
  counts['failed'] = failed;
  return counts;
}

export async function readQueueStatus(
  redis: Redis,
  q: QueueConfig,
  targets: readonly [string, TargetConfig][],
  schedule: ScheduleConfig | undefined,
): Promise<QueueStatus> {
  const connection = { connection: redis, prefix: q.prefix };
  const store = CycleStore.of(redis, q);
  const letters = deadLettersOf(redis, q);
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
      const queue = open<AnyChunkJobData>(targetQueueName(target));
      const rateLimit = targetRateLimit(config);
      const [concurrency, rateLimitedForMs, lock, active, failed, lastCycle, w] = await Promise.all([
        queue.getGlobalConcurrency(),
        queue.getRateLimitTtl(limiterOf(rateLimit, chunkSize(config.concurrency, rateLimit)).max),
        readLock(redis, q.prefix, target),
        queue.getActive(0, LIST_LIMIT - 1),
        failedOperations(redis, q, store, target, LIST_LIMIT),
        store.lastCycle(target),
        queue.getWorkersCount(),
      ]);
      workers = Math.max(workers, w);
      result.push({
        target,
        queue: targetQueueName(target),
        counts: await operationCounts(queue, letters, target, failed.total),
        concurrency,
        rateLimit,
        rateLimitedForMs: Math.max(0, rateLimitedForMs),
        lock: lock ? { holder: lock.token, ttlMs: lock.ttlMs } : null,
        inFlight: await inFlightLines(active, store, LIST_LIMIT),
        failed: failed.list.map(failedLine),
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

/** A cycle a failed control job left behind, as `retry` found and closed it. */
export interface AbandonedCycle {
  planId: string;
  target: string;
  /** Its failed control jobs (phase or feed jobs that Redis trouble failed for good), removed. */
  jobs: string[];
  /** Closed now: it had no report, and its operations without an outcome became failed operations (how many). */
  closed?: { failed: number };
  /** Its plan is gone from Redis (expired, or lost): nothing could be recovered from it. */
  gone?: true;
}

/**
 * The cycles of these targets that a failed control job left behind. They are not resumed: the
 * caller (`retry`) holds the targets' cycle locks, so such a cycle holds its lock no more and its
 * workers would skip every operation as the lock's. Instead each is closed: a cycle without a
 * report is finished now (its operations without an outcome become failed operations, which the
 * caller then re-plans in a cycle of its own, under its lock), and its failed control jobs are removed.
 */
export async function closeAbandonedCycles(redis: Redis, q: QueueConfig, store: CycleStore, targets: readonly string[]): Promise<AbandonedCycle[]> {
  const connection = { connection: redis, prefix: q.prefix };
  const control = new Queue<PhaseJobData>(CONTROL_QUEUE, connection);
  const closed: AbandonedCycle[] = [];
  try {
    const failed = (await control.getFailed(0, -1)).filter((j) => j && targets.includes(j.data.target));
    const cycles = new Map<string, Job<PhaseJobData>[]>();
    for (const job of failed) {
      const key = `${job.data.planId}\n${job.data.target}`;
      cycles.set(key, [...(cycles.get(key) ?? []), job]);
    }
    for (const jobs of cycles.values()) {
      const { planId, target } = jobs[0]!.data;
      const cycle: AbandonedCycle = { planId, target, jobs: jobs.map((j) => j.id!) };
      if (!(await store.report(planId, target))) {
        if (await store.exists(planId, target)) {
          const why = jobs.map((j) => j.failedReason).join('; ');
          await store.stop(planId, target, {
            kind: 'lock-lost',
            reason: `stopped: a control job of this cycle failed for good (${why}), and scim-sync retry took the target's lock: nothing more of this cycle is sent`,
          });
          const queue = new Queue<AnyChunkJobData>(targetQueueName(target), connection);
          try {
            const meta = await store.meta(planId, target);
            const unrecorded = meta.phases.reduce((n, p) => n + p.operations, 0) - (await store.outcomeCount(planId, target));
            await store.finish(meta, () => failedChunkReasons(queue, store, planId), { last: false });
            await dropFailedChunks(queue, planId);
            cycle.closed = { failed: unrecorded };
          } finally {
            await queue.close();
          }
        } else cycle.gone = true;
      }
      for (const job of jobs) await job.remove().catch(() => undefined);
      closed.push(cycle);
    }
  } finally {
    await control.close();
  }
  return closed;
}

/**
 * The failed operations of a target, as `status` lists them and `retry` takes them again: its dead
 * letters (operations that failed for good, dead-letters.ts), and the operations of chunk jobs that
 * BullMQ failed itself (their workers kept dying, or Redis kept refusing their writes) whose outcome
 * was never recorded. A failed job of before chunks (one operation, `op`, failed with it) is such an
 * operation too, so the dead letters of an older version are neither lost nor hidden. A chunk names
 * a range of its cycle's stored plan: its operations are listed while that plan is kept
 * (retentionHours); a cycle's finish makes them dead letters of their own before then.
 */
import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { QueueConfig } from '../../config/schema/index.js';
import { StateError } from '../../errors.js';
import type { Operation } from '../../model/plan.js';
import { targetQueueName } from '../../state/redis-keys.js';
import type { CycleStore, MissingWhy } from './cycle-store.js';
import { DeadLetters, deadLetterId, deadLetterKey } from './dead-letters.js';
import type { AnyChunkJobData, ChunkJobData, HeldChunkJobData } from './queue-layout.js';

export interface FailedOperation {
  /** The dead letter's id: `<chunk job id>/<operation id>`. */
  id: string;
  planId: string;
  op: Operation;
  attempts: number;
  /** When it failed, ISO time. */
  at?: string;
  reason: string;
  /** Set when it stands in a chunk job BullMQ failed (removed with that job). */
  failedJob?: string;
}

/** A failed job of before chunks: one operation, which failed with the job. */
type LegacyJobData = Omit<HeldChunkJobData, 'ops'> & { op: Operation };

type FailedJobData = AnyChunkJobData | LegacyJobData;

async function failedChunks(queue: Queue<AnyChunkJobData>): Promise<Job<FailedJobData>[]> {
  // Typed as the queue's jobs are; a job of before chunks (`op`) may be among them.
  const failed = (await queue.getFailed(0, -1)) as Job<FailedJobData>[];
  return failed.filter((job) => !!job?.data && ('count' in job.data || 'ops' in job.data || 'op' in job.data));
}

/**
 * The operations of a failed job, read from its cycle's stored plan unless the job holds them;
 * null when that plan is gone (expired after retentionHours: a cycle that never finished, whose
 * people any later cycle plans afresh) or damaged: not listed, rather than no list at all.
 */
async function operationsOfJob(data: FailedJobData, store: CycleStore): Promise<Operation[] | null> {
  if ('op' in data) return [data.op];
  try {
    return await store.chunkOperations(data);
  } catch (error) {
    if (error instanceof StateError) return null;
    throw error;
  }
}

/** Why the operations of a plan's failed chunks have no outcome: opId -> the chunk's failure (for the cycle's report and their dead letters). */
export async function failedChunkReasons(queue: Queue<AnyChunkJobData>, store: CycleStore, planId: string): Promise<Map<string, MissingWhy>> {
  const reasons = new Map<string, MissingWhy>();
  for (const job of await failedChunks(queue)) {
    if (job.data.planId !== planId) continue;
    for (const op of (await operationsOfJob(job.data, store)) ?? []) reasons.set(op.id, { reason: job.failedReason, job: job.id!, attempts: job.attemptsStarted });
  }
  return reasons;
}

/**
 * Removes a finished cycle's failed chunks: their operations without an outcome are failed
 * operations of their own by then (CycleStore.finish), and the jobs, each holding the operations'
 * data, would list them again once the cycle's outcomes expire.
 */
export async function dropFailedChunks(queue: Queue<AnyChunkJobData>, planId: string): Promise<void> {
  for (const job of await failedChunks(queue)) if (job.data.planId === planId) await queue.remove(job.id!);
}

/** The operations of failed chunks that recorded no outcome, oldest chunk first. */
async function unrecordedInFailedChunks(queue: Queue<AnyChunkJobData>, store: CycleStore): Promise<FailedOperation[]> {
  const out: FailedOperation[] = [];
  for (const job of (await failedChunks(queue)).reverse()) {
    const { planId, target } = job.data;
    const ops = await operationsOfJob(job.data, store);
    if (!ops) continue;
    const recorded = 'op' in job.data ? new Set<string>() : await store.recorded(planId, target, ops.map((op) => op.id));
    for (const op of ops) {
      if (recorded.has(op.id)) continue;
      out.push({
        id: deadLetterId(job.id!, op.id),
        planId,
        op,
        attempts: job.attemptsStarted,
        ...(job.finishedOn ? { at: new Date(job.finishedOn).toISOString() } : {}),
        reason: job.failedReason,
        failedJob: job.id!,
      });
    }
  }
  return out;
}

/** The dead letters of a deployment, read within queue.failedRetentionHours. */
export function deadLettersOf(redis: Redis, q: QueueConfig): DeadLetters {
  return new DeadLetters(redis, q.prefix, q.failedRetentionHours * 3_600_000);
}

/**
 * A target's failed operations: how many, and the list (every one oldest first; with `limit`, the
 * newest dead letters, newest first, then those of failed chunks). An operation of a failed chunk
 * that has a dead letter already (failed in an earlier cycle too) is counted once: its cycle, when
 * it finishes, makes it that dead letter.
 */
export async function failedOperations(redis: Redis, q: QueueConfig, store: CycleStore, target: string, limit?: number): Promise<{ total: number; list: FailedOperation[] }> {
  const letters = deadLettersOf(redis, q);
  const queue = new Queue<AnyChunkJobData>(targetQueueName(target), { connection: redis, prefix: q.prefix });
  try {
    const [total, dead, unrecorded, identities] = await Promise.all([letters.count(target), letters.list(target, limit), unrecordedInFailedChunks(queue, store), letters.identities(target)]);
    const inChunks = unrecorded.filter((f) => !identities.has(deadLetterKey(f.op)));
    const list: FailedOperation[] = [...dead, ...inChunks];
    if (limit !== undefined) return { total: total + inChunks.length, list: list.slice(0, limit) };
    const at = (f: FailedOperation) => (f.at ? Date.parse(f.at) : 0);
    return { total: total + inChunks.length, list: list.sort((a, b) => at(a) - at(b)) };
  } finally {
    await queue.close();
  }
}

/**
 * Removes these failed operations (taken over by a retry cycle): their dead letters, and the failed
 * chunk jobs they stood in, whose operations are first recorded as failed in their cycle: a cycle
 * still to finish would otherwise make them dead letters again.
 */
export async function removeFailedOperations(redis: Redis, q: QueueConfig, store: CycleStore, target: string, failed: readonly FailedOperation[]): Promise<void> {
  await deadLettersOf(redis, q).remove(
    target,
    failed.filter((f) => !f.failedJob).map((f) => f.id),
  );
  const jobs = new Map<string, FailedOperation[]>();
  for (const f of failed) if (f.failedJob) jobs.set(f.failedJob, [...(jobs.get(f.failedJob) ?? []), f]);
  if (jobs.size === 0) return;
  const queue = new Queue<AnyChunkJobData>(targetQueueName(target), { connection: redis, prefix: q.prefix });
  try {
    for (const [id, ops] of jobs) {
      const taken = `${ops[0]!.reason} (taken by scim-sync retry)`;
      await store.recordOutcomes(
        ops[0]!.planId,
        target,
        ops.map((f) => [f.op.id, { kind: f.op.kind, outcome: 'failed', failure: { opId: f.op.id, kind: f.op.kind, externalId: f.op.externalId, label: f.op.label, code: 'WORKER', message: taken } }]),
      );
      await queue.remove(id);
    }
  } finally {
    await queue.close();
  }
}

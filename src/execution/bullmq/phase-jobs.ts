/**
 * The processor of control jobs (see queue-layout.ts for how phases follow each other). A `phase`
 * job starts one phase of one target's plan, or, after the last phase, writes the target's report
 * and releases its cycle lock; a `feed` job puts a phase's operations on the target's queue in chunks.
 */
import type { Job } from 'bullmq';
import { prepareCredentialDigests } from '../../config/target-fingerprint.js';
import { CONTROL_QUEUE } from '../../state/redis-keys.js';
import { releaseLock } from '../../state/redis-run-lock.js';
import { targetRateLimit } from '../target-runtime.js';
import { operationAuditRecord, targetFailedRecord } from '../operation-outcome.js';
import { describeTotals, totals } from '../run-report.js';
import { cleanTarget } from '../cycle-events.js';
import type { CycleReport, PlanMeta } from './cycle-store.js';
import { dropFailedChunks, failedChunkReasons } from './failed-operations.js';
import {
  chunkJobId,
  chunkJobOptions,
  chunkSize,
  controlJobOptions,
  feedJobId,
  feedJobOptions,
  phaseJobId,
  type AnyChunkJobData,
  type PhaseJobData,
} from './queue-layout.js';
import type { WorkerContext } from './worker-context.js';
import { LOCK_LOST } from './lock-keeper.js';
import type { Operation } from '../../model/plan.js';

/** Operations put on a target's queue per Redis round trip when a phase starts (in whole chunks). */
const FEED_OPERATIONS = 1000;
/** Chunks of the feed's first round trip: a few, so that the workers start while the rest is put on the queue. */
const FIRST_FEED_CHUNKS = 4;

function summary(cycle: CycleReport): string {
  const t = totals({ planId: cycle.planId, startedAt: '', finishedAt: '', targets: [cycle.report] });
  return `${describeTotals(t)}${cycle.report.stopped ? ` (${cycle.report.stopped})` : ''}${cycle.error ? ` (not planned: ${cycle.error})` : ''}`;
}

export function controlProcessor(ctx: WorkerContext): (job: Job<PhaseJobData>) => Promise<unknown> {
  const { q, store, audit } = ctx;

  /** `held`: whether the cycle still holds its lock; one that lost it is the target's last cycle only if no newer one was (cycle-store.ts). */
  const finishCycle = async (meta: PlanMeta, held: boolean) => {
    // Operations without an outcome were in a chunk BullMQ failed itself (its workers kept dying),
    // or in none (their feed job failed for good): failed operations now, dead letters each.
    const cycle = await store.finish(meta, () => failedChunkReasons(ctx.queueOf(meta.target), store, meta.planId), { last: held });
    await dropFailedChunks(ctx.queueOf(meta.target), meta.planId);
    await releaseLock(ctx.redis, q.prefix, meta.target, meta.lockToken);
    const line = `cycle ${meta.planId} for ${meta.target} done: ${summary(cycle)}`;
    if (cycle.report.stopped) audit.record(targetFailedRecord(meta.planId, meta.target, cycle.report.stopped));
    audit.record({ time: cycle.finishedAt, planId: meta.planId, target: meta.target, action: 'cycle.end', outcome: 'info', note: summary(cycle) });
    ctx.log(line, { cycle: meta.planId, target: meta.target, ...(cycle.report.stopped || cycle.error ? { level: 'warn' } : {}) });
    const endedAt = new Date(cycle.finishedAt);
    const seconds = (endedAt.getTime() - new Date(cycle.enqueuedAt).getTime()) / 1000;
    ctx.observer?.({ type: 'cycle', target: meta.target, ok: !cycle.error && cleanTarget(cycle.report), seconds, endedAt });
    return { finished: true };
  };

  /** Operations of a stopped cycle, not sent: skipped with why (the next cycle plans them afresh). */
  const skipOperations = async (planId: string, target: string, ops: readonly Operation[], reason: string) => {
    await store.recordOutcomes(planId, target, ops.map((op) => [op.id, { kind: op.kind, outcome: 'skipped' }]));
    for (const op of ops) {
      audit.record(operationAuditRecord(planId, target, op, 'skipped', 0, { note: reason }));
      ctx.observer?.({ type: 'operation', target, kind: op.kind, outcome: 'skipped' });
    }
  };

  /** The cycle's digest of this worker's credential (chunk-jobs.ts), begun as soon as a job of the cycle comes: its first chunk need not wait as long. */
  const beginDigest = (planId: string, target: string) => {
    const config = ctx.loaded.config.targets[target];
    if (config) void prepareCredentialDigests([config], planId).catch(() => undefined);
  };

  const processPhase = async (job: Job<PhaseJobData>) => {
    const { planId, target, lockToken } = job.data;
    beginDigest(planId, target);
    // A lost lock stops the target for the cycle (LockKeeper): the phases left are skipped below.
    const held = await ctx.locks.keep(planId, target, lockToken, true);
    const meta = await store.meta(planId, target);
    const stopped = (await store.stopped(planId, target))?.reason;
    // Phases with nothing to do are passed over here, not by a job each: the next job is that of the
    // phase after the first one with operations, or there is none and the cycle is done.
    let phase = job.data.phase;
    while (!stopped && phase < meta.phases.length && meta.phases[phase]!.operations === 0) phase++;
    if (phase >= meta.phases.length) return finishCycle(meta, held);
    const nextId = phaseJobId(planId, target, phase + 1);
    // This job ran before and died after starting the next phase (that is atomic): nothing left to do.
    if (await ctx.control.getJob(nextId)) return { phase, started: false };
    const next: PhaseJobData = { planId, target, lockToken, phase: phase + 1 };
    if (stopped) {
      await skipOperations(planId, target, await store.phaseOperations(meta, phase), stopped);
      await ctx.control.add('phase', next, { ...controlJobOptions(q.retentionHours), jobId: nextId });
      return { phase, started: false };
    }
    // The next phase's job waits for a feed job, which puts this phase's operations on the target's
    // queue as further children, in chunks: workers start on the first ones at once, and the next
    // phase cannot start before the last chunk is in (the feed job is a child until then). The chunks
    // are the plan's stored parts; of a plan an earlier version stored whole, their size is fixed
    // here, once: a retried feed cuts the same chunks (same job ids, added once).
    const config = ctx.loaded.config.targets[target];
    const chunk = meta.partOps ?? (config ? chunkSize(config.concurrency, targetRateLimit(config)) : 1);
    await ctx.flows.add({
      name: 'phase',
      queueName: CONTROL_QUEUE,
      data: next,
      opts: { ...controlJobOptions(q.retentionHours), jobId: nextId },
      children: [
        { name: 'feed', queueName: CONTROL_QUEUE, data: { ...job.data, phase, chunk }, opts: { ...feedJobOptions(q.retentionHours), jobId: feedJobId(planId, target, phase) } },
      ],
    });
    return { phase, started: true };
  };

  const processFeed = async (job: Job<PhaseJobData>) => {
    const { planId, target, lockToken, phase } = job.data;
    beginDigest(planId, target);
    const meta = await store.meta(planId, target);
    const { guardedSince, binding, recreateAllowance } = meta;
    const guard = {
      ...(guardedSince !== undefined ? { guardedSince } : {}),
      ...(binding ? { binding } : {}),
      ...(recreateAllowance !== undefined ? { recreateAllowance } : {}),
    };
    // A chunk is a stored part of the phase, named by its range: nothing of the phase is read here.
    // A plan an earlier version stored whole is read once, its chunks holding their operations.
    const chunk = meta.partOps ?? job.data.chunk ?? 1;
    const whole = meta.partOps === undefined ? await store.phaseOperations(meta, phase) : undefined;
    const total = meta.phases[phase]?.operations ?? 0;
    const parent = { id: phaseJobId(planId, target, phase + 1), queue: ctx.keys.queue(CONTROL_QUEUE) };
    const step = Math.max(1, Math.floor(FEED_OPERATIONS / chunk)) * chunk;
    // A retried feed goes on where it stopped (adding a job again would be a no-op, only slower).
    // Every step is whole chunks: a retried feed cuts the same chunks whatever step it stopped at.
    const from = typeof job.progress === 'number' ? job.progress : 0;
    for (let i = from; i < total; ) {
      const end = Math.min(i + (i === 0 ? Math.min(step, FIRST_FEED_CHUNKS * chunk) : step), total);
      // Asked of Redis at the feed's start (a feed retried, or run long after its phase job, may
      // find the lock gone), then as the keeper paces it.
      if (!(await ctx.locks.keep(planId, target, lockToken, i === from))) {
        // The cycle lost its lock (stopped for it by the keeper): what is not on the queue yet is
        // not put there; the chunks already on it skip their operations themselves.
        const rest = whole ? whole.slice(i) : await store.phaseOperations(meta, phase, { first: i, count: total - i });
        await skipOperations(planId, target, rest, (await store.stopped(planId, target))?.reason ?? LOCK_LOST);
        return { phase, enqueued: i };
      }
      const jobs = [];
      for (let first = i; first < end; first += chunk) {
        const count = Math.min(chunk, end - first);
        const data: AnyChunkJobData = whole
          ? { planId, target, lockToken, phase, ops: whole.slice(first, first + count), ...guard }
          : { planId, target, lockToken, phase, first, count, part: first / chunk, ...guard };
        jobs.push({ name: 'chunk', data, opts: { ...chunkJobOptions(q.retentionHours, q.failedRetentionHours), jobId: chunkJobId(planId, phase, first, count), parent } });
      }
      await ctx.queueOf(target).addBulk(jobs);
      await job.updateProgress(end);
      i = end;
    }
    return { phase, enqueued: total };
  };

  return (job) => (job.name === 'feed' ? processFeed(job) : processPhase(job));
}

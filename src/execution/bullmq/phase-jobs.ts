/**
 * The processor of control jobs (see queue-layout.ts for how phases follow each other). A `phase`
 * job starts one phase of one target's plan, or, after the last phase, writes the target's report
 * and releases its cycle lock; a `feed` job puts a phase's operations on the target's queue.
 */
import { Job } from 'bullmq';
import { CONTROL_QUEUE } from '../../state/redis-keys.js';
import { releaseLock } from '../../state/redis-run-lock.js';
import { DEFAULT_RETRY_POLICY } from '../../targets/http/retry-policy.js';
import { operationAuditRecord, targetFailedRecord } from '../operation-outcome.js';
import { describeTotals, totals } from '../run-report.js';
import { cleanTarget } from '../cycle-events.js';
import type { CycleReport, PlanMeta } from './cycle-store.js';
import {
  controlJobOptions,
  feedJobId,
  feedJobOptions,
  opJobId,
  operationJobOptions,
  phaseJobId,
  type OpJobData,
  type OpJobResult,
  type PhaseJobData,
} from './queue-layout.js';
import type { WorkerContext } from './worker-context.js';

/** Operations put on a target's queue per Redis round trip when a phase starts. */
const FEED_CHUNK = 500;

function summary(cycle: CycleReport): string {
  const t = totals({ planId: cycle.planId, startedAt: '', finishedAt: '', targets: [cycle.report] });
  return `${describeTotals(t)}${cycle.report.stopped ? ` (${cycle.report.stopped})` : ''}${cycle.error ? ` (not planned: ${cycle.error})` : ''}`;
}

export function controlProcessor(ctx: WorkerContext): (job: Job<PhaseJobData>) => Promise<unknown> {
  const { q, store, audit } = ctx;

  const finishCycle = async (meta: PlanMeta) => {
    const cycle = await store.finish(meta, async (ops) => {
      const reasons = new Map<string, string>();
      for (const op of ops) {
        const job = await Job.fromId<OpJobData>(ctx.queueOf(meta.target), opJobId(meta.planId, op.id));
        if (job?.failedReason) reasons.set(op.id, job.failedReason);
      }
      return reasons;
    });
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

  /** The previous phase's results, returned by its operation jobs to this one (OpJobResult). */
  const recordPreviousPhase = async (job: Job<PhaseJobData>) => {
    const ok = Object.values(await job.getChildrenValues<OpJobResult>()).filter((r) => r?.outcome === 'ok');
    if (ok.length === 0) return;
    const { planId, target } = job.data;
    await store.recordOutcomes(
      planId,
      target,
      ok.map((r) => [r.opId, { kind: r.kind, outcome: 'ok', ...(r.adopted ? { adopted: true as const } : {}) }]),
      ok.flatMap((r) => r.links),
    );
  };

  const processPhase = async (job: Job<PhaseJobData>) => {
    const { planId, target, lockToken, phase } = job.data;
    await ctx.locks.keep(target, lockToken, true);
    const meta = await store.meta(planId, target);
    const nextId = phaseJobId(planId, target, phase + 1);
    // This job ran before and died after starting the next phase (that is atomic): nothing left to do.
    if (phase < meta.phases.length && (await Job.fromId(ctx.control, nextId))) return { phase, started: false };
    await recordPreviousPhase(job);
    if (phase >= meta.phases.length) return finishCycle(meta);
    const next: PhaseJobData = { planId, target, lockToken, phase: phase + 1 };
    const stopped = await store.stopped(planId, target);
    if (stopped || meta.phases[phase]!.operations === 0) {
      const ops = stopped ? await store.phaseOperations(planId, target, phase) : [];
      await store.recordOutcomes(planId, target, ops.map((op) => [op.id, { kind: op.kind, outcome: 'skipped' }]));
      for (const op of ops) {
        audit.record(operationAuditRecord(planId, target, op, 'skipped', 0, { note: stopped ?? '' }));
        ctx.observer?.({ type: 'operation', target, kind: op.kind, outcome: 'skipped' });
      }
      await ctx.control.add('phase', next, { ...controlJobOptions(q.retentionHours), jobId: nextId });
      return { phase, started: false };
    }
    // The next phase's job waits for a feed job, which puts this phase's operations on the target's
    // queue as further children in chunks: workers start on the first chunk at once, and the next
    // phase cannot start before the last chunk is in (the feed job is a child until then).
    await ctx.flows.add({
      name: 'phase',
      queueName: CONTROL_QUEUE,
      data: next,
      opts: { ...controlJobOptions(q.retentionHours), jobId: nextId },
      children: [{ name: 'feed', queueName: CONTROL_QUEUE, data: job.data, opts: { ...feedJobOptions(q.retentionHours), jobId: feedJobId(planId, target, phase) } }],
    });
    return { phase, started: true };
  };

  const processFeed = async (job: Job<PhaseJobData>) => {
    const { planId, target, lockToken, phase } = job.data;
    const ops = await store.phaseOperations(planId, target, phase);
    const { guardedSince } = await store.meta(planId, target);
    const guard = guardedSince !== undefined ? { guardedSince } : {};
    const parent = { id: phaseJobId(planId, target, phase + 1), queue: ctx.keys.queue(CONTROL_QUEUE) };
    const attempts = ctx.loaded.config.targets[target]?.retries ?? DEFAULT_RETRY_POLICY.maxAttempts;
    // A retried feed goes on where it stopped (adding a job again would be a no-op, only slower).
    for (let i = typeof job.progress === 'number' ? job.progress : 0; i < ops.length; i += FEED_CHUNK) {
      await ctx.locks.keep(target, lockToken);
      await ctx.queueOf(target).addBulk(
        ops.slice(i, i + FEED_CHUNK).map((op) => ({
          name: op.kind,
          data: { planId, target, lockToken, op, ...guard } satisfies OpJobData,
          opts: { ...operationJobOptions(q.retentionHours, attempts), jobId: opJobId(planId, op.id), parent },
        })),
      );
      await job.updateProgress(Math.min(i + FEED_CHUNK, ops.length));
    }
    return { phase, enqueued: ops.length };
  };

  return (job) => (job.name === 'feed' ? processFeed(job) : processPhase(job));
}

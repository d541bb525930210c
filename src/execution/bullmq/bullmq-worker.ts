/**
 * The BullMQ side of distributed mode: the processors `scim-sync worker` runs.
 *
 * An operation job is one attempt of one plan operation through the shared runOperation(), with a
 * client this worker built from its own config (plans carry no credential). Its error decides what
 * BullMQ does next, through retry-policy.ts like the inline executor:
 * - retryable (timeout, reset, 5xx): thrown as is; BullMQ retries it after retryDelay() (our backoff
 *   strategy), up to the target's `retries`;
 * - 429: the target's whole queue pauses for what the server asked (queue.rateLimit), across every
 *   worker, and the job goes back to wait;
 * - anything else, or retries used up: the outcome is recorded, then UnrecoverableError fails the job
 *   at once; it stays in the failed set with its reason (a dead letter) until `scim-sync retry`.
 * A success returns its outcome and link changes (OpJobResult), which BullMQ stores with the
 * completion in the same Redis call; the next phase's job records them in bulk before that phase
 * starts. A final failure's outcome is written before the job fails. So a worker killed at any point
 * only makes another worker redo an idempotent operation (a create re-checks before posting again).
 *
 * A phase job (control queue) starts one phase of one target's plan, or, after the last phase,
 * writes the target's report and releases its cycle lock.
 */
import { FlowProducer, Job, Queue, UnrecoverableError, Worker, type MinimalJob, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AuditSink } from '../../audit/audit-sink.js';
import type { LoadedConfig } from '../../config/load.js';
import type { QueueConfig } from '../../config/schema.js';
import { createTargetRuntime, targetRateLimit } from '../target-runtime.js';
import { AuthError, DependencyError, RateLimitedError, TransientError, describeError } from '../../errors.js';
import { CONTROL_QUEUE, redisKeys, targetQueueName } from '../../state/redis-keys.js';
import { RedisLinkStore } from '../../state/redis-link-store.js';
import { extendLock, releaseLock } from '../../state/redis-run-lock.js';
import { CycleStore, type CycleReport, type PlanMeta } from './cycle-store.js';
import type { TargetRuntime } from '../executor.js';
import { OperationLinks } from './operation-links.js';
import { recordFailedCreate } from '../dependencies.js';
import {
  errorDetail,
  operationAuditRecord,
  operationFailure,
  operationSkip,
  resultDetail,
  resultOutcome,
  targetFailedRecord,
} from '../operation-outcome.js';
import {
  BACKOFF_TYPE,
  MAX_STALLED_COUNT,
  controlJobOptions,
  feedJobId,
  feedJobOptions,
  limiterOf,
  type OpJobResult,
  opJobId,
  operationJobOptions,
  phaseJobId,
  type OpJobData,
  type PhaseJobData,
} from './queue-layout.js';
import { DEFAULT_RETRY_POLICY, retryDelay, type RetryPolicy } from '../../targets/http/retry-policy.js';
import { runOperation, type AttemptState } from '../run-operation.js';
import { describeTotals, totals } from '../run-report.js';

/** How long a worker trusts that a cycle was not stopped before asking Redis again, ms. */
const STOP_RECHECK_MS = 500;

/** Operations put on a target's queue per Redis round trip when a phase starts. */
const FEED_CHUNK = 500;

/** Control jobs in flight per worker process: they only talk to Redis. */
const CONTROL_CONCURRENCY = 4;

export interface StartWorkersOptions {
  loaded: LoadedConfig;
  redis: Redis;
  /** Targets whose operations this process executes (phase jobs are taken for every target). */
  targets: readonly string[];
  audit: AuditSink;
  /** One line per notable event (cycle done, connection trouble). */
  log: (line: string) => void;
  /** Worker name shown by `status` (BullMQ's processedBy). */
  name: string;
}

export interface WorkerHandle {
  /** Stop taking jobs, finish the ones in flight, then return. */
  close(): Promise<void>;
}

function summary(cycle: CycleReport): string {
  const t = totals({ planId: cycle.planId, startedAt: '', finishedAt: '', targets: [cycle.report] });
  return `${describeTotals(t)}${cycle.report.stopped ? ` (${cycle.report.stopped})` : ''}${cycle.error ? ` (not planned: ${cycle.error})` : ''}`;
}

export async function startWorkers(options: StartWorkersOptions): Promise<WorkerHandle> {
  const { loaded, redis, audit, log } = options;
  const q = loaded.config.queue as QueueConfig;
  const connection = { connection: redis, prefix: q.prefix };
  const store = new CycleStore(redis, q.prefix, q.retentionHours * 3_600_000);
  const keys = redisKeys(q.prefix);
  const links = new RedisLinkStore(redis, q.prefix);
  const flows = new FlowProducer(connection);
  const control = new Queue<PhaseJobData>(CONTROL_QUEUE, connection);
  const queues = new Map<string, Queue<OpJobData>>();
  const queueOf = (target: string): Queue<OpJobData> => {
    let queue = queues.get(target);
    if (!queue) {
      queue = new Queue<OpJobData>(targetQueueName(target), connection);
      queues.set(target, queue);
    }
    return queue;
  };
  const runtimes = new Map<string, TargetRuntime>();
  for (const name of options.targets) runtimes.set(name, createTargetRuntime(name, loaded.config.targets[name]!));

  // The cycle lock is renewed as its jobs run, at most every tenth of its life per target.
  const renewed = new Map<string, number>();
  const keepLock = async (target: string, token: string, force = false): Promise<void> => {
    const key = `${target}\n${token}`;
    const now = Date.now();
    if (!force && now - (renewed.get(key) ?? 0) < q.cycleLockMs / 10) return;
    renewed.set(key, now);
    await extendLock(redis, q.prefix, target, token, q.cycleLockMs);
  };

  const policyOf = (job: { data: OpJobData; opts: { attempts?: number } }): RetryPolicy => {
    const policy = runtimes.get(job.data.target)?.retry ?? DEFAULT_RETRY_POLICY;
    // The job's own attempts bound BullMQ's retries: never promise one BullMQ will not make.
    return { ...policy, maxAttempts: Math.min(policy.maxAttempts, job.opts.attempts ?? 1) };
  };

  // Whether a cycle stopped sending to a target (a rejected credential). A stop seen is final; "not
  // stopped" is trusted for STOP_RECHECK_MS, so a stop by another worker reaches this one within that
  // time (an operation sent meanwhile meets the same rejection and is counted skipped, not failed).
  const stops = new Map<string, { reason: string | null; at: number }>();
  const stoppedReason = async (planId: string, target: string): Promise<string | null> => {
    const key = `${planId}\n${target}`;
    const known = stops.get(key);
    if (known && (known.reason !== null || Date.now() - known.at < STOP_RECHECK_MS)) return known.reason;
    const reason = await store.stopped(planId, target);
    if (stops.size >= 1000) stops.clear();
    stops.set(key, { reason, at: Date.now() });
    return reason;
  };
  /** `dependency`: skipped because something it needs does not exist (listed in the report), not because the target stopped. */
  const skip = async (job: Job<OpJobData>, reason: string, dependency = false) => {
    const { planId, target, op } = job.data;
    await store.recordOutcome(planId, target, op, 'skipped', dependency ? { skip: operationSkip(op, 'skipped', reason) } : {});
    audit.record(operationAuditRecord(planId, target, op, 'skipped', job.attemptsStarted - 1, { note: reason }));
    return { outcome: 'skipped' } satisfies OpJobResult;
  };

  const processOperation = async (job: Job<OpJobData>) => {
    const { planId, target, lockToken, op } = job.data;
    const runtime = runtimes.get(target)!;
    await keepLock(target, lockToken);
    const stopped = await stoppedReason(planId, target);
    if (stopped) return skip(job, stopped);
    const state: AttemptState = {};
    // Started before without finishing (its worker died, or it was lost to a timeout): the server may
    // have committed that attempt.
    if (job.data.ambiguous || job.attemptsStarted > job.attemptsMade + 1) {
      state.previousAmbiguous = new TransientError('an earlier attempt may have been committed', { target, resource: op.externalId }, true);
    }
    const opLinks = new OperationLinks(links, keys);
    const failed = store.failedIdentities(planId, target);
    try {
      const result = await runOperation(op, { target, client: runtime.client, links: opLinks, failed }, state);
      const outcome = resultOutcome(result);
      audit.record(operationAuditRecord(planId, target, op, outcome, job.attemptsStarted, resultDetail(result)));
      if (outcome === 'ok' && !job.data.direct) return { outcome: 'ok', opId: op.id, kind: op.kind, links: opLinks.changes() } satisfies OpJobResult;
      await store.recordOutcome(planId, target, op, outcome, result.partial
          ? { skip: operationSkip(op, 'partial', result.partial) }
          : result.unchanged && result.note
            ? { skip: operationSkip(op, 'unchanged', result.note) }
            : {}, opLinks.changes());
      return { outcome: 'recorded' } satisfies OpJobResult;
    } catch (error) {
      if (error instanceof DependencyError) return skip(job, error.message, true);
      if (error instanceof AuthError) {
        // The first rejection stops the cycle for this target; later ones are the stop's consequence.
        const reason = await store.stop(planId, target, `stopped: ${error.message}`);
        stops.set(`${planId}\n${target}`, { reason: reason.reason, at: Date.now() });
        if (!reason.first) return skip(job, reason.reason);
      }
      const policy = policyOf(job);
      // A 429 re-run does not count as a BullMQ attempt; attemptsStarted does count it.
      const attempt = error instanceof RateLimitedError ? job.attemptsStarted : job.attemptsMade + 1;
      const delay = error instanceof AuthError ? null : retryDelay(error, attempt, policy);
      if (delay === null) {
        // Before the job fails: the next phase, which may need what this one was to create, starts after.
        await recordFailedCreate(failed, op);
        await store.recordOutcome(planId, target, op, 'failed', { failure: operationFailure(op, error) }, opLinks.changes());
        audit.record(operationAuditRecord(planId, target, op, 'failed', job.attemptsStarted, errorDetail(error)));
        throw new UnrecoverableError(describeError(error));
      }
      // What the attempt learnt stays learnt (a stale link it dropped), as inline.
      await links.apply(opLinks.changes());
      if (error instanceof RateLimitedError) {
        await queueOf(target).rateLimit(delay);
        throw Worker.RateLimitError();
      }
      if (error instanceof TransientError && error.ambiguous && !job.data.ambiguous) await job.updateData({ ...job.data, ambiguous: true });
      throw error;
    }
  };

  const finishCycle = async (meta: PlanMeta) => {
    const cycle = await store.finish(meta, async (ops) => {
      const reasons = new Map<string, string>();
      for (const op of ops) {
        const job = await Job.fromId<OpJobData>(queueOf(meta.target), opJobId(meta.planId, op.id));
        if (job?.failedReason) reasons.set(op.id, job.failedReason);
      }
      return reasons;
    });
    await releaseLock(redis, q.prefix, meta.target, meta.lockToken);
    const line = `cycle ${meta.planId} for ${meta.target} done: ${summary(cycle)}`;
    if (cycle.report.stopped) audit.record(targetFailedRecord(meta.planId, meta.target, cycle.report.stopped));
    audit.record({ time: cycle.finishedAt, planId: meta.planId, target: meta.target, action: 'cycle.end', outcome: 'info', note: summary(cycle) });
    log(line);
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
      ok.map((r) => [r.opId, { kind: r.kind, outcome: 'ok' }]),
      ok.flatMap((r) => r.links),
    );
  };

  const processPhase = async (job: Job<PhaseJobData>) => {
    const { planId, target, lockToken, phase } = job.data;
    await keepLock(target, lockToken, true);
    const meta = await store.meta(planId, target);
    const nextId = phaseJobId(planId, target, phase + 1);
    // This job ran before and died after starting the next phase (that is atomic): nothing left to do.
    if (phase < meta.phases.length && (await Job.fromId(control, nextId))) return { phase, started: false };
    await recordPreviousPhase(job);
    if (phase >= meta.phases.length) return finishCycle(meta);
    const next: PhaseJobData = { planId, target, lockToken, phase: phase + 1 };
    const stopped = await store.stopped(planId, target);
    if (stopped || meta.phases[phase]!.operations === 0) {
      const ops = stopped ? await store.phaseOperations(planId, target, phase) : [];
      await store.recordOutcomes(planId, target, ops.map((op) => [op.id, { kind: op.kind, outcome: 'skipped' }]));
      for (const op of ops) audit.record(operationAuditRecord(planId, target, op, 'skipped', 0, { note: stopped ?? '' }));
      await control.add('phase', next, { ...controlJobOptions(q.retentionHours), jobId: nextId });
      return { phase, started: false };
    }
    // The next phase's job waits for a feed job, which puts this phase's operations on the target's
    // queue as further children in chunks: workers start on the first chunk at once, and the next
    // phase cannot start before the last chunk is in (the feed job is a child until then).
    await flows.add({
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
    const parent = { id: phaseJobId(planId, target, phase + 1), queue: keys.queue(CONTROL_QUEUE) };
    const attempts = loaded.config.targets[target]?.retries ?? DEFAULT_RETRY_POLICY.maxAttempts;
    // A retried feed goes on where it stopped (adding a job again would be a no-op, only slower).
    for (let i = typeof job.progress === 'number' ? job.progress : 0; i < ops.length; i += FEED_CHUNK) {
      await keepLock(target, lockToken);
      await queueOf(target).addBulk(
        ops.slice(i, i + FEED_CHUNK).map((op) => ({
          name: op.kind,
          data: { planId, target, lockToken, op } satisfies OpJobData,
          opts: { ...operationJobOptions(q.retentionHours, attempts), jobId: opJobId(planId, op.id), parent },
        })),
      );
      await job.updateProgress(Math.min(i + FEED_CHUNK, ops.length));
    }
    return { phase, enqueued: ops.length };
  };

  const common: WorkerOptions = {
    ...connection,
    name: options.name,
    lockDuration: q.lockDurationMs,
    stalledInterval: q.stalledIntervalMs,
    maxStalledCount: MAX_STALLED_COUNT,
  };
  const workers: Worker[] = [];
  for (const [target, runtime] of runtimes) {
    const config = loaded.config.targets[target]!;
    workers.push(
      new Worker<OpJobData>(targetQueueName(target), processOperation, {
        ...common,
        concurrency: runtime.concurrency,
        limiter: limiterOf(targetRateLimit(config)),
        settings: {
          backoffStrategy: (attemptsMade: number, type?: string, error?: Error, job?: MinimalJob<OpJobData>) =>
            type === BACKOFF_TYPE && job ? (retryDelay(error, attemptsMade, policyOf(job)) ?? -1) : -1,
        },
      }),
    );
  }
  workers.push(
    new Worker<PhaseJobData>(CONTROL_QUEUE, (job) => (job.name === 'feed' ? processFeed(job) : processPhase(job)), {
      ...common,
      concurrency: CONTROL_CONCURRENCY,
    }),
  );
  for (const worker of workers) {
    worker.on('error', (error) => log(`queue ${worker.name}: ${error.message}`));
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));

  return {
    close: async () => {
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all([flows.close(), control.close(), ...[...queues.values()].map((queue) => queue.close())]);
    },
  };
}

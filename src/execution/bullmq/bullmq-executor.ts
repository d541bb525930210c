/**
 * The distributed executor: stores each target's part of the plan in Redis and enqueues its first
 * phase job (see queue-layout.ts for how phases follow each other); `scim-sync worker` processes do
 * the rest. With `wait` it then waits until every target's cycle is done and returns the same report
 * the inline executor would; without, it returns as soon as the plan is enqueued.
 *
 * The targets' cycle locks (taken before planning) are handed off to the enqueued cycles, which
 * release them when they finish.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { QueueConfig, SafetyConfig } from '../../config/schema/index.js';
import { recreateAllowance } from '../../planning/safety.js';
import type { Plan } from '../../model/plan.js';
import { CONTROL_QUEUE, targetQueueName } from '../../state/redis-keys.js';
import { readLock, type TargetLocks } from '../../state/redis-run-lock.js';
import { redisAddress, redisStep, redisUnreachable, unreachableWhy } from '../../state/redis-errors.js';
import type { SyncObserver } from '../../telemetry/sync-events.js';
import { sleepUnlessAborted } from '../abortable-sleep.js';
import { CycleStore, StoredPhases } from './cycle-store.js';
import type { Executor, TargetRuntime } from '../executor.js';
import { chunkSize, controlJobOptions, phaseJobId, type PhaseJobData } from './queue-layout.js';
import { NOT_CONFIGURED, emptyTargetReport, stoppedTargetReport, type RunReport, type TargetReport, type TargetStop } from '../run-report.js';

export interface BullmqExecutorOptions {
  redis: Redis;
  queue: QueueConfig;
  locks: TargetLocks;
  /** Wait for every target's cycle to finish and report it; else return once enqueued (empty counts). */
  wait: boolean;
  /** How often a waiting executor looks for the reports, ms. Default 200. */
  pollMs?: number;
  /** Told when waiting sees no worker on a target's queue (queue.idleWarningMs). */
  log?: (line: string) => void;
  /** A waiting executor stops waiting after this long; targets not done are reported as still running. */
  waitTimeoutMs?: number;
  /** The operator's stop: a waiting executor stops waiting (the workers go on; `status` follows them). */
  signal?: AbortSignal;
  /** The workers skip an operation whose person a change-driven sync decided on a source read newer than this (state/person-clock.ts). */
  guardSince?: Date;
  /** The planner's safety rules: the limits on re-creates hold for those the workers make when they run the plan. */
  safety: SafetyConfig;
  /** Told, while waiting, how far the workers are with each target's cycle (`queued` events). */
  observer?: SyncObserver;
}

/** Longest wait for a reported cycle's lock to be freed: the worker frees it right after the report. */
const LOCK_FREED_WAIT_MS = 5_000;

export class BullmqExecutor implements Executor {
  constructor(private readonly options: BullmqExecutorOptions) {}

  async execute(plan: Plan, targets: ReadonlyMap<string, TargetRuntime>): Promise<RunReport> {
    const { redis, queue: q, locks } = this.options;
    const startedAt = new Date().toISOString();
    // Before the first write: a plan that cannot be stored for one target enqueues for none.
    // In parts of one chunk each, as the planner's config cuts the target's chunks.
    const storable = new Map(
      plan.targets.filter((tp) => targets.has(tp.target)).map((tp) => {
        const runtime = targets.get(tp.target)!;
        return [tp.target, StoredPhases.of(tp, chunkSize(runtime.concurrency, runtime.rateLimit))];
      }),
    );
    const store = CycleStore.of(redis, q);
    const control = new Queue<PhaseJobData>(CONTROL_QUEUE, { connection: redis, prefix: q.prefix });
    const reports = new Map<string, TargetReport>();
    const pending: { target: string; total: number }[] = [];
    try {
      for (const tp of plan.targets) {
        if (!targets.has(tp.target)) {
          reports.set(tp.target, stoppedTargetReport(tp.target, NOT_CONFIGURED));
          continue;
        }
        const { stored, meta } = await redisStep(q.redis, `storing plan ${plan.id} for target ${tp.target}`, () =>
          store.savePlan(plan, tp, storable.get(tp.target)!, locks.token, { recreateAllowance: recreateAllowance(tp, this.options.safety), ...(this.options.guardSince ? { guardSince: this.options.guardSince } : {}) }),
        );
        // Stored before under another lock: that enqueue's cycle owns the plan; ours only waits for it.
        const ours = stored || meta.lockToken === locks.token;
        if (ours && meta.phases.every((p) => p.operations === 0)) {
          // Nothing to send: report at once rather than keep the target locked until a worker comes.
          reports.set(tp.target, (await store.finish(meta, async () => new Map())).report);
          continue;
        }
        await redisStep(q.redis, `enqueueing plan ${plan.id} for target ${tp.target}`, async () => {
          if (ours) await locks.handOff(tp.target, q.cycleLockMs);
          await control.add(
            'phase',
            { planId: plan.id, target: tp.target, lockToken: meta.lockToken, phase: 0 },
            { ...controlJobOptions(q.retentionHours), jobId: phaseJobId(plan.id, tp.target, 0) },
          );
        });
        pending.push({ target: tp.target, total: meta.phases.reduce((n, p) => n + p.operations, 0) });
      }
    } finally {
      await control.close();
    }
    if (this.options.wait) {
      const deadline = this.options.waitTimeoutMs !== undefined ? Date.now() + this.options.waitTimeoutMs : Infinity;
      for (const { target, total } of pending) this.options.observer?.({ type: 'queued', target, total, done: 0 });
      for (const { target, total } of pending) reports.set(target, await this.waitFor(store, plan.id, target, total, deadline));
    }
    return {
      planId: plan.id,
      startedAt,
      finishedAt: new Date().toISOString(),
      targets: plan.targets.map((tp) => reports.get(tp.target) ?? emptyTargetReport(tp.target)),
    };
  }

  /**
   * The worker stores a cycle's report, then frees its lock: waited for (briefly), so that a cycle
   * asked for as soon as this one is reported (`run --wait` then `run`, a feed asking again) does
   * not find the target still locked by the cycle that has ended. Redis not answering ends this
   * wait: the report is what matters, and it is read.
   */
  private async lockFreed(target: string, ended: AbortSignal): Promise<void> {
    const { redis, queue: q, locks } = this.options;
    const until = AbortSignal.any([ended, AbortSignal.timeout(LOCK_FREED_WAIT_MS)]);
    try {
      for (;;) {
        const lock = await settledOrAborted(readLock(redis, q.prefix, target), until);
        if (lock === ABORTED || lock?.token !== locks.token) return;
        await sleepUnlessAborted(Math.min(this.options.pollMs ?? 200, 20), until);
      }
    } catch (error) {
      if (!redisUnreachable(error)) throw error;
    }
  }

  /**
   * The target's report once the workers wrote it; else why waiting ended: the timeout, the
   * operator's stop, or the cycle gone from Redis (restarted without persistence, or evicted), which
   * no worker can finish. Each is a stop of its own kind: none says the target refused anything, so
   * none counts towards quarantine. Says once when no worker has been on the target's queue for a while.
   *
   * Each look at Redis races the timeout and the stop: a Redis that went away or stopped answering
   * holds neither. Such an outage is said once and waited through (the workers wait for Redis too,
   * and go on where they were), until the report, the timeout or the stop.
   */
  private async waitFor(store: CycleStore, planId: string, target: string, total: number, deadline: number): Promise<TargetReport> {
    const { redis, queue: q, signal, observer } = this.options;
    const ended = AbortSignal.any([...(signal ? [signal] : []), ...(Number.isFinite(deadline) ? [AbortSignal.timeout(Math.max(deadline - Date.now(), 0))] : [])]);
    const queue = new Queue(targetQueueName(target), { connection: redis, prefix: q.prefix });
    let idleSince = Date.now();
    let warned = false;
    let unreachableSince: number | undefined;
    let done = 0;
    const look = async (): Promise<{ report: TargetReport } | { stop: TargetStop } | undefined> => {
      const cycle = await store.report(planId, target);
      if (cycle) {
        await this.lockFreed(target, ended);
        return { report: cycle.report };
      }
      if (!(await store.exists(planId, target))) {
        return {
          stop: {
            kind: 'data-lost',
            reason:
              "the cycle's data is gone from Redis (restarted without persistence, or evicted): no worker can finish it. " +
              'Redis needs persistence (appendonly yes) and maxmemory-policy noeviction (see the README); the next run plans it again',
          },
        };
      }
      done = await store.outcomeCount(planId, target);
      // Said once: after that, no more CLIENT LIST round trips for it.
      if (!warned) {
        if ((await queue.getWorkersCount()) > 0) idleSince = Date.now();
        else if (Date.now() - idleSince >= q.idleWarningMs) {
          warned = true;
          this.options.log?.(`waiting for target ${target}: no worker has been connected to its queue for ${Math.round((Date.now() - idleSince) / 1000)} s; start one with scim-sync worker`);
        }
      }
      return undefined;
    };
    try {
      for (;;) {
        if (signal?.aborted) return stoppedTargetReport(target, { kind: 'interrupted', reason: 'still running when waiting was interrupted: the workers go on with it (scim-sync status shows where it is)' });
        if (ended.aborted || Date.now() >= deadline) {
          return stoppedTargetReport(target, {
            kind: 'wait-timeout',
            reason: `still running after ${this.options.waitTimeoutMs! / 1000} s of waiting${unreachableSince !== undefined ? ` (Redis ${redisAddress(q.redis)} not answering for the last ${Math.round((Date.now() - unreachableSince) / 1000)} s)` : ''}: the workers go on with it (scim-sync status shows where it is)`,
          });
        }
        let outcome: Awaited<ReturnType<typeof look>>;
        try {
          const looked = await settledOrAborted(look(), ended);
          if (looked === ABORTED) continue;
          outcome = looked;
          if (unreachableSince !== undefined) this.options.log?.(`Redis ${redisAddress(q.redis)} answers again: still waiting for target ${target}`);
          unreachableSince = undefined;
        } catch (error) {
          if (!redisUnreachable(error)) throw error;
          if (unreachableSince === undefined) {
            unreachableSince = Date.now();
            this.options.log?.(
              `Redis ${redisAddress(q.redis)} does not answer while waiting for target ${target} (cycle ${planId}): ${unreachableWhy(error)}; ` +
                `still waiting for it${Number.isFinite(deadline) ? ' until --wait-timeout' : ''} (Ctrl-C stops waiting; the workers go on once Redis is back)`,
            );
          }
        }
        if (outcome && 'report' in outcome) return outcome.report;
        if (outcome && 'stop' in outcome) return stoppedTargetReport(target, outcome.stop);
        observer?.({ type: 'queued', target, total, done, ...(unreachableSince !== undefined ? { unreachableSince } : {}) });
        await sleepUnlessAborted(this.options.pollMs ?? 200, ended);
      }
    } finally {
      await settledOrAborted(queue.close(), AbortSignal.timeout(1_000)).catch(() => undefined);
    }
  }
}

const ABORTED = Symbol('aborted');

/**
 * `promise`'s value, or ABORTED as soon as `signal` aborts (the promise is left to settle on its own,
 * its rejection then ignored): a Redis command that does not answer holds no deadline.
 */
function settledOrAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | typeof ABORTED> {
  promise.catch(() => undefined);
  if (signal.aborted) return Promise.resolve(ABORTED);
  return new Promise<T | typeof ABORTED>((resolve, reject) => {
    const onAbort = () => resolve(ABORTED);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

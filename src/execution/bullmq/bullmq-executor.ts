/**
 * The distributed executor: stores each target's part of the plan in Redis and enqueues its first
 * phase job (see queue-layout.ts for how phases follow each other); `scim-sync worker` processes do
 * the rest. With `wait` it then waits until every target's cycle is done and returns the same report
 * the inline executor would; without, it returns as soon as the plan is enqueued.
 *
 * The targets' cycle locks (taken before planning) are handed off to the enqueued cycles, which
 * release them when they finish.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { QueueConfig, SafetyConfig } from '../../config/schema/index.js';
import { recreateAllowance } from '../../planning/safety.js';
import type { Plan } from '../../model/plan.js';
import { CONTROL_QUEUE, targetQueueName } from '../../state/redis-keys.js';
import { readLock, type TargetLocks } from '../../state/redis-run-lock.js';
import { CycleStore } from './cycle-store.js';
import type { Executor, TargetRuntime } from '../executor.js';
import { controlJobOptions, phaseJobId, type PhaseJobData } from './queue-layout.js';
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
}

/** Longest wait for a reported cycle's lock to be freed: the worker frees it right after the report. */
const LOCK_FREED_WAIT_MS = 5_000;

export class BullmqExecutor implements Executor {
  constructor(private readonly options: BullmqExecutorOptions) {}

  async execute(plan: Plan, targets: ReadonlyMap<string, TargetRuntime>): Promise<RunReport> {
    const { redis, queue: q, locks } = this.options;
    const startedAt = new Date().toISOString();
    const store = new CycleStore(redis, q.prefix, q.retentionHours * 3_600_000);
    const control = new Queue<PhaseJobData>(CONTROL_QUEUE, { connection: redis, prefix: q.prefix });
    const reports = new Map<string, TargetReport>();
    const pending: string[] = [];
    try {
      for (const tp of plan.targets) {
        if (!targets.has(tp.target)) {
          reports.set(tp.target, stoppedTargetReport(tp.target, NOT_CONFIGURED));
          continue;
        }
        const { stored, meta } = await store.savePlan(plan, tp, locks.token, { recreateAllowance: recreateAllowance(tp, this.options.safety), ...(this.options.guardSince ? { guardSince: this.options.guardSince } : {}) });
        // Stored before under another lock: that enqueue's cycle owns the plan; ours only waits for it.
        const ours = stored || meta.lockToken === locks.token;
        if (ours && meta.phases.every((p) => p.operations === 0)) {
          // Nothing to send: report at once rather than keep the target locked until a worker comes.
          reports.set(tp.target, (await store.finish(meta, async () => new Map())).report);
          continue;
        }
        if (ours) await locks.handOff(tp.target, q.cycleLockMs);
        await control.add(
          'phase',
          { planId: plan.id, target: tp.target, lockToken: meta.lockToken, phase: 0 },
          { ...controlJobOptions(q.retentionHours), jobId: phaseJobId(plan.id, tp.target, 0) },
        );
        pending.push(tp.target);
      }
    } finally {
      await control.close();
    }
    if (this.options.wait) {
      const deadline = this.options.waitTimeoutMs !== undefined ? Date.now() + this.options.waitTimeoutMs : Infinity;
      for (const target of pending) reports.set(target, await this.waitFor(store, plan.id, target, deadline));
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
   * not find the target still locked by the cycle that has ended.
   */
  private async lockFreed(target: string, deadline: number): Promise<void> {
    const { redis, queue: q, locks } = this.options;
    const until = Math.min(deadline, Date.now() + LOCK_FREED_WAIT_MS);
    while ((await readLock(redis, q.prefix, target))?.token === locks.token && Date.now() < until) {
      await sleep(Math.min(this.options.pollMs ?? 200, 20));
    }
  }

  /**
   * The target's report once the workers wrote it; else why waiting ended: the timeout, the
   * operator's stop, or the cycle gone from Redis (restarted without persistence, or evicted), which
   * no worker can finish. Each is a stop of its own kind: none says the target refused anything, so
   * none counts towards quarantine. Says once when no worker has been on the target's queue for a while.
   */
  private async waitFor(store: CycleStore, planId: string, target: string, deadline: number): Promise<TargetReport> {
    const { redis, queue: q } = this.options;
    const queue = new Queue(targetQueueName(target), { connection: redis, prefix: q.prefix });
    let idleSince = Date.now();
    let warned = false;
    try {
      for (;;) {
        const cycle = await store.report(planId, target);
        if (cycle) {
          await this.lockFreed(target, deadline);
          return cycle.report;
        }
        const why: TargetStop | undefined = this.options.signal?.aborted
          ? { kind: 'interrupted', reason: 'still running when waiting was interrupted: the workers go on with it (scim-sync status shows where it is)' }
          : Date.now() >= deadline
            ? { kind: 'wait-timeout', reason: `still running after ${this.options.waitTimeoutMs! / 1000} s of waiting: the workers go on with it (scim-sync status shows where it is)` }
            : !(await store.exists(planId, target))
              ? {
                  kind: 'data-lost',
                  reason:
                    "the cycle's data is gone from Redis (restarted without persistence, or evicted): no worker can finish it. " +
                    'Redis needs persistence (appendonly yes) and maxmemory-policy noeviction (see the README); the next run plans it again',
                }
              : undefined;
        if (why) return stoppedTargetReport(target, why);
        // Said once: after that, no more CLIENT LIST round trips for it.
        if (!warned) {
          if ((await queue.getWorkersCount()) > 0) idleSince = Date.now();
          else if (Date.now() - idleSince >= q.idleWarningMs) {
            warned = true;
            this.options.log?.(`waiting for target ${target}: no worker has been connected to its queue for ${Math.round((Date.now() - idleSince) / 1000)} s; start one with scim-sync worker`);
          }
        }
        await sleep(Math.min(this.options.pollMs ?? 200, Math.max(deadline - Date.now(), 1)));
      }
    } finally {
      await queue.close();
    }
  }
}

/**
 * Full reconciles in the service: on the cron, at start, and when a feed cannot name who changed.
 * One at a time; requests made while one runs are answered by a single cycle started after it (a
 * cycle that began before the request may have read the source before the change).
 *
 * Each cycle skips operations for people a change-driven sync decided on a newer read while the
 * cycle ran (PersonClock), and after it the service learns each target's managed population (the
 * base of the change-driven safety shares).
 */
import type { LoadedConfig } from '../config/load.js';
import { runCycle, type CycleResult } from '../engine/cycle.js';
import type { RunState } from '../engine/run-state.js';
import { selectTargets } from '../config/select-targets.js';
import { describeError } from '../errors.js';
import type { Plan } from '../model/plan.js';
import type { Notifier } from '../notify/notifier.js';
import { totals, unreached } from '../execution/run-report.js';
import { Turns } from './turns.js';
import type { SyncObserver } from '../telemetry/sync-events.js';
import type { Log } from '../telemetry/logger.js';
import { newPlanId } from '../engine/make-plan.js';
import { detachSource } from '../engine/plan-binding.js';

/** A target a cycle was asked for and left out: nothing this cycle read or planned reached it. */
export interface LeftOut {
  target: string;
  /** e.g. "skipped: its previous cycle still runs", or the quarantine status with its next try. */
  why: string;
}

export interface CycleOutcome {
  reason: string;
  startedAt: Date;
  finishedAt: Date;
  result?: CycleResult;
  error?: unknown;
  /**
   * Targets left out before the source was read: their previous cycle still runs (distributed: it
   * may have read the source before the change that asked for this one), or in quarantine. Those
   * found before a failure, when the cycle failed (`error` is then the answer).
   */
  leftOut: readonly LeftOut[];
}

/**
 * Why a full reconcile asked for a change (a feed's group removal or a person it cannot name, a
 * request too large for the fast lane) did not reach every target, so the change is not done (a
 * feed's position must not move past it), naming each target left out:
 * the cycle failed; a target was left out (its previous cycle still runs and may have read the
 * source before the change, or it is in quarantine), so none or only some ran; or a target could
 * not be read or stopped. Failed operations are left to the next cycle: a full cycle again every
 * poll for them would cost more than they do.
 */
export function cycleLeftOut(outcome: CycleOutcome): string | undefined {
  if (outcome.error !== undefined) return describeError(outcome.error);
  const result = outcome.result;
  // An applied report lists the quarantined targets too: they are named once, from leftOut.
  const why = [
    ...outcome.leftOut.map((l) => `target ${l.target} ${l.why}`),
    ...(result?.kind === 'applied' ? result.report.targets.map(unreached).filter((w) => w !== undefined) : []),
  ];
  if (why.length > 0) return why.join('; ');
  return result ? undefined : 'no cycle ran';
}

/**
 * Distributed: how long a cycle someone awaits waits for the workers. Past it the targets still
 * running count as not reached, so the change is asked for again later (the lane is not held by a
 * fleet of workers that is down: the scheduled cycles go on).
 */
export const AWAITED_CYCLE_TIMEOUT_MS = 15 * 60_000;

export interface ReconcileDeps {
  loaded: LoadedConfig;
  state: RunState;
  notifier: Notifier;
  log: Log;
  /** The service stopping: start no further operation. */
  signal: AbortSignal;
  onCycle?(outcome: CycleOutcome): void;
  /** Told each cycle's plan before it is applied; the apply waits for it (tests interleave events here). */
  onPlan?(plan: Plan): Promise<void>;
  /** Told the cycle's reads, operations, retries and end per target (metrics). */
  observer?: SyncObserver;
}

export class ReconcileLane {
  private running: Promise<CycleOutcome> | null = null;
  private next: { reasons: string[]; awaitApply: boolean; outcome: Promise<CycleOutcome> } | null = null;
  /** Managed users per target as the last full plan counted them. */
  readonly managed = new Map<string, number>();
  last: CycleOutcome | undefined;
  /** Cycles take turns with the console's actions that apply a saved set (approve, retry). */
  readonly turns = new Turns();

  constructor(private readonly deps: ReconcileDeps) {}

  /**
   * A full cycle that starts after this call; resolves with its outcome (never rejects).
   * `awaitApply`: whoever asks judges the change done by this outcome (a feed's position, a request
   * over maxBatch), so in distributed mode the cycle waits for the workers' reports instead of
   * returning once enqueued: an enqueued plan says nothing of a target the workers then failed on.
   */
  request(reason: string, options: { awaitApply?: boolean } = {}): Promise<CycleOutcome> {
    const awaitApply = !!options.awaitApply;
    if (!this.running) return (this.running = this.cycle(reason, awaitApply));
    if (this.next) {
      this.next.reasons.push(reason);
      this.next.awaitApply ||= awaitApply;
      return this.next.outcome;
    }
    const next = { reasons: [reason], awaitApply, outcome: undefined as unknown as Promise<CycleOutcome> };
    next.outcome = this.running.then(() => {
      this.next = null;
      return (this.running = this.cycle(next.reasons.join('; '), next.awaitApply));
    });
    this.next = next;
    return next.outcome;
  }

  /** Resolves when no cycle runs or waits. */
  async idle(): Promise<void> {
    while (this.running || this.next) await (this.next?.outcome ?? this.running);
  }

  private cycle(reason: string, awaitApply: boolean): Promise<CycleOutcome> {
    return this.turns.run(() => this.runCycle(reason, awaitApply));
  }

  private async runCycle(reason: string, awaitApply: boolean): Promise<CycleOutcome> {
    const { loaded, state, notifier, log } = this.deps;
    const startedAt = new Date();
    // Named before the source is read: every line of the cycle carries the id its plan and audit records will.
    const cycle = newPlanId();
    log(`cycle: starting (${reason})`, { cycle });
    let outcome: CycleOutcome;
    const leftOut: LeftOut[] = [];
    const leave = (target: string, why: string) => {
      leftOut.push({ target, why });
      log(`cycle: target ${target} ${why}`, { cycle, target });
    };
    // Distributed: the cycle locks of the targets free now, handed off to the workers with the plan.
    const wanted = selectTargets(loaded).map(([name]) => name);
    const lease = state.lockCycle ? await state.lockCycle(wanted).catch((error: unknown) => ({ error })) : undefined;
    try {
      if (lease && 'error' in lease) throw lease.error;
      for (const busy of lease?.busy ?? []) leave(busy, 'skipped: its previous cycle still runs');
      const targets = lease?.targets ?? wanted;
      if (targets.length === 0) {
        outcome = { reason, startedAt, finishedAt: new Date(), leftOut };
        log('cycle: every target is still in its previous cycle; nothing planned', { cycle });
      } else {
        const result = await runCycle(loaded, lease?.state ?? state, {
          targets,
          overrideSafety: false,
          // Embedded: applied here, waited for. Distributed: enqueued for the workers, which skip a
          // person's operation superseded by a change-driven sync as this process would; waited for
          // (bounded: a target still running then is not reached) when someone judges the change by it.
          executor: {
            wait: !state.distributed || awaitApply,
            ...(state.distributed && awaitApply ? { waitTimeoutMs: AWAITED_CYCLE_TIMEOUT_MS } : {}),
            guardSince: startedAt,
            initiator: { initiator: 'schedule', by: 'serve' },
            signal: this.deps.signal,
          },
          notifier,
          planId: cycle,
          onQuarantined: (target, status) => leave(target, `skipped: ${status}`),
          ...(this.deps.observer ? { observer: this.deps.observer } : {}),
          ...(this.deps.onPlan ? { onPlan: this.deps.onPlan } : {}),
        });
        if (result.kind !== 'quarantined') for (const t of result.plan.targets) if (!t.error) this.managed.set(t.target, t.managedUsers);
        // What was decided before this cycle read the source, the cycle has seen.
        await state.personClock.forgetBefore(startedAt);
        await state.links.flush();
        // Kept until the next cycle ends (the console reads it): its digest, not the whole read.
        if (result.kind !== 'quarantined') detachSource(result.plan);
        outcome = { reason, startedAt, finishedAt: new Date(), result, leftOut };
        log(`cycle: ${summary(result)}`, { cycle, ...(result.kind === 'stopped' || (result.kind === 'applied' && result.afterwards !== undefined) ? { level: 'warn' } : {}) });
      }
    } catch (error) {
      outcome = { reason, startedAt, finishedAt: new Date(), error, leftOut };
      log(`cycle: failed: ${describeError(error)}`, { cycle, level: 'error' });
    } finally {
      if (lease && !('error' in lease)) await lease.release();
    }
    this.last = outcome;
    this.running = null;
    this.deps.onCycle?.(outcome);
    return outcome;
  }
}

function summary(result: CycleResult): string {
  switch (result.kind) {
    case 'quarantined':
      return `every target in quarantine: ${[...result.skipped.keys()].join(', ')}`;
    case 'stopped':
      return `stopped by the safety check: ${result.error.reasons.join('; ')}`;
    case 'enqueued':
      return `${result.plan.id} enqueued for the workers`;
    case 'applied': {
      const t = totals(result.report);
      return `${result.plan.id} applied: ${t.ok} ok, ${t.failed} failed, ${t.skipped} skipped${result.afterwards !== undefined ? `; then ${describeError(result.afterwards)}` : ''}`;
    }
  }
}

/**
 * While a target's last full cycle is stopped by the safety check, the change-driven batches (feeds,
 * inbound events, due changes) write nothing to it but leavers' deprovisions. A stop says the
 * source or the mapping is in doubt (a typo clearing every title, an export with a broken column):
 * a person read through the same doubt a few at a time would get what the cycle refused, in small
 * enough pieces to pass each batch's check. Deprovisions still go: a leaver keeping access is the
 * other bad day, and they have their own check over the safety window (ChangeWindow), which every
 * batch's deprovisions count against. Unless the stop is about deprovisions itself (too many
 * leavers, a source read as an outage, a scope that drops everyone): then the doubt is exactly
 * whether they left, and they are held too (an urgent one is `deprovision`'s, the emergency path).
 *
 * The hold ends when a full cycle passes for the target (applied, or enqueued for the workers), or
 * when a later stopped cycle's check finds nothing against the target itself. The people held are
 * synced by that cycle when it read the source after them; those held after it started (it may
 * have read them before their change), or lifted by a stopped cycle (which applied nothing), are
 * handed back to be synced again.
 *
 * A restarted service has forgotten its holds. Until its start-up cycle is judged, every target is
 * held as if stopped (`awaitStartUp`), deprovisions going as ever: otherwise a batch planned
 * before that cycle meets the stop again would write through the very doubt (a typo clearing
 * titles a few people at a time) between the restart and the stop. A start-up cycle that fails, or
 * cannot read a target, lifts that wait: it found no doubt, and the batches are judged as usual.
 */
import type { SafetyConfig } from '../config/schema/index.js';
import { operationsOf, type Operation, type Plan, type TargetPlan } from '../model/plan.js';
import { safetyViolations, stopsByTarget } from '../planning/safety.js';
import type { Log } from '../telemetry/logger.js';
import type { CycleOutcome } from './reconcile-lane.js';
import { joined } from '../model/joined-lists.js';

interface Hold {
  since: Date;
  /** The stopped cycle's plan id and its reasons against this target; null: the start-up cycle is not judged yet. */
  cycle: string | null;
  reasons: readonly string[];
  /** The stop is about deprovisions too: they are held as well. */
  deprovisions: boolean;
  /** People whose writes were held, with when (ms). */
  people: Map<string, number>;
}

/** What a batch's plan becomes under the holds: its operations for held targets taken out. */
export interface HeldPlan {
  plan: Plan;
  /** People of the batch with an operation held and none left to apply: their read decided nothing. */
  heldOnly: ReadonlySet<string>;
}

export class CycleHold {
  private readonly holds = new Map<string, Hold>();

  constructor(
    private readonly safety: SafetyConfig,
    private readonly log: Log,
  ) {}

  /**
   * Learns a full cycle's outcome: holds the targets its stop is against, lifts those it passed.
   * Returns the people held that this cycle did not sync (to be synced again now).
   */
  observe(outcome: CycleOutcome): string[] {
    const result = outcome.result;
    const again = new Set<string>();
    const liftWaits = (targets: Iterable<string>) => {
      for (const target of targets) {
        if (this.holds.get(target)?.cycle === null) for (const key of this.lift(target, 'the start-up cycle judged nothing against it', undefined)) again.add(key);
      }
    };
    if (result === undefined || result.kind === 'quarantined') {
      liftWaits([...this.holds.keys()]);
      return [...again];
    }
    // A target the cycle could not read was judged on nothing: a real hold stays as it was, a wait ends.
    liftWaits(result.plan.targets.filter((t) => t.error).map((t) => t.target));
    if (result.kind === 'stopped') {
      const stops = stopsByTarget(result.plan, this.safety);
      for (const t of result.plan.targets) {
        if (t.error) continue;
        const reasons = stops.get(t.target);
        if (reasons) this.hold(t.target, result.plan.id, reasons, deprovisionsInDoubt(result.plan, t, this.safety));
        // Its own changes pass: the doubt is another target's. The cycle applied nothing, so everyone held goes again.
        else for (const key of this.lift(t.target, `the full cycle ${result.plan.id} found nothing against it`, undefined)) again.add(key);
      }
      return [...again];
    }
    for (const t of result.plan.targets) {
      // A target the cycle could not read was not synced: its hold stays.
      if (t.error) continue;
      for (const key of this.lift(t.target, `the full cycle ${result.plan.id} passed`, outcome.startedAt)) again.add(key);
    }
    return [...again];
  }

  /** Every target waits for the start-up cycle to be judged, as if it had been stopped (see above). */
  awaitStartUp(targets: readonly string[]): void {
    for (const target of targets) this.holds.set(target, { since: new Date(), cycle: null, reasons: [], deprovisions: false, people: new Map() });
  }

  /** The /readyz problems: one per held target. */
  problems(): string[] {
    return [...this.holds].map(([target, h]) => {
      const why = h.cycle === null ? 'until the start-up cycle is judged' : `until a full cycle passes (the full cycle ${h.cycle} was stopped by the safety check at ${h.since.toISOString()})`;
      return `target ${target}: change-driven syncs write ${writes(h)} ${why}; ${h.people.size} ${h.people.size === 1 ? 'person' : 'people'} held`;
    });
  }

  /**
   * The batch's plan with every operation for a held target but deprovisions taken out into the
   * target's `held` (recorded as held in the provisioning log, not applied, not counted by the
   * safety check), and its people remembered.
   */
  apply(plan: Plan, keys: readonly string[], now: Date): HeldPlan {
    if (this.holds.size === 0) return { plan, heldOnly: new Set() };
    const batch = new Set(keys);
    const held = new Set<string>();
    const targets = plan.targets.map((tp) => {
      const hold = this.holds.get(tp.target);
      if (!hold) return tp;
      const why = hold.cycle === null ? 'the service started and its start-up cycle is not judged yet; synced when it passes' : `the last full cycle (${hold.cycle}) was stopped by the safety check; synced when a full cycle passes`;
      const { kept, taken } = holdBack(tp, hold.deprovisions, why);
      for (const op of taken.operations) {
        // A group's operation carries the group's key: whose change it was is not told, so the batch's people are.
        for (const key of batch.has(op.externalId) ? [op.externalId] : keys) {
          hold.people.set(key, now.getTime());
          if (batch.has(op.externalId)) held.add(key);
        }
      }
      return kept;
    });
    const next = { ...plan, targets };
    const left = new Set(joined(next.targets.map((t) => operationsOf(t).map((op) => op.externalId))));
    return { plan: next, heldOnly: new Set([...held].filter((k) => !left.has(k))) };
  }

  private hold(target: string, cycle: string, reasons: readonly string[], deprovisions: boolean): void {
    const known = this.holds.get(target);
    const hold: Hold = { since: known?.since ?? new Date(), cycle, reasons, deprovisions, people: known?.people ?? new Map() };
    this.holds.set(target, hold);
    // Said when the hold starts or what it holds changes, not at every cycle that stops again.
    if (known && known.cycle !== null && known.deprovisions === deprovisions) return;
    this.log(
      `target ${target}: change-driven syncs write ${writes(hold)} until a full cycle passes: the full cycle ${cycle} was stopped by the safety check (${reasons.join('; ')})`,
      { cycle, target, level: 'warn' },
    );
  }

  /** Ends the target's hold; returns its people held at or after `syncedBefore` (all without it). */
  private lift(target: string, why: string, syncedBefore: Date | undefined): string[] {
    const hold = this.holds.get(target);
    if (!hold) return [];
    this.holds.delete(target);
    const from = syncedBefore?.getTime() ?? -Infinity;
    const again = [...hold.people].filter(([, at]) => at >= from).map(([key]) => key);
    this.log(
      `target ${target}: change-driven syncs write again (${why}); ${hold.people.size} held ${hold.people.size === 1 ? 'person' : 'people'}${again.length > 0 ? `, ${again.length} synced again now` : ', synced by that cycle'}`,
      { target },
    );
    return again;
  }
}

function writes(hold: Hold): string {
  return hold.deprovisions ? 'nothing (its stop is about deprovisions)' : "only leavers' deprovisions";
}

/**
 * Whether the target's stop doubts its deprovisions: its check fails on them alone (too many, or a
 * reason about the whole source read, which an outage gives).
 */
function deprovisionsInDoubt(plan: Plan, tp: TargetPlan, safety: SafetyConfig): boolean {
  const phases = tp.phases.map((p) => ({ ...p, operations: p.operations.filter((op) => op.kind === 'deprovisionUser') }));
  return safetyViolations({ ...plan, targets: [{ ...tp, phases }] }, safety).length > 0;
}

/**
 * The target's plan with its operations taken out (but deprovisions, unless `deprovisions`), and
 * what was taken (added to any deprovisions it already holds).
 */
function holdBack(tp: TargetPlan, deprovisions: boolean, reason: string): { kept: TargetPlan; taken: { operations: Operation[] } } {
  const operations: Operation[] = [];
  const phases = tp.phases.map((p) => ({
    ...p,
    operations: p.operations.filter((op) => (op.kind === 'deprovisionUser' && !deprovisions ? true : (operations.push(op), false))),
  }));
  if (operations.length === 0) return { kept: tp, taken: { operations } };
  const held = tp.held ? { reason: `${tp.held.reason}; ${reason}`, operations: [...tp.held.operations, ...operations] } : { reason, operations };
  return { kept: { ...tp, phases, held }, taken: { operations } };
}

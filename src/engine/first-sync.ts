/**
 * A target's first sync, kept until it completes (state/first-sync-store.ts): begun by the apply
 * that first writes to a target with no managed users, completed by the cycle that leaves it nothing
 * to do. Meanwhile plans carry `firstSyncSince` and the create check judges the target as a first
 * sync, so that one cut short (a killed process, a network down, a 5xx storm) finishes on the next
 * run without an override, while a target whose first sync completed is judged as strictly as ever.
 */
import type { RunReport } from '../execution/run-report.js';
import type { Plan, TargetPlan } from '../model/plan.js';
import { beginsFirstSync, givesNoAccess } from '../planning/safety.js';
import type { FirstSyncStore } from '../state/first-sync-store.js';

/** The plans of the targets the state records an unfinished first sync of, marked so. */
export async function markFirstSyncs(store: FirstSyncStore, targets: TargetPlan[]): Promise<TargetPlan[]> {
  const unfinished = await store.all();
  if (unfinished.size === 0) return targets;
  return targets.map((t) => {
    const entry = unfinished.get(t.target);
    return entry && !t.error ? { ...t, firstSyncSince: entry.since } : t;
  });
}

/** Records the first syncs this plan begins; before its first write, so that a run cut short at any point leaves the record. */
export async function beginFirstSyncs(store: FirstSyncStore, plan: Plan, now: Date): Promise<void> {
  for (const t of plan.targets) if (beginsFirstSync(t)) await store.begin({ target: t.target, since: now.toISOString(), planId: plan.id });
}

/**
 * Drops the record of each first sync this cycle completed: its target read in full and given no
 * account to make, or (with `report`, of an apply that ran to its end) every operation done, none
 * failed, skipped or left in part, and the target not stopped. `report` absent: the apply's outcome
 * is not known here (handed to the workers, interrupted); only the plan can say.
 */
export async function completeFirstSyncs(store: FirstSyncStore, plan: Plan, report?: RunReport): Promise<void> {
  const unfinished = await store.all();
  for (const t of plan.targets) {
    if (!unfinished.has(t.target) || t.error) continue;
    const done = report?.targets.find((r) => r.target === t.target);
    if (givesNoAccess(t) || (done && finished(done))) await store.complete(t.target);
  }
}

function finished(target: RunReport['targets'][number]): boolean {
  if (target.stopped || target.unreadable || target.quarantined) return false;
  return Object.values(target.counts).every((c) => c.failed === 0 && c.skipped === 0 && (c.partial ?? 0) === 0);
}

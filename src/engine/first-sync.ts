/**
 * A target's first sync, kept until it completes (state/first-sync-store.ts): begun by the apply
 * that first writes to a target with no managed users, completed by the cycle that leaves it nothing
 * to do. Meanwhile plans carry `firstSync` and the create check judges the target as a first
 * sync, so that one cut short (a killed process, a network down, a 5xx storm) finishes on the next
 * run without an override, while a target whose first sync completed is judged as strictly as ever.
 * A first sync done in one cycle leaves no record in the provisioning log beyond its creates; one
 * cut short does: each later apply that continues it (`first-sync.continue`: its creates were not
 * limited, and why) and the cycle that completes it (`first-sync.complete`).
 */
import type { AuditSink } from '../audit/audit-sink.js';
import type { ErrorCode } from '../errors.js';
import type { RunReport, TargetReport } from '../execution/run-report.js';
import type { OperationKind, Plan, TargetPlan } from '../model/plan.js';
import { accountsGiven, beginsFirstSync, givesNoAccess } from '../planning/safety.js';
import type { FirstSyncStore } from '../state/first-sync-store.js';

/** The plans of the targets the state records an unfinished first sync of, marked so. */
export async function markFirstSyncs(store: FirstSyncStore, targets: TargetPlan[]): Promise<TargetPlan[]> {
  const unfinished = await store.all();
  if (unfinished.size === 0) return targets;
  return targets.map((t) => {
    const entry = unfinished.get(t.target);
    return entry && !t.error ? { ...t, firstSync: { since: entry.since, accounts: entry.accounts } } : t;
  });
}

/**
 * Records the first syncs this plan begins, before its first write, so that a run cut short at any
 * point leaves the record; and, in the provisioning log, each unfinished one it continues.
 */
export async function beginFirstSyncs(store: FirstSyncStore, audit: AuditSink, plan: Plan, now: Date): Promise<void> {
  const time = now.toISOString();
  for (const t of plan.targets) {
    if (beginsFirstSync(t)) await store.begin({ target: t.target, since: time, planId: plan.id, accounts: accountsGiven(t) });
    else if (t.firstSync && !givesNoAccess(t)) {
      const note = `continues the first sync begun ${t.firstSync.since}, cut short: the create check does not count its rest (${t.firstSync.accounts} accounts in all) until a cycle completes it`;
      audit.record({ time, planId: plan.id, target: t.target, action: 'first-sync.continue', outcome: 'info', note });
    }
  }
}

/**
 * Drops the record of each first sync this cycle completed: its target read in full and given no
 * account to make, or (with `report`, of an apply that ran to its end) none of the operations that
 * give an account skipped or failed for a reason that cuts a run short, and the target not stopped.
 * A person the server refuses for good (400, an unresolved conflict) does not keep the first sync
 * open: one bad record would otherwise leave the target unjudged by the create check for as long as
 * it stays bad. `report` absent: the apply's outcome is not known here (handed to the workers,
 * interrupted); only the plan can say.
 */
export async function completeFirstSyncs(store: FirstSyncStore, audit: AuditSink, plan: Plan, report?: RunReport): Promise<void> {
  const unfinished = await store.all();
  for (const t of plan.targets) {
    const entry = unfinished.get(t.target);
    if (!entry || t.error) continue;
    const done = report?.targets.find((r) => r.target === t.target);
    const why = givesNoAccess(t) ? 'this cycle plans no account there to create, re-activate or take over' : done && finished(done) ? 'every account it was to give went out' : undefined;
    if (!why || !(await store.complete(t.target))) continue;
    // Begun and completed by this cycle: its creates say all there is.
    if (entry.planId === plan.id) continue;
    audit.record({ time: new Date().toISOString(), planId: plan.id, target: t.target, action: 'first-sync.complete', outcome: 'info', note: `first sync begun ${entry.since} (${entry.planId}) complete: ${why}; the safety check limits its creates again` });
  }
}

/** Failures that say the run was cut short (the server or the network away, the run or its state stopped), not that one account was refused. */
const CUT_SHORT: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['TRANSIENT', 'RATE_LIMITED', 'AUTH', 'STATE', 'INTERRUPTED', 'STOPPED', 'LOCKED']);
/** The operations that give an account (create; re-activate and take over are updates). */
const GIVING: readonly OperationKind[] = ['createUser', 'updateUser'];

function finished(target: TargetReport): boolean {
  if (target.stopped || target.unreadable || target.quarantined) return false;
  if (GIVING.some((kind) => (target.counts[kind]?.skipped ?? 0) > 0)) return false;
  return !target.failures.some((f) => GIVING.includes(f.kind) && CUT_SHORT.has(f.code as ErrorCode));
}

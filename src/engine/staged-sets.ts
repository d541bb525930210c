/**
 * What the engine decides about staged change sets and rejections; where they are kept is
 * state/staged-store.ts and state/rejection-store.ts (the state directory, or Redis in distributed
 * mode). A rejection keeps a person's deprovision out of later plans while their source record is
 * unchanged (planning/rejections.ts).
 */
import type { AuditSink } from '../audit/audit-sink.js';
import type { DirectorySnapshot } from '../model/canonical.js';
import type { Plan } from '../model/plan.js';
import { personDigest } from '../planning/preconditions.js';
import type { Rejection } from '../planning/rejections.js';
import type { RejectionMap, RejectionRef, RejectionStore } from '../state/rejection-store.js';

/**
 * What a set would apply, as a comparable value: each operation by target, kind, person and the
 * digests it was planned on. Two stops of an unchanged outage stage the same thing.
 */
export function stagedContent(plan: Plan): string {
  return plan.targets
    .flatMap((t) => t.phases.flatMap((p) => p.operations).map((op) => [t.target, op.kind, op.externalId, op.pre?.source ?? '', op.pre?.account ?? ''].join('\n')))
    .sort()
    .join('\n\n');
}

/** One target's rejections, as the planner takes them. */
export function rejectionsOf(all: RejectionMap, target: string): Map<string, Rejection> {
  return new Map(Object.entries(all[target] ?? {}).map(([key, r]) => [key, { digest: r.digest, stagedId: r.stagedId }]));
}

/**
 * Forgets the rejections the source has overtaken (the person's record changed since): they no
 * longer apply, and a record that later changed back must not revive one. Returns how many went.
 */
export async function forgetChangedRejections(store: RejectionStore, snapshot: DirectorySnapshot, audit: AuditSink, planId: string): Promise<number> {
  const users = new Map(snapshot.users.map((u) => [u.key, u]));
  const changed: RejectionRef[] = [];
  for (const [target, entries] of Object.entries(await store.all())) {
    for (const [key, entry] of Object.entries(entries)) {
      const user = users.get(key);
      // Missing from this read (an outage, a truncated export) is not a changed record: kept.
      if (user && entry.digest !== personDigest(user)) changed.push({ target, key, entry });
    }
  }
  if (changed.length === 0) return 0;
  await store.forget(changed);
  for (const { target, key, entry } of changed) {
    audit.record({
      time: new Date().toISOString(),
      planId,
      target,
      action: 'person.release',
      externalId: key,
      outcome: 'info',
      note: `rejected deprovision lifted: the source record changed since ${entry.at} (rejected by ${entry.by} in ${entry.stagedId})`,
    });
  }
  return changed.length;
}

/**
 * What the engine decides about staged change sets and rejections; where they are kept is
 * state/staged-store.ts and state/rejection-store.ts (the state directory, or Redis in distributed
 * mode). A rejection keeps a person's deprovision out of later plans while their source record is
 * unchanged (planning/rejections.ts). A set taken for a decision whose taker died is put back on the
 * list (recoverStaged).
 */
import type { AuditSink } from '../audit/audit-sink.js';
import type { DirectorySnapshot } from '../model/canonical.js';
import { joined } from '../model/joined-lists.js';
import { operationsOf, type Plan } from '../model/plan.js';
import { personDigest } from '../planning/preconditions.js';
import type { Rejection } from '../planning/rejections.js';
import { whyGone } from '../state/holder.js';
import type { RejectionMap, RejectionRef, RejectionStore } from '../state/rejection-store.js';
import { describeTaker, type StagedSet, type StagedStore, type TakenSet } from '../state/staged-store.js';
import type { RunState } from './run-state.js';

/**
 * What a set would apply, as a comparable value: each operation by target, kind, person and the
 * digests it was planned on. Two stops of an unchanged outage stage the same thing.
 */
export function stagedContent(plan: Plan): string {
  return joined(plan.targets.map((t) => operationsOf(t).map((op) => [t.target, op.kind, op.externalId, op.pre?.source ?? '', op.pre?.account ?? ''].join('\n'))))
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

/**
 * Puts back on the list each staged set taken for a decision (approve, reject) whose taker is gone
 * (state/holder.ts: its process ended on this host, or no heartbeat for STALE_AFTER_MS from
 * another), each recorded as `staged.recovered`: not applied, listed again for a person to decide.
 * Its decision may have been partly carried out: an approve's deprovisions already applied read as
 * already in place when it is approved again. Returns the sets still taken, by live takers.
 *
 * Run where sets are listed or decided (`staged`, approve, reject, the console) and where a cycle
 * consults them (planCycle, stageStop), so an abandoned set neither hides from the operator nor is
 * staged a second time.
 */
export async function recoverStaged(state: { staged: StagedStore; rejections: Pick<RejectionStore, 'all'>; audit: Pick<AuditSink, 'record'> }): Promise<TakenSet[]> {
  const live: TakenSet[] = [];
  let rejected: Set<string> | undefined;
  for (const taken of await state.staged.taken()) {
    if (!taken.state.gone) {
      live.push(taken);
      continue;
    }
    // Decided, put back or recovered by another process since it was read: nothing to record here.
    if (!(await state.staged.recover(taken))) continue;
    // A reject that died after its rejections were written (in one write) had decided: its set is
    // dropped, as the reject would have, not listed again for an approve of what it refused.
    rejected ??= stagedIdsRejected(await state.rejections.all());
    const who = `${describeTaker(taken)}, which is gone (${whyGone(taken.state, taken.heartbeatAgeMs)})`;
    const finished = rejected.has(taken.set.id) && (await finishReject(state.staged, taken.set.id));
    state.audit.record({
      time: new Date().toISOString(),
      planId: taken.set.plan.id,
      target: '*',
      action: 'staged.recovered',
      outcome: 'info',
      note: finished
        ? `staged set ${taken.set.id} was being rejected by ${who} after recording the rejections: the reject is finished, the set dropped`
        : `staged set ${taken.set.id} is back on the list: it was taken for a decision (approve or reject) by ${who}. ` +
          'That decision may have been partly carried out: what it applied reads as already in place when the set is approved',
    });
  }
  return live;
}

function stagedIdsRejected(all: RejectionMap): Set<string> {
  const ids = new Set<string>();
  for (const entries of Object.values(all)) for (const entry of Object.values(entries)) ids.add(entry.stagedId);
  return ids;
}

/** Drops a set a reject had decided; false when another process took it first (it decides then). */
async function finishReject(staged: StagedStore, id: string): Promise<boolean> {
  let claim;
  try {
    claim = await staged.take(id);
  } catch {
    return false;
  }
  await claim.done();
  return true;
}

/** The set, once the sets whose taker is gone are back on the list: what approve and reject start from. */
export async function findStaged(state: Pick<RunState, 'staged' | 'rejections' | 'audit'>, id: string): Promise<{ set: StagedSet; where: string }> {
  await recoverStaged(state);
  return state.staged.get(id);
}

/**
 * What a safety stop stages for review: every deactivation or deletion of a person the stopped plan
 * held, in every target, as a plan of its own (the deprovision phase only, with the stopped plan's
 * binding and each operation's precondition), so `approve` checks and applies it like a saved
 * plan. The whole plan's person deprovisions, not only those of the targets over a threshold: a
 * stop such as "the source returned too few users" is about every target at once, and the reviewer
 * decides on the stop, not on a percentage. Creates, updates and group deletions are not staged:
 * the next run plans them afresh. Pure.
 */
import { operationsOf, type DeprovisionUserOp, type Plan, type TargetPlan } from '../model/plan.js';

/** The stopped plan's person deprovisions as a plan; null when it holds none. */
export function stagedDeprovisions(plan: Plan): Plan | null {
  const targets: TargetPlan[] = [];
  for (const t of plan.targets) {
    const ops = operationsOf(t).filter((op): op is DeprovisionUserOp => op.kind === 'deprovisionUser');
    if (ops.length === 0) continue;
    targets.push({ target: t.target, managedUsers: t.managedUsers, actualUsers: t.actualUsers, phases: [{ name: 'deprovision', operations: ops }], warnings: [] });
  }
  if (targets.length === 0) return null;
  const binding = { ...plan.binding, targets: Object.fromEntries(targets.map((t) => [t.target, plan.binding.targets[t.target]!])) };
  return { ...plan, binding, targets };
}

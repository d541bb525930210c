/**
 * A worker writes with a client built from its own config (plans carry no credential), so a worker
 * whose config points a target at another server, or as another identity, than the planner's did
 * would apply the plan to the wrong place: updates re-create accounts there, deprovisions meet 404
 * and drop good links. The cycle carries the planner's fingerprint of each target (PlanMeta.binding);
 * a worker compares it with its own before its first write for the cycle.
 */
import { describeFingerprint, sameTarget, targetFingerprint } from '../../config/target-fingerprint.js';
import type { TargetConfig } from '../../config/schema/index.js';
import type { TargetFingerprint } from '../../model/plan.js';

/** Why this worker must not write for the cycle on `target`; undefined when its config agrees with the planner's. */
export function bindingMismatch(target: string, planned: TargetFingerprint | undefined, own: TargetConfig, file: string): string | undefined {
  const mine = targetFingerprint(own);
  if (!planned) {
    return `stopped before writing: the cycle does not say where target ${target} was planned for (enqueued by an earlier version); this worker (${file}) writes nothing for it`;
  }
  // Where the token is read from counts too: one SCIM URL serves every tenant at some vendors (Slack,
  // Zoom), and only the token tells them apart; a worker reading another variable may hold another
  // tenant's. The planner and its workers must read it the same way.
  if (sameTarget(planned, mine)) return undefined;
  return (
    `stopped before writing: target ${target}: this worker's config differs from the planner's (URL/auth): ` +
    `the cycle was planned for ${describeFingerprint(planned)}; ${file} points it at ${describeFingerprint(mine)}. ` +
    'Give every worker the same target settings as the planner, the token read from the same ${env:} or ${file:} reference'
  );
}

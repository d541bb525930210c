/**
 * A worker writes with a client built from its own config (plans carry no credential), so a worker
 * whose config points a target at another server, or as another identity or with another secret,
 * than the planner's did would apply the plan to the wrong place: updates re-create accounts there,
 * deprovisions meet 404 and drop good links, creates make the planner's people in another tenant.
 * The cycle carries the fingerprint of each target as the process that applied the plan had it
 * (PlanMeta.binding); a worker compares it with its own before its first write for the cycle.
 */
import { credentialName, describeFingerprint, targetDifference, targetFingerprint } from '../../config/target-fingerprint.js';
import type { TargetConfig } from '../../config/schema/index.js';
import type { TargetFingerprint } from '../../model/plan.js';

/** Why this worker must not write for the cycle `planId` on `target`; undefined when its config agrees with the planner's. */
export function bindingMismatch(planId: string, target: string, planned: TargetFingerprint | undefined, own: TargetConfig, file: string): string | undefined {
  const mine = targetFingerprint(own, planId);
  if (!planned || (planned.credential === undefined && mine.credential !== undefined)) {
    return `stopped before writing: the cycle does not say where target ${target} was planned for, or with which credential (enqueued by an earlier version); this worker (${file}) writes nothing for it`;
  }
  // Where the token is read from counts too: one SCIM URL serves every tenant at some vendors (Slack,
  // Zoom), and only the token tells them apart; a worker reading another variable may hold another
  // tenant's. The planner and its workers must read it the same way, and read the same value: two
  // installations (prod, staging) with the same org.yaml differ in nothing else.
  const differs = targetDifference(planned, mine);
  if (differs === undefined) return undefined;
  if (differs === 'credential') {
    return (
      `stopped before writing: target ${target}: the workers' credential differs from the planner's: ${file} on this worker gives another ` +
      `${credentialName(mine.authType)} for ${describeFingerprint(mine)} than the planner's config did (another installation's, or one rotated ` +
      'and not yet given to every worker). Give every worker the planner\'s credential; two installations on one Redis need two queue.prefix'
    );
  }
  return (
    `stopped before writing: target ${target}: this worker's config differs from the planner's (URL/auth): ` +
    `the cycle was planned for ${describeFingerprint(planned)}; ${file} points it at ${describeFingerprint(mine)}. ` +
    'Give every worker the same target settings as the planner, the token read from the same ${env:} or ${file:} reference'
  );
}

/**
 * The safety check: reasons to refuse a plan before any write. Evaluated on the plan alone, so a
 * saved plan is checked again when applied. Pure.
 */
import type { SafetyConfig } from '../config/schema.js';
import { operationsOf, type Plan } from '../model/plan.js';

export function safetyViolations(plan: Plan, safety: SafetyConfig): string[] {
  const reasons: string[] = [];
  const { source } = plan;
  if (source.users < safety.minSourceUsers) {
    reasons.push(
      `the source returned ${source.users} user${source.users === 1 ? '' : 's'} (minimum ${safety.minSourceUsers}): ` +
        'treated as a source outage, not as everyone leaving',
    );
  }
  if (source.recordsRead > 0) {
    const share = (source.invalidRecords / source.recordsRead) * 100;
    if (share > safety.maxInvalidRecordsPercent) {
      reasons.push(
        `${source.invalidRecords} of ${source.recordsRead} source records are invalid (${share.toFixed(1)}%, limit ${safety.maxInvalidRecordsPercent}%)`,
      );
    }
  }
  for (const target of plan.targets) {
    const deletes = operationsOf(target).filter((op) => op.kind === 'deleteGroup').length;
    const managedGroups = target.managedGroups ?? 0;
    const groupShare = managedGroups === 0 ? 100 : (deletes / managedGroups) * 100;
    if (deletes > safety.alwaysAllowDeactivations && groupShare > safety.maxDeactivatePercent) {
      reasons.push(
        `target ${target.target}: ${deletes} of ${managedGroups} managed groups would be deleted ` +
          `(${groupShare.toFixed(1)}%, limit ${safety.maxDeactivatePercent}%)`,
      );
    }
    const count = operationsOf(target).filter((op) => op.kind === 'deprovisionUser').length;
    if (count === 0) continue;
    if (safety.maxDeactivateCount !== undefined && count > safety.maxDeactivateCount) {
      reasons.push(`target ${target.target}: ${count} deprovisions exceed maxDeactivateCount ${safety.maxDeactivateCount}`);
      continue;
    }
    const share = target.managedUsers === 0 ? 100 : (count / target.managedUsers) * 100;
    if (count > safety.alwaysAllowDeactivations && share > safety.maxDeactivatePercent) {
      reasons.push(
        `target ${target.target}: ${count} of ${target.managedUsers} managed users would be deprovisioned ` +
          `(${share.toFixed(1)}%, limit ${safety.maxDeactivatePercent}%)`,
      );
    }
  }
  return reasons;
}

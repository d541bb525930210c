/**
 * The safety rules about the source read itself (too few people, too many invalid records), apart
 * from those about a target's changes: when one fires, the source is in doubt, not the number of
 * deprovisions, so nothing is staged for approval, and an approve checks the source as it reads
 * now before it deactivates anyone. Pure.
 */
import type { SafetyConfig } from '../config/schema/index.js';
import type { DirectorySnapshot } from '../model/canonical.js';
import type { Plan } from '../model/plan.js';

/** What these rules read of a source read: the plan's `source`, or a fresh snapshot's (sourceCounts). */
export type SourceCounts = Pick<Plan['source'], 'users' | 'activeUsers' | 'recordsRead' | 'invalidRecords' | 'parts'>;

export function sourceCounts(snapshot: DirectorySnapshot): SourceCounts {
  return {
    users: snapshot.users.length,
    activeUsers: snapshot.users.filter((u) => u.active).length,
    recordsRead: snapshot.recordsRead,
    invalidRecords: snapshot.issues.length,
    ...(snapshot.parts ? { parts: snapshot.parts.map((p) => ({ ...p })) } : {}),
  };
}

export function sourceViolations(source: SourceCounts, safety: SafetyConfig): string[] {
  const reasons: string[] = [];
  if (source.users < safety.minSourceUsers) {
    reasons.push(
      `the source returned ${source.users} user${source.users === 1 ? '' : 's'} (minimum ${safety.minSourceUsers}): ` +
        'treated as a source outage, not as everyone leaving',
    );
  }
  const invalidShare = (part: { recordsRead: number; invalidRecords: number }, of: string): void => {
    if (part.recordsRead === 0) return;
    const share = (part.invalidRecords / part.recordsRead) * 100;
    if (share > safety.maxInvalidRecordsPercent) {
      reasons.push(`${part.invalidRecords} of ${part.recordsRead} ${of} records are invalid (${share.toFixed(1)}%, limit ${safety.maxInvalidRecordsPercent}%)`);
    }
  };
  invalidShare(source, 'source');
  for (const part of source.parts ?? []) invalidShare(part, `sources.${part.name}`);
  return reasons;
}

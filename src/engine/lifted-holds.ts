/**
 * A cycle forgets the emergency holds its source read lifted (the person's record changed since the
 * hold was set): a record that later changed back must not bring back a hold the source overrode.
 */
import type { AuditSink } from '../audit/audit-sink.js';
import type { DirectorySnapshot } from '../model/canonical.js';
import { holdsInEffect } from '../planning/emergency-holds.js';
import { readHolds, writeHolds } from '../state/holds.js';

export async function forgetLiftedHolds(stateDir: string, snapshot: DirectorySnapshot, audit: AuditSink, planId: string): Promise<void> {
  const holds = await readHolds(stateDir);
  if (holds.size === 0) return;
  const kept = holdsInEffect(holds, snapshot);
  if (kept.size === holds.size) return;
  await writeHolds(stateDir, kept);
  for (const [key, hold] of holds) {
    if (kept.has(key)) continue;
    audit.record({
      time: new Date().toISOString(),
      planId,
      target: '*',
      action: 'person.release',
      externalId: key,
      outcome: 'info',
      note: `emergency hold lifted: the source record changed since ${hold.time} (hold by ${hold.by}: ${hold.reason})`,
    });
  }
}

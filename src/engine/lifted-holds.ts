/**
 * A cycle forgets the emergency holds its source read lifted (the person's record changed since the
 * hold was set): a record that later changed back must not bring back a hold the source overrode.
 * Only a record read and changed lifts one: a person missing from the read (an outage, a truncated
 * export) lifts nothing, or the fired person would come back with the source.
 */
import type { AuditSink } from '../audit/audit-sink.js';
import type { DirectorySnapshot } from '../model/canonical.js';
import { holdsInEffect } from '../planning/emergency-holds.js';
import type { HoldStore } from '../state/holds.js';

export async function forgetLiftedHolds(store: HoldStore, snapshot: DirectorySnapshot, audit: AuditSink, planId: string): Promise<void> {
  const holds = await store.all();
  if (holds.size === 0) return;
  const kept = holdsInEffect(holds, snapshot);
  if (kept.size === holds.size) return;
  const read = new Set(snapshot.users.map((u) => u.key));
  const lifted = new Map([...holds].filter(([key]) => !kept.has(key) && read.has(key)));
  if (lifted.size === 0) return;
  await store.forget(lifted);
  for (const [key, hold] of lifted) {
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

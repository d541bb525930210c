/**
 * Which emergency holds still hold, from the source as read now. Pure. A hold lasts until the
 * person's source record differs from the one seen when the hold was set: a record that changed
 * after the hold (re-hired, re-activated, moved) is the source speaking again.
 */
import type { DirectorySnapshot } from '../model/canonical.js';
import { personDigest } from './preconditions.js';

/** What the planner needs of a hold: who asked, why and when, and the source digest it was set on. */
export interface EmergencyHold {
  time: string;
  reason: string;
  by: string;
  digest: string | null;
}

export function holdsInEffect(holds: ReadonlyMap<string, EmergencyHold>, snapshot: DirectorySnapshot): Map<string, EmergencyHold> {
  if (holds.size === 0) return new Map();
  const users = new Map(snapshot.users.map((u) => [u.key, u]));
  const out = new Map<string, EmergencyHold>();
  for (const [key, hold] of holds) if (personDigest(users.get(key)) === hold.digest) out.set(key, hold);
  return out;
}

/** How a plan says it: "held off by emergency deprovision (reason, by, when)". */
export function describeHold(key: string, hold: EmergencyHold): string {
  return `${key}: held off by emergency deprovision ("${hold.reason}", by ${hold.by}, ${hold.time}); lifted by a change of the source record or scim-sync release`;
}

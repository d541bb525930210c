/**
 * Deprovisions applied by change-driven syncs over the last `windowMs`, per target: they count with
 * each new batch against the safety thresholds (planning/safety.ts, RecentDeprovisions), so fifty
 * leavers arriving one webhook at a time are judged as one cycle deprovisioning fifty would be.
 */
import type { RecentDeprovisions } from '../planning/safety.js';

export class DeprovisionWindow {
  private entries: { target: string; count: number; at: number }[] = [];

  constructor(private readonly windowMs: number) {}

  add(target: string, count: number, at: Date): void {
    if (count > 0) this.entries.push({ target, count, at: at.getTime() });
  }

  recent(now: Date): RecentDeprovisions {
    const since = now.getTime() - this.windowMs;
    this.entries = this.entries.filter((e) => e.at > since);
    const byTarget = new Map<string, number>();
    for (const e of this.entries) byTarget.set(e.target, (byTarget.get(e.target) ?? 0) + e.count);
    return { byTarget, window: `the last ${Math.round(this.windowMs / 60_000)} minutes` };
  }
}

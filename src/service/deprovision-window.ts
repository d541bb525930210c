/**
 * Deprovisions applied by change-driven syncs over the last `windowMs`, per target: they count with
 * each new batch against the safety thresholds (planning/safety.ts, RecentDeprovisions), so fifty
 * leavers arriving one webhook at a time are judged as one cycle deprovisioning fifty would be.
 */
import type { RecentDeprovisions } from '../planning/safety.js';
import { searchLog } from '../audit/search-log.js';

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

/**
 * The window as the provisioning log remembers it: a service restarted (a deploy, a crash, a state
 * write that failed) would otherwise start with an empty window, and leavers arriving one event at
 * a time would pass the thresholds again from zero. Change-driven deprovisions are the records of
 * `deprovisionUser` that an event initiated and that took effect.
 */
export async function windowFromLog(file: string, windowMs: number, warn: (line: string) => void, now: Date = new Date()): Promise<DeprovisionWindow> {
  const window = new DeprovisionWindow(windowMs);
  const since = new Date(now.getTime() - windowMs);
  const { records, exhaustive, searchedBackTo } = await searchLog(
    file,
    (r) => r.action === 'deprovisionUser' && r.initiator === 'event' && (r.outcome === 'ok' || r.outcome === 'partial') && Date.parse(r.time) > since.getTime(),
    { limit: 100_000, since, maxBytes: 64 * 1024 * 1024 },
  );
  for (const r of records) window.add(r.target, 1, new Date(r.time));
  if (!exhaustive) warn(`the safety window was rebuilt from the provisioning log back to ${searchedBackTo ?? 'part of it'} only (the log is large): change-driven deprovisions before that are not counted`);
  return window;
}

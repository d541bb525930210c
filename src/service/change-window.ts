/**
 * What change-driven syncs applied over the last `windowMs`, per target: deprovisions, creates and
 * re-activations, and changes of each attribute path. They count with each new batch against the safety thresholds
 * (planning/safety.ts, RecentChanges), so fifty leavers arriving one webhook at a time, or a
 * mapping typo clearing a title eight people at a time, are judged as one cycle doing it all would be.
 */
import type { RecentChanges } from '../planning/safety.js';
import { searchLog } from '../audit/search-log.js';

const DEPROVISIONS = Symbol('deprovisions');
const CREATES = Symbol('creates and re-activations');
const RECREATES = Symbol('linked accounts created again');

interface Entry {
  target: string;
  /** The attribute path changed, or what else was done. */
  path: string | typeof DEPROVISIONS | typeof CREATES | typeof RECREATES;
  count: number;
  at: number;
}

export class ChangeWindow {
  private entries: Entry[] = [];

  constructor(private readonly windowMs: number) {}

  addDeprovisions(target: string, count: number, at: Date): void {
    if (count > 0) this.entries.push({ target, path: DEPROVISIONS, count, at: at.getTime() });
  }

  /** `count` users created or re-activated. */
  addCreates(target: string, count: number, at: Date): void {
    if (count > 0) this.entries.push({ target, path: CREATES, count, at: at.getTime() });
  }

  /** `count` linked accounts found gone and created again. */
  addRecreates(target: string, count: number, at: Date): void {
    if (count > 0) this.entries.push({ target, path: RECREATES, count, at: at.getTime() });
  }

  /** `count` users whose attribute `path` changed. */
  addAttributeChanges(target: string, path: string, count: number, at: Date): void {
    if (count > 0) this.entries.push({ target, path, count, at: at.getTime() });
  }

  recent(now: Date): RecentChanges {
    const since = now.getTime() - this.windowMs;
    this.entries = this.entries.filter((e) => e.at > since);
    const deprovisions = new Map<string, number>();
    const creates = new Map<string, number>();
    const recreates = new Map<string, number>();
    const totalsOf = { [DEPROVISIONS]: deprovisions, [CREATES]: creates, [RECREATES]: recreates };
    const attributes = new Map<string, Map<string, number>>();
    for (const e of this.entries) {
      if (typeof e.path !== 'string') {
        const totals = totalsOf[e.path];
        totals.set(e.target, (totals.get(e.target) ?? 0) + e.count);
        continue;
      }
      let paths = attributes.get(e.target);
      if (!paths) attributes.set(e.target, (paths = new Map()));
      paths.set(e.path, (paths.get(e.path) ?? 0) + e.count);
    }
    return { deprovisions, creates, recreates, attributes, window: `the last ${Math.round(this.windowMs / 60_000)} minutes` };
  }
}

/**
 * The window as the provisioning log remembers it: a service restarted (a deploy, a crash, a state
 * write that failed) would otherwise start with an empty window, and leavers arriving one event at
 * a time, or a slow drip of cleared attributes, would pass the thresholds again from zero.
 * Change-driven changes are the records of `deprovisionUser`, `createUser`, `updateUser` (each path it
 * `changed`, and a re-activation when `active` became true) and `setManager` (as `manager`) that an
 * event initiated and that took effect; those marked `recreated` (a linked account found gone and
 * made again) count as re-creates, not creates, as the live count has them. A
 * setManager record does not say whether the account existed before the batch (the live count
 * leaves out references set on accounts the batch created): the rebuilt window may count a few more.
 */
export async function windowFromLog(file: string, windowMs: number, warn: (line: string) => void, now: Date = new Date()): Promise<ChangeWindow> {
  const window = new ChangeWindow(windowMs);
  const since = new Date(now.getTime() - windowMs);
  const { records, exhaustive, searchedBackTo } = await searchLog(
    file,
    (r) =>
      (r.action === 'deprovisionUser' || r.action === 'createUser' || r.action === 'updateUser' || r.action === 'setManager') &&
      r.initiator === 'event' &&
      (r.outcome === 'ok' || r.outcome === 'partial') &&
      Date.parse(r.time) > since.getTime(),
    { limit: 100_000, since, maxBytes: 64 * 1024 * 1024 },
  );
  for (const r of records) {
    const at = new Date(r.time);
    if (r.recreated) window.addRecreates(r.target, 1, at);
    if (r.action === 'deprovisionUser') window.addDeprovisions(r.target, 1, at);
    else if (r.action === 'createUser') {
      if (!r.recreated) window.addCreates(r.target, 1, at);
    }
    else if (r.action === 'setManager') window.addAttributeChanges(r.target, 'manager', 1, at);
    else {
      for (const path of new Set(r.changed ?? [])) window.addAttributeChanges(r.target, path, 1, at);
      if (r.modifiedProperties?.some((c) => c.path === 'active' && c.to === true)) window.addCreates(r.target, 1, at);
    }
  }
  if (!exhaustive) warn(`the safety window was rebuilt from the provisioning log back to ${searchedBackTo ?? 'part of it'} only (the log is large): change-driven changes before that are not counted`);
  return window;
}

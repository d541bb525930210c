/**
 * Where a sync stands, from its events: the source read, each target's listing, apply (done of
 * total, rate, ETA) and any wait the server asked for. Pure: the views (progress-view.ts) draw it on
 * a terminal or write it as a line every few seconds.
 */
import type { RequestEvent } from '../targets/http/request-events.js';
import type { SyncEvent } from '../telemetry/sync-events.js';
import { formatDuration } from './duration.js';

/** Off a terminal, a progress line this often, ms (`--progress-every`). */
export const DEFAULT_PROGRESS_EVERY_MS = 5_000;

export interface TargetProgress {
  target: string;
  /** `queued`: on the workers' queue (distributed mode), the command waiting for them. */
  stage: 'listing' | 'planned' | 'applying' | 'queued' | 'done';
  listing?: { resource: string; listed: number; pages: number };
  total: number;
  done: number;
  failed: number;
  /** When the first operation began, ms. */
  applyStartedAt?: number;
  /** Until when the server asked us to wait (Retry-After), ms. */
  waitingUntil?: number;
  /** Queued: since when Redis has not answered, ms. */
  unreachableSince?: number;
}

export class ProgressState {
  source: { state: 'idle' | 'reading' | 'done'; records?: number; people: number; groups: number; startedAt: number } = { state: 'idle', people: 0, groups: 0, startedAt: 0 };
  readonly targets = new Map<string, TargetProgress>();

  constructor(private readonly now: () => number = Date.now) {}

  private target(name: string): TargetProgress {
    let t = this.targets.get(name);
    if (!t) {
      t = { target: name, stage: 'listing', total: 0, done: 0, failed: 0 };
      this.targets.set(name, t);
    }
    return t;
  }

  event(e: SyncEvent): void {
    switch (e.type) {
      case 'source':
        if (e.state === 'reading') {
          this.source = this.source.state === 'reading' ? { ...this.source, ...(e.records !== undefined ? { records: e.records } : {}) } : { state: 'reading', people: 0, groups: 0, startedAt: this.now() };
        } else this.source = { ...this.source, state: 'done', people: e.people, groups: e.groups };
        return;
      case 'listing': {
        const t = this.target(e.target);
        t.stage = e.done && e.resource === 'Groups' ? 'planned' : 'listing';
        t.listing = { resource: e.resource, listed: e.listed, pages: e.pages };
        return;
      }
      case 'apply': {
        const t = this.target(e.target);
        Object.assign(t, { stage: 'applying', total: e.total, done: 0, failed: 0, applyStartedAt: this.now() });
        return;
      }
      case 'operation': {
        const t = this.target(e.target);
        t.done++;
        if (e.outcome === 'failed') t.failed++;
        return;
      }
      case 'retry':
        if (e.reason === 'rate-limited') this.wait(e.target, e.delayMs);
        return;
      case 'queued': {
        const t = this.target(e.target);
        if (t.stage !== 'queued') t.applyStartedAt = this.now();
        t.stage = 'queued';
        t.total = e.total;
        t.done = e.done;
        if (e.unreachableSince === undefined) delete t.unreachableSince;
        else t.unreachableSince = e.unreachableSince;
        return;
      }
      case 'applied':
        this.target(e.target).stage = 'done';
        return;
      default:
        return;
    }
  }

  /** A request's end: a 429 (or 503) naming a Retry-After puts the target in a visible wait. */
  request(e: RequestEvent): void {
    if (e.retryAfterMs !== undefined && this.targets.has(e.target)) this.wait(e.target, e.retryAfterMs);
  }

  private wait(target: string, ms: number): void {
    const t = this.target(target);
    t.waitingUntil = Math.max(t.waitingUntil ?? 0, this.now() + ms);
  }

  /** Operations a second since the apply began, and the time left at that rate (ms), when known. */
  pace(t: TargetProgress): { rate: number; etaMs?: number } {
    const elapsed = t.applyStartedAt === undefined ? 0 : (this.now() - t.applyStartedAt) / 1000;
    const rate = elapsed > 0 ? t.done / elapsed : 0;
    return rate > 0 ? { rate, etaMs: ((t.total - t.done) / rate) * 1000 } : { rate };
  }

  /** Seconds left of the wait the server asked for, or 0. */
  waitLeft(t: TargetProgress): number {
    return t.waitingUntil === undefined ? 0 : Math.max(0, Math.ceil((t.waitingUntil - this.now()) / 1000));
  }

  sourceLine(): string | undefined {
    const s = this.source;
    if (s.state === 'idle') return undefined;
    if (s.state === 'reading') return `source: reading${s.records ? `, ${s.records} records` : ''} (${Math.round((this.now() - s.startedAt) / 1000)} s)`;
    return `source: read ${s.people} ${s.people === 1 ? 'person' : 'people'}${s.groups ? `, ${s.groups} group${s.groups === 1 ? '' : 's'}` : ''}`;
  }

  /** What a target is doing, in words: "app: applying 1200/20000 (6%), 58/s, ETA 5m 22s". */
  targetLine(t: TargetProgress): string {
    const wait = this.waitLeft(t);
    const waiting = wait > 0 ? `; waiting ${wait} s for the server's Retry-After` : '';
    switch (t.stage) {
      case 'listing':
        return `${t.target}: listing ${t.listing ? `${t.listing.resource}: ${t.listing.listed} (${t.listing.pages} page${t.listing.pages === 1 ? '' : 's'})` : ''}${waiting}`;
      case 'planned':
        return `${t.target}: listed ${t.listing?.listed ?? 0} ${t.listing?.resource ?? ''}, planning`;
      case 'applying': {
        const { rate, etaMs } = this.pace(t);
        const percent = t.total ? Math.floor((t.done / t.total) * 100) : 100;
        const eta = etaMs !== undefined && t.done < t.total ? `, ETA ${formatDuration(etaMs)}` : '';
        const failed = t.failed ? `, ${t.failed} failed` : '';
        return `${t.target}: applying ${t.done}/${t.total} (${percent}%), ${rate.toFixed(rate < 10 ? 1 : 0)}/s${eta}${failed}${waiting}`;
      }
      case 'queued': {
        const percent = t.total ? Math.floor((t.done / t.total) * 100) : 100;
        const redis = t.unreachableSince === undefined ? '' : `; Redis not answering for ${Math.round((this.now() - t.unreachableSince) / 1000)} s`;
        return `${t.target}: waiting for the workers, ${t.done}/${t.total} done (${percent}%), ${formatDuration(this.now() - (t.applyStartedAt ?? this.now()))} so far${redis}`;
      }
      case 'done':
        return `${t.target}: applied ${t.done}/${t.total}${t.failed ? `, ${t.failed} failed` : ''}`;
    }
  }

  /** Every line of what is going on now, for the plain view; empty once everything is done. */
  lines(): { line: string; target?: string }[] {
    const out: { line: string; target?: string }[] = [];
    if (this.source.state === 'reading') out.push({ line: this.sourceLine()! });
    for (const t of this.targets.values()) if (t.stage !== 'done') out.push({ line: this.targetLine(t), target: t.target });
    return out;
  }
}

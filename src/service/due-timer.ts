/**
 * Future-dated changes (a termination effective next Friday at 18:00): stored by the events module
 * (state/due-changes.ts), synced on the fast lane at their instant, and marked done only once
 * applied, so a restart in between syncs them again rather than losing them. The timer sleeps until
 * the earliest one, and is woken when a new one is stored.
 */
import { describeError } from '../errors.js';
import type { DueChange, DueChanges } from '../state/due-changes.js';
import { GIVE_UP_AFTER_MS, RetryWait } from './retry-wait.js';
import { notApplied, type FastLane } from './fast-lane.js';

/** setTimeout cannot wait longer (2^31 - 1 ms, about 24.8 days): a longer wait is taken in steps. */
const MAX_WAIT = 2 ** 31 - 1;
/**
 * After a pass that left changes to try again (the source unreadable, a target down or in
 * quarantine), they are tried again this much later, ms, the wait doubling up to MAX_RETRY_MS: a
 * kept request over serve.maxBatch is a full cycle each time, and an outage or a quarantine lasts
 * hours.
 */
const RETRY_MS = 60_000;
const MAX_RETRY_MS = 15 * 60_000;
const changeId = (c: DueChange): string => `${c.endpoint}\n${c.eventId}\n${c.key}`;
/** The event id of an accepted event kept to try again (inbound-events.ts), told apart from a dated one. */
export const RETRY_SUFFIX = '#retry';

export class DueTimer {
  private timer: NodeJS.Timeout | undefined;
  private readonly retryWait = new RetryWait(RETRY_MS, MAX_RETRY_MS);
  /** Changes this process tried and kept (not yet applied): with the accepted events kept (#retry), they wait for retryWait. */
  private readonly tried = new Set<string>();
  private readonly kept = (c: DueChange): boolean => c.eventId.endsWith(RETRY_SUFFIX) || this.tried.has(changeId(c));
  private running: Promise<void> | null = null;
  private again = false;
  /** Why the last pass could not read or finish the due changes (for /readyz); undefined once one does. */
  problem: string | undefined;

  constructor(
    private readonly due: DueChanges,
    private readonly fast: FastLane,
    private readonly log: (line: string) => void,
    private readonly signal: AbortSignal,
  ) {
    signal.addEventListener('abort', () => clearTimeout(this.timer), { once: true });
  }

  /** Look at the store now: process what is due, then sleep until the next one. */
  wake(): void {
    if (this.signal.aborted) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.pass().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async pass(): Promise<void> {
    let retry = false;
    // Changes kept to try again wait for their wait, whatever wakes the timer: each new event's pass
    // syncing every kept one again would cost, over a long quarantine, as many syncs as events.
    const retriesDue = !this.retryWait.waiting();
    try {
      const now = new Date();
      const due = await this.due.due(now);
      // Tried again for hours: a server that keeps refusing this person with a 5xx; the full cycles,
      // their report and the provisioning log carry it from here, not a request every few minutes. So
      // for a future-dated change tried at its instant and kept since (this process tried it).
      const expired = due.filter((c) => this.kept(c) && now.getTime() - c.effectiveAt.getTime() > GIVE_UP_AFTER_MS);
      if (expired.length > 0) {
        await this.due.done(expired);
        for (const c of expired) this.tried.delete(changeId(c));
        this.log(`due: ${expired.length} change${expired.length === 1 ? '' : 's'} tried again for ${GIVE_UP_AFTER_MS / 3_600_000} hours without applying, left to the full cycles: ${[...new Set(expired.map((c) => c.key))].join(', ')}`);
      }
      const gone = new Set(expired);
      const ready = due.filter((c) => !gone.has(c) && (retriesDue || !this.kept(c)));
      if (ready.length > 0) {
        const keys = [...new Set(ready.map((c) => c.key))];
        this.log(`due: ${keys.length} future-dated change${keys.length === 1 ? '' : 's'} now effective (${[...new Set(ready.map((c) => c.endpoint))].join(', ')})`);
        const outcome = await this.fast.sync({ keys, initiator: 'event', by: `due ${[...new Set(ready.map((c) => c.eventId))].join(', ')}` });
        const left = notApplied(outcome);
        // Done but for the people worth trying again: one failing person does not hold back the rest.
        const keep = new Set(left === undefined ? [] : left.keys === 'all' ? ready : ready.filter((c) => (left.keys as ReadonlySet<string>).has(c.key)));
        const applied = ready.filter((c) => !keep.has(c));
        const retried = ready.some(this.kept);
        await this.due.done(applied);
        for (const c of applied) this.tried.delete(changeId(c));
        for (const c of keep) this.tried.add(changeId(c));
        retry = keep.size > 0;
        if (!retry && retried) this.retryWait.reached();
      }
      this.problem = undefined;
    } catch (error) {
      this.problem = describeError(error);
      this.log(`due: ${this.problem}`);
      retry = true;
    }
    if (this.signal.aborted) return;
    // A change failing while the kept ones wait joins them: their wait is not put off (nor doubled) by it.
    const next = retry ? Date.now() + (retriesDue ? this.retryWait.missed() : this.retryWait.remainingMs()) : await this.nextWake().catch(() => Date.now() + RETRY_MS);
    if (next !== undefined) this.timer = setTimeout(() => this.wake(), Math.min(Math.max(next - Date.now(), 0), MAX_WAIT));
  }

  /** The earliest of the next future-dated change and, when changes are kept to try again, their wait's end. */
  private async nextWake(): Promise<number | undefined> {
    const dated = (await this.due.next((c) => !this.kept(c)))?.getTime();
    // A kept change is due at its own instant (a sender may have moved it later), not before its wait is over.
    const keptAt = (await this.due.next(this.kept))?.getTime();
    const kept = keptAt === undefined ? undefined : Math.max(keptAt, Date.now() + this.retryWait.remainingMs());
    return dated === undefined ? kept : kept === undefined ? dated : Math.min(dated, kept);
  }
}

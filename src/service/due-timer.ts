/**
 * Future-dated changes (a termination effective next Friday at 18:00): stored by the events module
 * (state/due-changes.ts), synced on the fast lane at their instant, and marked done only once
 * applied, so a restart in between syncs them again rather than losing them. The timer sleeps until
 * the earliest one, and is woken when a new one is stored.
 */
import { describeError } from '../errors.js';
import type { DueChanges } from '../state/due-changes.js';
import { notApplied, type FastLane } from './fast-lane.js';

/** setTimeout cannot wait longer (2^31 - 1 ms, about 24.8 days): a longer wait is taken in steps. */
const MAX_WAIT = 2 ** 31 - 1;
/** After a failed pass (the source unreadable), try again this much later, ms. */
const RETRY_MS = 60_000;
/** The event id of an accepted event kept to try again (inbound-events.ts), told apart from a dated one. */
export const RETRY_SUFFIX = '#retry';
/** An event tried again this long without applying is left to the full cycles (and said so), ms. */
const RETRY_FOR_MS = 6 * 3_600_000;

export class DueTimer {
  private timer: NodeJS.Timeout | undefined;
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
    try {
      const now = new Date();
      const due = await this.due.due(now);
      // Tried again for hours: a server that keeps refusing this person with a 5xx; the full cycles,
      // their report and the provisioning log carry it from here, not a request every minute.
      const expired = due.filter((c) => c.eventId.endsWith(RETRY_SUFFIX) && now.getTime() - c.effectiveAt.getTime() > RETRY_FOR_MS);
      if (expired.length > 0) {
        await this.due.done(expired);
        this.log(`due: ${expired.length} event${expired.length === 1 ? '' : 's'} tried again for ${RETRY_FOR_MS / 3_600_000} hours without applying, left to the full cycles: ${[...new Set(expired.map((c) => c.key))].join(', ')}`);
      }
      const gone = new Set(expired);
      const ready = due.filter((c) => !gone.has(c));
      if (ready.length > 0) {
        const keys = [...new Set(ready.map((c) => c.key))];
        this.log(`due: ${keys.length} future-dated change${keys.length === 1 ? '' : 's'} now effective (${[...new Set(ready.map((c) => c.endpoint))].join(', ')})`);
        const outcome = await this.fast.sync({ keys, initiator: 'event', by: `due ${[...new Set(ready.map((c) => c.eventId))].join(', ')}` });
        const left = notApplied(outcome);
        // Done but for the people worth trying again: one failing person does not hold back the rest.
        const keep = new Set(left === undefined ? [] : left.keys === 'all' ? ready : ready.filter((c) => (left.keys as ReadonlySet<string>).has(c.key)));
        await this.due.done(ready.filter((c) => !keep.has(c)));
        retry = keep.size > 0;
      }
      this.problem = undefined;
    } catch (error) {
      this.problem = describeError(error);
      this.log(`due: ${this.problem}`);
      retry = true;
    }
    if (this.signal.aborted) return;
    const next = retry ? new Date(Date.now() + RETRY_MS) : await this.due.next().catch(() => new Date(Date.now() + RETRY_MS));
    if (next) this.timer = setTimeout(() => this.wake(), Math.min(Math.max(next.getTime() - Date.now(), 0), MAX_WAIT));
  }
}

/**
 * What a feed's loop remembers of the people its feed handed out since the feed's position: whom it
 * synced, with the feed's mark for them then (ChangeBatch.marks), and whether that sync was applied
 * to every target. While the position stays (a target in quarantine for hours), each poll hands out
 * everyone changed since it; syncing them all at each poll that named someone new made the work grow
 * with the square of the changes. With this, a poll syncs at once only who is new or changed again,
 * the people not applied yet after a wait that doubles (one RetryWait for them all), and no one who
 * was applied and has not changed since.
 *
 * Memory: one entry per person handed out since the position (and at most that); all are let go when
 * the position is committed.
 *
 * Changed again: a person applied with mark m is synced again when the batch's mark for them is not
 * m, or when the batch no longer names them (changed back, say: the target has what we wrote). A
 * feed that gives no mark for someone cannot tell: that person, once applied, is synced once more
 * before the position is committed, in the round that commits it (then the read is at least as new
 * as every change the committed batch covers), and not at each poll.
 */
import type { ChangeBatch } from '../sources/change-feed.js';
import { GIVE_UP_AFTER_MS, RetryWait } from './retry-wait.js';

/** The mark of a person the batch does not name. */
const NOT_NAMED = '\u0000not named';

interface Tracked {
  /** The batch's mark when last synced; undefined when the feed gave none. */
  mark: string | undefined;
  applied: boolean;
  /** The poll (round) of that sync. */
  round: number;
  /** Not applied since this time (ms), through every sync since. */
  missedSince?: number;
  /** Let go after GIVE_UP_AFTER_MS not applied (giveUp): settled for the position, left to the full cycles. */
  givenUp?: true;
}

export interface PollView {
  readonly round: number;
  /** Everyone to consider: the batch's people and those tracked, each with the batch's mark (undefined: none). */
  readonly marks: ReadonlyMap<string, string | undefined>;
}

export class FeedPeople {
  private readonly people = new Map<string, Tracked>();
  private round = 0;
  /** When the people synced and not applied are synced again. */
  readonly retry: RetryWait;
  /** The last miss left everyone of its sync out (a target unreached or in quarantine), not only some people. */
  private wholesale = false;

  constructor(intervalMs: number) {
    this.retry = new RetryWait(intervalMs);
  }

  view(batch: ChangeBatch): PollView {
    const marks = new Map<string, string | undefined>();
    for (const key of batch.keys) marks.set(key, batch.marks?.get(key));
    for (const key of this.people.keys()) if (!marks.has(key)) marks.set(key, NOT_NAMED);
    return { round: ++this.round, marks };
  }

  /**
   * Changed since their last sync as far as the feed tells: never synced, a mark that differs, or a
   * mark that is gone (synced with one, named now without: the LDAP accesslog names a deletion, a
   * move out of the base or a group removal so).
   */
  private changed(key: string, mark: string | undefined): boolean {
    const known = this.people.get(key);
    if (known === undefined) return true;
    return mark === undefined ? known.mark !== undefined : mark !== known.mark;
  }

  /**
   * Whom to sync now: the new and the changed again at once; when the retry wait is due, those synced
   * and not applied, and those the feed gives no mark to tell by (they may have changed again since:
   * while someone keeps the position, they are synced again at the retry's pace, not held until
   * everyone settles). `retrying` says whether any of those are in.
   */
  due(view: PollView): { keys: string[]; retrying: boolean } {
    const keys: string[] = [];
    let retrying = false;
    const retryDue = !this.retry.waiting();
    for (const [key, mark] of view.marks) {
      if (this.changed(key, mark)) keys.push(key);
      else if (this.people.get(key)!.givenUp) continue;
      else if ((!this.people.get(key)!.applied || mark === undefined) && retryDue) {
        keys.push(key);
        retrying = true;
      }
    }
    return { keys, retrying };
  }

  /**
   * Applied everywhere, and nothing since as far as the feed tells, but the feed gave no mark to tell
   * by: synced once more before a commit. Asked only once everyone else is settled.
   */
  unconfirmed(view: PollView): string[] {
    if (!this.settled(view, true)) return [];
    return [...view.marks].filter(([key, mark]) => !this.confirmed(key, mark, view.round)).map(([key]) => key);
  }

  /** What a sync of `keys` came to: `left` those not applied ('all' for everyone). */
  synced(view: PollView, keys: readonly string[], left: ReadonlySet<string> | 'all' | undefined, now = Date.now()): void {
    for (const key of keys) {
      const applied = left === undefined || (left !== 'all' && !left.has(key));
      const before = this.people.get(key);
      // A change after being given up starts a new count.
      const missedSince = applied ? undefined : before && !before.givenUp ? (before.missedSince ?? now) : now;
      this.people.set(key, { mark: view.marks.get(key), applied, round: view.round, ...(missedSince !== undefined ? { missedSince } : {}) });
    }
    if (left !== undefined) this.wholesale = left === 'all';
  }

  /**
   * Those tried again for GIVE_UP_AFTER_MS without applying, let go: counted as settled, so the
   * position can move (held, the feed re-read everything since it at every poll, for ever); the full
   * cycles sync them from here. A change named again after this is synced as any.
   */
  giveUp(now = Date.now()): string[] {
    const given: string[] = [];
    for (const [key, p] of this.people) {
      if (p.applied || p.missedSince === undefined || now - p.missedSince < GIVE_UP_AFTER_MS) continue;
      p.applied = true;
      p.givenUp = true;
      delete p.missedSince;
      given.push(key);
    }
    return given;
  }

  /**
   * A sync applied everywhere after a miss that left everyone out: whatever left them out (a target
   * in quarantine, down) has passed, so the people waiting are due at the next poll.
   */
  reachedAfterWholesaleMiss(): boolean {
    if (!this.wholesale) return false;
    this.wholesale = false;
    this.retry.reached();
    return true;
  }

  private confirmed(key: string, mark: string | undefined, round: number): boolean {
    const known = this.people.get(key);
    if (known === undefined || !known.applied) return false;
    // Not synced once more before the commit: that would only fail again.
    if (known.givenUp) return true;
    return known.round === round || (mark !== undefined && known.mark === mark);
  }

  /**
   * Everyone of the view applied and unchanged since (with `unmarked`, those without a mark to tell
   * by count as settled): the position may be committed.
   */
  settled(view: PollView, unmarked = false): boolean {
    for (const [key, mark] of view.marks) {
      const known = this.people.get(key);
      if (known === undefined || !known.applied || this.changed(key, mark)) return false;
      if (!unmarked && !this.confirmed(key, mark, view.round)) return false;
    }
    return true;
  }

  /** Still synced and not applied: some people wait for the retry. */
  get waiting(): boolean {
    for (const p of this.people.values()) if (!p.applied) return true;
    return false;
  }

  /** The position was committed (or a full reconcile reached everyone): nothing to remember. */
  clear(): void {
    this.people.clear();
    this.wholesale = false;
    this.retry.reached();
  }
}

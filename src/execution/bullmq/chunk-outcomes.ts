/**
 * A chunk's outcomes on their way to Redis: each operation's outcome, dead letter (added or cleared) and link changes
 * are kept together and written with the others in one atomic call (CycleStore.recordOutcomes) at
 * most FLUSH_MS after the first of them, and when the chunk ends. A worker that dies loses at most
 * the outcomes of that last moment: its successor runs those operations again, as operations whose
 * earlier attempt may have been committed (creates look before posting again). Each write also asks
 * whether the cycle still holds its lock, and renews it (OutcomeLock): a lock lost is seen by the next
 * write, and a busy cycle's lock is kept without calls of its own.
 */
import type { LinkWrite } from '../../state/redis-link-store.js';
import type { CycleStore, OutcomeEntry } from './cycle-store.js';
import type { LetterChange } from './dead-letters.js';

/** The cycle's lock, checked and renewed with each write (LockKeeper.outcomeLock). */
export interface OutcomeLock {
  token: string;
  lifeMs: number;
  /** What a write found, and when it was sent (the lock was held at some moment after that). */
  answered(held: boolean, askedAt: number): void;
}

/** Longest an outcome waits for the chunk's next write to Redis, ms. */
const FLUSH_MS = 250;

export class ChunkOutcomes {
  private entries: [string, OutcomeEntry][] = [];
  private links: LinkWrite[] = [];
  private letters: LetterChange[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** A write that failed: the chunk must not complete as if recorded (close() throws it). */
  private failure: unknown;

  constructor(
    private readonly store: CycleStore,
    private readonly planId: string,
    private readonly target: string,
    private readonly lock?: OutcomeLock,
  ) {}

  /** An operation's end: its outcome, with the link changes it made and what it does to its dead letter (failed for good: one; done: none). */
  add(opId: string, entry: OutcomeEntry, links: readonly LinkWrite[] = [], letter?: LetterChange): void {
    this.entries.push([opId, entry]);
    this.learned(links);
    if (letter) this.letters.push(letter);
  }

  /** Link changes of an attempt that will be retried: what it learnt (a stale link dropped) stays learnt. */
  learned(links: readonly LinkWrite[]): void {
    this.links.push(...links);
    if (this.entries.length + this.links.length > 0) this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Writes what is kept so far, after any write in progress. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const entries = this.entries.splice(0);
    const links = this.links.splice(0);
    const letters = this.letters.splice(0);
    if (entries.length + links.length + letters.length === 0) return this.writing;
    const lock = this.lock;
    this.writing = this.writing.then(async () => {
      const askedAt = Date.now();
      try {
        const held = await this.store.recordOutcomes(this.planId, this.target, entries, links, letters, lock);
        lock?.answered(held, askedAt);
      } catch (error) {
        this.failure ??= error;
      }
    });
    return this.writing;
  }

  /** Writes the rest; throws when any write failed. */
  async close(): Promise<void> {
    await this.flush();
    if (this.failure !== undefined) throw this.failure;
  }
}

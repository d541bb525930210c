/**
 * The pages of a listing asked for before the listing reaches them. Each is asked for as soon as a
 * connection is free (an answer that arrives asks for the next), like a bare loop keeping the
 * server busy, and kept as the bytes received until the listing reads it, in order (compressed,
 * when the server compressed them: the client decodes a page as it reads it). Unparsed bytes
 * live outside the JavaScript heap, so pages held while the reader is busy elsewhere (the source's
 * read, settling earlier pages) cost the collector nothing, where parsed pages would be copied and
 * promoted. Holding is not free either: held bytes are memory the process cannot reuse, fresh pages
 * the system hands over one fault at a time (on a virtual machine, a listing of 100,000 accounts,
 * most of them held, spent 160 to 180 ms gathering its answers' bytes against 20 ms unheld).
 * Bounded by the requests in flight (the target's connections) and the bytes held, counted across
 * every listing that shares a HeldBytes (the process's, scim-client.ts): a plan lists all its
 * targets at once, and a bound per listing would be one per target.
 */

/** Bytes of answers held unread by the listings that share it, and how many they may hold. */
export class HeldBytes {
  bytes = 0;
  constructor(readonly max: number) {}
}

/** An answer as received, with its size. */
export interface HeldAnswer {
  readonly size: number;
}

interface Entry<A> {
  answer: Promise<A>;
  /** Its bytes, once it has arrived. */
  size: number;
  arrived: boolean;
  dropped: boolean;
}

export class PagesAhead<A extends HeldAnswer> {
  private readonly entries = new Map<number, Entry<A>>();
  private inFlight = 0;
  /** The next startIndex to ask for; those after it are `step` apart, below `end`. */
  private cursor = 0;
  private step = 0;
  private end = 0;
  /**
   * Nothing is asked for from here on: an answer under half the size of the largest page so far
   * arrived just before it, most likely the listing's last (short or empty), which a server that
   * overstates totalResults would follow with as many empty pages as it claims. Lifted once the
   * listing reads on past it (it was not the last).
   */
  private stopAt = Infinity;
  private largest = 0;
  private closed = false;

  constructor(
    private readonly ask: (startIndex: number) => Promise<A>,
    private readonly maxInFlight: number,
    private readonly held: HeldBytes,
  ) {}

  /**
   * Ask ahead for the pages at `from`, `from + step`, ... below `end` (what totalResults announces),
   * as far as the bounds allow now and whenever an answer arrives; `readSize`: the bytes of the page
   * the listing has just read. A `from` off the grid asked for so far (a short page moved the
   * listing) drops the pages it can no longer reach.
   */
  from(from: number, step: number, end: number, readSize: number): void {
    this.largest = Math.max(this.largest, readSize);
    if (step !== this.step || (from - this.cursor) % step !== 0) {
      for (const [at, entry] of this.entries) if (at < from || (at - from) % step !== 0) this.drop(at, entry);
      this.cursor = from;
      this.step = step;
      this.stopAt = Infinity;
    } else if (from > this.cursor) {
      this.cursor = from;
    }
    if (from >= this.stopAt) this.stopAt = Infinity;
    this.end = end;
    this.fill();
  }

  /** Whether the page at `startIndex` has arrived and waits to be read. */
  arrived(startIndex: number): boolean {
    return this.entries.get(startIndex)?.arrived === true;
  }

  /**
   * The answer asked for ahead at `startIndex`, now the listing's to read; undefined when none was
   * (the listing asks for it itself, and it is not asked for ahead after that).
   */
  take(startIndex: number): Promise<A> | undefined {
    const entry = this.entries.get(startIndex);
    if (!entry) {
      if (startIndex === this.cursor) this.cursor += this.step;
      return undefined;
    }
    this.entries.delete(startIndex);
    return entry.answer.then((answer) => {
      // Read now: no longer held, and room for the next.
      this.held.bytes -= entry.size;
      entry.size = 0;
      this.fill();
      return answer;
    });
  }

  /** The listing ended (or failed): nothing more is asked for, and what was held is dropped. */
  close(): void {
    this.closed = true;
    for (const [at, entry] of this.entries) this.drop(at, entry);
  }

  private fill(): void {
    while (!this.closed && this.step > 0 && this.cursor < Math.min(this.end, this.stopAt) && this.inFlight < this.maxInFlight && this.held.bytes < this.held.max) {
      const at = this.cursor;
      this.cursor += this.step;
      if (!this.entries.has(at)) this.entries.set(at, this.asked(at));
    }
  }

  private asked(at: number): Entry<A> {
    this.inFlight++;
    const entry = { size: 0, arrived: false, dropped: false } as Entry<A>;
    entry.answer = this.ask(at).then(
      (received) => {
        this.inFlight--;
        entry.arrived = true;
        if (!entry.dropped) {
          entry.size = received.size;
          this.held.bytes += received.size;
          if (received.size * 2 < this.largest) this.stopAt = Math.min(this.stopAt, at + 1);
          this.largest = Math.max(this.largest, received.size);
        }
        this.fill();
        return received;
      },
      (error: unknown) => {
        // A failure ends the listing when it is reached: ask for nothing more meanwhile.
        this.inFlight--;
        entry.arrived = true;
        this.closed = true;
        throw error;
      },
    );
    // Its failure is the listing's when the listing reaches it; a page never reached fails nobody.
    entry.answer.catch(() => undefined);
    return entry;
  }

  private drop(at: number, entry: Entry<A>): void {
    this.entries.delete(at);
    entry.dropped = true;
    this.held.bytes -= entry.size;
    entry.size = 0;
  }
}

/**
 * The console's costly reads one at a time, with a short line of waiters: a person's page plans
 * them against every target (discovery, lookups, a group listing), and a log search may read
 * hundreds of megabytes. A viewer refreshing, or a script, would otherwise spend the targets' rate
 * budget that the cycles share, and the service's event loop. Past the line, a 429.
 */
export class BusyError extends Error {}

export class ReadGate {
  private busy = false;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly what: string,
    private readonly maxWaiting = 4,
  ) {}

  async run<T>(read: () => Promise<T>): Promise<T> {
    if (this.busy) {
      if (this.waiting.length >= this.maxWaiting) throw new BusyError(`the console is still busy with your other ${this.what}: try again in a moment`);
      // Handed the turn by the read before, which stays busy for it: no newcomer slips in between.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.busy = true;
    try {
      return await read();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.busy = false;
    }
  }
}

/**
 * Runs tasks at most `concurrency` at a time, in the order they were added; a running task may add
 * more (what a /Bulk request did not settle). What the inline executor needs of a queue, without
 * p-queue's bookkeeping per task (a copy of its options, an id string, a Symbol, a map of running
 * tasks, timeout and abort plumbing, events): p-queue 9 spent some 30 µs of CPU per task, a large
 * share of a create against a fast target, and 2,000 `add`s before the first request of a run.
 */
/** Tasks run before the list of tasks is cut down to those still waiting. */
const COMPACT_AFTER = 1024;

export class Lanes {
  private tasks: ((() => Promise<void>) | undefined)[] = [];
  private next = 0;
  private running = 0;
  private failure: { error: unknown } | null = null;
  private waiting: { resolve(): void; reject(error: unknown): void }[] = [];

  private readonly concurrency: number;

  constructor(concurrency: number) {
    this.concurrency = Math.max(1, concurrency);
  }

  /** Queues `task`; it starts now when a lane is free (its synchronous part runs inside this call). */
  add(task: () => Promise<void>): void {
    this.tasks.push(task);
    while (this.running < this.concurrency && this.next < this.tasks.length) {
      this.running++;
      void this.lane();
    }
  }

  /**
   * Queues `task` as add() does, and settles with its outcome; its failure is its caller's alone
   * (not the one idle() rejects with). What a long-lived worker process needs of its slots.
   */
  run<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) =>
      this.add(async () => {
        try {
          resolve(await task());
        } catch (error) {
          reject(error);
        }
      }),
    );
  }

  /**
   * Resolves once every task added so far has ended. Rejects with the first task that failed, as
   * soon as it fails (as p-queue's addAll did): the others still run to their end.
   */
  idle(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure.error);
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private async lane(): Promise<void> {
    while (this.next < this.tasks.length) {
      const i = this.next++;
      const task = this.tasks[i]!;
      // Let go of an operation's closure once it ran: a long phase holds thousands.
      this.tasks[i] = undefined;
      // A lane that never empties (a worker's, busy for hours) drops the slots of tasks run.
      if (this.next >= COMPACT_AFTER && this.next * 2 >= this.tasks.length) {
        this.tasks = this.tasks.slice(this.next);
        this.next = 0;
      }
      try {
        await task();
      } catch (error) {
        if (!this.failure) {
          this.failure = { error };
          for (const w of this.waiting.splice(0)) w.reject(error);
        }
      }
    }
    this.running--;
    if (this.running > 0) return;
    this.tasks = [];
    this.next = 0;
    for (const w of this.waiting.splice(0)) w.resolve();
  }
}

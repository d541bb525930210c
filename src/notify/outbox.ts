/**
 * A `Notifier` that delivers in the background, for the long-running commands (`serve`,
 * `schedule`): `notify` queues the event and resolves at once, so a webhook that hangs (one
 * delivery may take its policy's whole time, retries included) holds up no sync; the wrapped
 * notifier is given the events one at a time, in order. The queue is bounded: when it is full the
 * oldest waiting event is dropped, told to `onDropped` (a warning and a `notify.failed` record),
 * and the caller is never made to wait.
 */
import type { NotificationEvent, Notifier } from './notifier.js';

export interface OutboxOptions {
  /** Events waiting at most, the one being delivered not counted. Default 50. */
  capacity?: number;
  /** An event that will not be delivered (the queue was full), and why. */
  onDropped(event: NotificationEvent, why: string): void;
}

export const DEFAULT_OUTBOX_CAPACITY = 50;

export class Outbox implements Notifier {
  private readonly waiting: NotificationEvent[] = [];
  private running: Promise<void> | null = null;
  private readonly capacity: number;

  constructor(
    private readonly inner: Notifier,
    private readonly options: OutboxOptions,
  ) {
    this.capacity = options.capacity ?? DEFAULT_OUTBOX_CAPACITY;
  }

  /** Queues the event; resolves at once. */
  notify(event: NotificationEvent): Promise<void> {
    if (this.waiting.length >= this.capacity) {
      const oldest = this.waiting.shift()!;
      this.options.onDropped(oldest, `dropped unsent: ${this.capacity} newer notifications were waiting behind it`);
    }
    this.waiting.push(event);
    this.running ??= this.drain();
    return Promise.resolve();
  }

  /** Resolves when nothing waits and nothing is being delivered. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Waits for everything queued to be delivered or given up, at most `timeoutMs`: true when it was. */
  async flush(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([this.idle().then(() => true as const), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async drain(): Promise<void> {
    try {
      // The wrapped notifier never rejects (Notifier's contract).
      while (this.waiting.length > 0) await this.inner.notify(this.waiting.shift()!);
    } finally {
      this.running = null;
    }
  }
}

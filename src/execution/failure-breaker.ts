/**
 * The breaker of a target that keeps failing: after `limit` answers in a row that are 429, a 5xx
 * (but 501, an answer about what the server supports) or none at all (a network error, a timeout),
 * with no other answer between, an apply sends nothing more to it, as Entra's provisioning
 * quarantine does. Without it, a server answering every request with 429 and Retry-After: 300
 * holds a run of a thousand operations, and the target's run lock, for days (each operation
 * spending all its attempts). Counted over every request this process sends the target (reads,
 * writes, retries: request-events.ts) while the apply runs (in distributed mode, while the worker
 * process runs chunks of the cycle: bullmq/cycle-breakers.ts); any other answer starts the count
 * again, except a read's while writes are among the failures (a target that refuses every write
 * but answers the look-ups between them is still refusing).
 */
import { onRequestEnd, type RequestEvent } from '../targets/http/request-events.js';

/** An answer that says the target is not serving us now. */
export function failedAnswer(status: number): boolean {
  return status === 0 || status === 408 || status === 429 || (status >= 500 && status !== 501);
}

/**
 * The count of one target's failed answers in a row: calls `trip` once, with the failures counted
 * and the last of them, when `limit` answers in a row failed. Kept apart from the watching
 * (countFailures) so that a worker can count one cycle across the chunks it runs one after another
 * (bullmq/cycle-breakers.ts), where the inline executor watches for the length of its apply.
 */
export class FailureCount {
  private inRow = 0;
  /** A write is among the failures counted: a read that succeeds does not say the target takes writes. */
  private writeFailed = false;
  private tripped = false;

  constructor(
    private readonly limit: number,
    private readonly trip: (count: number, last: RequestEvent) => void,
  ) {}

  /** One answer of the target (or none: status 0). */
  answer(event: RequestEvent): void {
    if (this.tripped) return;
    const read = event.method === 'GET';
    if (!failedAnswer(event.status)) {
      // The look-up after an ambiguous failed create answers 200 while every write fails: not a
      // sign the target is back. Among failed reads only (a listing throttled now and then), it is.
      if (read && this.writeFailed) return;
      this.inRow = 0;
      this.writeFailed = false;
      return;
    }
    if (!read) this.writeFailed = true;
    if (++this.inRow < this.limit) return;
    this.tripped = true;
    this.trip(this.inRow, event);
  }
}

/** Gives `count` every answer to `target` this process receives from now on. Returns the function that stops. */
export function countFailures(target: string, count: FailureCount): () => void {
  return onRequestEnd((event) => {
    if (event.target === target) count.answer(event);
  });
}

/**
 * Calls `trip` once, with the failures counted and the last of them, when `limit` answers in a row
 * to `target` failed. Returns the function that stops watching.
 */
export function watchFailures(target: string, limit: number, trip: (count: number, last: RequestEvent) => void): () => void {
  return countFailures(target, new FailureCount(limit, trip));
}

/** The stop reason of a target the breaker stopped, for the report, the audit log and quarantine. */
export function breakerReason(target: string, count: number, last: RequestEvent): string {
  const answer = last.status === 0 ? 'no answer' : `HTTP ${last.status}`;
  return `stopped: target stopped after ${count} consecutive failures (429, 5xx or no answer; the last: ${answer} to a ${last.method}), so nothing more was sent to it (targets.${target}.stopAfterFailures)`;
}

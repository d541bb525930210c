/**
 * The breaker of a target that keeps failing: after `limit` answers in a row that are 429, a 5xx
 * (but 501, an answer about what the server supports) or none at all (a network error, a timeout),
 * with no other answer between, an apply sends nothing more to it, as Entra's provisioning
 * quarantine does. Without it, a server answering every request with 429 and Retry-After: 300
 * holds a run of a thousand operations, and the target's run lock, for days (each operation
 * spending all its attempts). Counted over every request this process sends the target (reads,
 * writes, retries: request-events.ts) while the apply runs; any other answer starts the count again.
 */
import { onRequestEnd, type RequestEvent } from '../targets/http/request-events.js';

/** An answer that says the target is not serving us now. */
export function failedAnswer(status: number): boolean {
  return status === 0 || status === 408 || status === 429 || (status >= 500 && status !== 501);
}

/**
 * Calls `trip` once, with the failures counted and the last of them, when `limit` answers in a row
 * to `target` failed. Returns the function that stops watching.
 */
export function watchFailures(target: string, limit: number, trip: (count: number, last: RequestEvent) => void): () => void {
  let inRow = 0;
  let tripped = false;
  return onRequestEnd((event) => {
    if (tripped || event.target !== target) return;
    if (!failedAnswer(event.status)) {
      inRow = 0;
      return;
    }
    if (++inRow < limit) return;
    tripped = true;
    trip(inRow, event);
  });
}

/** The stop reason of a target the breaker stopped, for the report, the audit log and quarantine. */
export function breakerReason(target: string, count: number, last: RequestEvent): string {
  const answer = last.status === 0 ? 'no answer' : `HTTP ${last.status}`;
  return `stopped: target stopped after ${count} consecutive failures (429, 5xx or no answer; the last: ${answer} to a ${last.method}), so nothing more was sent to it (targets.${target}.stopAfterFailures)`;
}

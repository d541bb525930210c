/**
 * Every SCIM request this process sends, as it ends: which target, which method, the answer's
 * status (0: no answer, a network error or a timeout), how long the server took (the wait for the
 * request budget not included) and, on a 429 or a 503 that names one, the Retry-After asked for.
 *
 * One hub per process, as the request budget is one per target per process: every client, whoever
 * made it (plan, apply, check, a worker's job), reports here, and metrics or a progress display
 * listen without being threaded through each place that builds a client. Nothing listens unless a
 * command asks; the client's cost is then one size check.
 */

export interface RequestEvent {
  target: string;
  method: string;
  /** HTTP status, or 0 when no answer came. */
  status: number;
  seconds: number;
  /** The server's Retry-After, ms, when it answered 429 (or 503) with one. */
  retryAfterMs?: number;
}

export type RequestListener = (event: RequestEvent) => void;

const listeners = new Set<RequestListener>();

/** Listens to every request's end until the returned function is called. */
export function onRequestEnd(listener: RequestListener): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

/** Called by the client once per request (retries are requests of their own). A listener's error is its own. */
export function requestEnded(event: RequestEvent): void {
  if (listeners.size === 0) return;
  for (const listener of listeners) {
    try {
      listener(event);
    } catch {
      // Observing must never fail a request.
    }
  }
}

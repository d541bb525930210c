/**
 * When to retry an operation and how long to wait: the one place that decides. Transient errors
 * back off exponentially with full jitter, capped; a 429 waits what the server asked (plus a little
 * jitter so parallel workers do not return in lockstep). Everything else is final.
 */
import { isRetryable, RateLimitedError } from '../../errors.js';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** First backoff, ms. */
  baseDelayMs: number;
  /** Longest backoff, ms; a Retry-After above it is still honoured, up to maxRetryAfterMs. */
  maxDelayMs: number;
  /** Longest server-requested wait we accept before giving up on the operation, ms. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 300_000,
};

/** Milliseconds to wait before attempt `attempt + 1`, or null when the error is final. */
export function retryDelay(error: unknown, attempt: number, policy: RetryPolicy, random = Math.random): number | null {
  if (!isRetryable(error) || attempt >= policy.maxAttempts) return null;
  if (error instanceof RateLimitedError && error.retryAfterMs !== undefined) {
    if (error.retryAfterMs > policy.maxRetryAfterMs) return null;
    return error.retryAfterMs + Math.floor(random() * Math.min(1000, policy.baseDelayMs));
  }
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

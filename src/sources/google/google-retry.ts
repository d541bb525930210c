/**
 * When the Google source tries a request again (Directory API, Reports API, token endpoint), and
 * how long it waits: the targets' retry policy (targets/http/retry-policy.ts) with Google's pacing.
 * Google's quotas are counted per minute or per 100 seconds, and its advice for its quota errors
 * is exponential backoff up to about a minute: a few tries within seconds give up while the quota
 * is still spent, and a whole read fails for one busy minute.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { RateLimitedError, TransientError } from '../../errors.js';
import { parseRetryAfter } from '../../targets/http/error-mapping.js';
import { retryDelay, type RetryPolicy } from '../../targets/http/retry-policy.js';

/**
 * Six tries, waits drawn below 2, 4, 8, 16 and 32 s (at most a minute in all, about half that on
 * average); a Retry-After is waited as asked, up to two minutes.
 */
export const GOOGLE_RETRY_POLICY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 2_000, maxDelayMs: 32_000, maxRetryAfterMs: 120_000 };

export interface Pacing {
  readonly policy: RetryPolicy;
  /** Waits `ms`; tests pass one that notes the wait and returns at once. */
  readonly wait: (ms: number) => Promise<void>;
  /** In [0, 1): the jitter that keeps parallel readers from returning in step. */
  readonly random: () => number;
}

export const GOOGLE_PACING: Pacing = { policy: GOOGLE_RETRY_POLICY, wait: (ms) => sleep(ms), random: Math.random };

/**
 * Google's reasons (error.errors[].reason) for a 403 that is a spent quota, not a refusal: it
 * passes. Every other 403 is an answer (a missing scope or privilege, an address of another
 * customer) that asking again does not change.
 */
const QUOTA_REASONS: ReadonlySet<string> = new Set(['userRateLimitExceeded', 'rateLimitExceeded', 'quotaExceeded']);

export interface Answer {
  readonly status: number;
  /** Google's error reason, when the body names one. */
  readonly reason?: string | undefined;
  readonly headers: IncomingHttpHeaders;
}

/**
 * Milliseconds to wait before trying again after `attempt` tries, or null when it is over: an
 * answer that will not change, no tries left, or a Retry-After longer than the policy waits.
 * `answer` undefined: none came (a network error, a timeout).
 */
export function retryWait(answer: Answer | undefined, attempt: number, pacing: Pacing): number | null {
  if (answer === undefined) return retryDelay(new TransientError('no answer', {}, true), attempt, pacing.policy, pacing.random);
  const { status, reason } = answer;
  const quota = status === 429 || (status === 403 && reason !== undefined && QUOTA_REASONS.has(reason));
  if (!quota && status < 500) return null;
  const header = answer.headers['retry-after'];
  const after = parseRetryAfter(Array.isArray(header) ? header[0] : header);
  const error = quota || after !== undefined ? new RateLimitedError(`HTTP ${status}`, {}, after) : new TransientError(`HTTP ${status}`, {}, false);
  return retryDelay(error, attempt, pacing.policy, pacing.random);
}

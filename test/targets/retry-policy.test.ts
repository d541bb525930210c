/**
 * The retry policy as a table: which errors are retried, after how long (the jitter source is
 * injected, so each delay is exact), and where the caps and Retry-After take over.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY, retryDelay, type RetryPolicy } from '../../src/targets/http/retry-policy.js';
import { errorForNetwork, errorForStatus } from '../../src/targets/http/error-mapping.js';

const CTX = { target: 'app', request: 'PATCH /Users/u1' };
/** The error the client raises for this response. */
const http = (status: number, retryAfter?: string) => errorForStatus(status, retryAfter === undefined ? {} : { 'retry-after': retryAfter }, '', CTX);

interface Case {
  name: string;
  error: unknown;
  attempt: number;
  /** The value Math.random would return. */
  random: number;
  policy?: Partial<RetryPolicy>;
  want: number | null;
}

const cases: Case[] = [
  // Backoff: full jitter under base * 2^(attempt-1), capped at maxDelayMs.
  { name: '5xx, first retry: up to baseDelayMs', error: http(503), attempt: 1, random: 0.5, want: 125 },
  { name: '5xx, third attempt: up to 4 x base', error: http(500), attempt: 3, random: 0.999, want: 999 },
  { name: 'full jitter can be no wait at all', error: http(502), attempt: 2, random: 0, want: 0 },
  { name: 'the ceiling stops at maxDelayMs', error: http(500), attempt: 4, random: 0.5, policy: { maxAttempts: 20, maxDelayMs: 1000 }, want: 500 },
  { name: 'network errors back off like 5xx', error: errorForNetwork(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), CTX, 'https://x/'), attempt: 2, random: 0.5, want: 250 },
  { name: '429 without Retry-After backs off like 5xx', error: http(429), attempt: 2, random: 0.25, want: 125 },
  // Retry-After: what the server asked, plus up to min(1 s, base) of jitter.
  { name: '429 Retry-After: 2 waits 2 s plus jitter', error: http(429, '2'), attempt: 1, random: 0.5, want: 2125 },
  { name: 'Retry-After above maxDelayMs is still honoured', error: http(429, '60'), attempt: 1, random: 0, want: 60_000 },
  { name: 'Retry-After at maxRetryAfterMs is honoured', error: http(429, '300'), attempt: 1, random: 0, want: 300_000 },
  { name: 'Retry-After over maxRetryAfterMs: give up', error: http(429, '301'), attempt: 1, random: 0, want: null },
  { name: '503 with Retry-After honours it', error: http(503, '1'), attempt: 1, random: 0.999, want: 1249 },
  { name: 'jitter after Retry-After is at most 1 s', error: http(429, '1'), attempt: 1, random: 0.999, policy: { baseDelayMs: 5000 }, want: 1999 },
  // Attempts
  { name: 'the last attempt is final', error: http(503), attempt: 5, random: 0.5, want: null },
  { name: 'the last attempt is final even with Retry-After', error: http(429, '1'), attempt: 5, random: 0.5, want: null },
  { name: 'one before the last still retries', error: http(503), attempt: 4, random: 0.5, want: 1000 },
  // Never retried
  { name: '400 is final', error: http(400), attempt: 1, random: 0.5, want: null },
  { name: '401 is final', error: http(401), attempt: 1, random: 0.5, want: null },
  { name: '403 is final', error: http(403), attempt: 1, random: 0.5, want: null },
  { name: '404 is final', error: http(404), attempt: 1, random: 0.5, want: null },
  { name: '409 is final', error: http(409), attempt: 1, random: 0.5, want: null },
  { name: '412 is final', error: http(412), attempt: 1, random: 0.5, want: null },
  { name: 'a TLS failure is final', error: errorForNetwork(Object.assign(new Error('tls'), { code: 'CERT_HAS_EXPIRED' }), CTX, 'https://x/'), attempt: 1, random: 0.5, want: null },
  { name: 'a plain Error is final', error: new Error('bug'), attempt: 1, random: 0.5, want: null },
];

describe('retry policy', () => {
  it.each(cases)('$name', (c) => {
    expect(retryDelay(c.error, c.attempt, { ...DEFAULT_RETRY_POLICY, ...c.policy }, () => c.random)).toBe(c.want);
  });

  it('the defaults: 5 attempts, 250 ms base, 30 s cap, 5 min longest Retry-After', () => {
    expect(DEFAULT_RETRY_POLICY).toEqual({ maxAttempts: 5, baseDelayMs: 250, maxDelayMs: 30_000, maxRetryAfterMs: 300_000 });
  });
});

/**
 * How many requests one console session (or, before signing in, one client network) may make a
 * minute: a bucket of `perMinute` requests, refilled evenly over the minute, so a person clicking
 * through pages never meets it and a script cannot ask thousands of questions in seconds (each
 * search reads the log; each person page asks every target).
 */

/** Most keys remembered; beyond, the least recently seen go (a full bucket is what a new key gets anyway). */
const MAX_KEYS = 10_000;

export class RequestLimit {
  private readonly buckets = new Map<string, { tokens: number; at: number; refused?: true }>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one request for `key`: undefined when allowed, else the seconds until one is (`first`: the first refused since one was allowed). */
  take(key: string): { retryAfterSeconds: number; first: boolean } | undefined {
    const now = this.now();
    const rate = this.perMinute / 60_000;
    const seen = this.buckets.get(key);
    const tokens = seen ? Math.min(this.perMinute, seen.tokens + (now - seen.at) * rate) : this.perMinute;
    this.buckets.delete(key);
    if (tokens < 1) {
      this.buckets.set(key, { tokens, at: now, refused: true });
      return { retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / rate / 1000)), first: !seen?.refused };
    }
    this.buckets.set(key, { tokens: tokens - 1, at: now });
    if (this.buckets.size > MAX_KEYS) this.buckets.delete(this.buckets.keys().next().value!);
    return undefined;
  }
}

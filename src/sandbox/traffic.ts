/** Traffic shaping for the sandbox: rate-limit windows and a seeded generator for random faults. */
import type { SandboxRateLimit } from './behaviour.js';

/** Admitted arrivals within the last window; refuses beyond the limit. */
export class ArrivalWindow {
  private arrivals: number[] = [];

  /** Records the arrival and returns undefined when admitted, else the Retry-After in seconds. */
  admit(limit: SandboxRateLimit | null, now: number): number | undefined {
    if (!limit) return undefined;
    let expired = 0;
    while (expired < this.arrivals.length && this.arrivals[expired]! <= now - limit.perMs) expired++;
    if (expired > 0) this.arrivals.splice(0, expired);
    if (this.arrivals.length < limit.requests) {
      this.arrivals.push(now);
      return undefined;
    }
    const freeAt = this.arrivals[this.arrivals.length - limit.requests]! + limit.perMs;
    return limit.retryAfterSeconds ?? Math.max(1, Math.ceil((freeAt - now) / 1000));
  }
}

/** mulberry32: small, fast, and the same sequence for the same seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Keeps a cycle's target lock alive while its jobs run: every job renews it, but Redis is asked at
 * most every tenth of the lock's life per target and token (a phase job forces a renewal, being rare
 * and possibly long after the last operation).
 */
import type { Redis } from 'ioredis';
import { extendLock } from '../../state/redis-run-lock.js';

export class LockKeeper {
  private readonly renewed = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** The cycle lock's life, ms (queue.cycleLockMs). */
    private readonly lockMs: number,
  ) {}

  /** undefined when renewed recently (nothing to wait for: no promise per operation). */
  keep(target: string, token: string, force = false): Promise<void> | undefined {
    const key = `${target}\n${token}`;
    const now = Date.now();
    if (!force && now - (this.renewed.get(key) ?? 0) < this.lockMs / 10) return undefined;
    this.renewed.set(key, now);
    return extendLock(this.redis, this.prefix, target, token, this.lockMs).then(() => undefined);
  }
}

/**
 * The dead letters of distributed mode: each operation that failed for good in a chunk, with its
 * reason and attempts, kept per target until `scim-sync retry` runs it again (or forever: they are
 * what `status` lists as failed). Written by the worker together with the operation's outcome
 * (CycleStore.recordOutcomes, one atomic call); read and removed here. A hash holds the entries, a
 * sorted set their order (the time they failed), so `status` reads the latest few without the rest.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Operation } from '../../model/plan.js';
import { operationsSchema } from '../../model/plan-schema.js';
import { parseStateJson, type StateShape } from '../../state/state-json.js';
import { redisKeys, type RedisKeys } from '../../state/redis-keys.js';

export interface DeadLetter {
  /** `<chunk job id>/<operation id>` (deadLetterId). */
  id: string;
  planId: string;
  op: Operation;
  /** Attempts made, the last included. */
  attempts: number;
  /** When it failed for good, ISO time. */
  at: string;
  /** Why, as the report says it (code and the server's detail). */
  reason: string;
}

export const deadLetterId = (chunkJobId: string, opId: string): string => `${chunkJobId}/${opId}`;

/** The chunk job a dead letter came from. */
export const chunkOfDeadLetter = (id: string): string => id.slice(0, id.lastIndexOf('/'));

const SHAPE: StateShape<DeadLetter> = {
  schema: z.object({
    id: z.string(),
    planId: z.string(),
    op: operationsSchema.element,
    attempts: z.number(),
    at: z.string(),
    reason: z.string(),
  }) as z.ZodType<DeadLetter>,
  what: 'a failed operation',
  fix: 'remove it (HDEL) and run the next cycle, which plans the operation afresh',
};

export class DeadLetters {
  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = redisKeys(prefix);
  }

  count(target: string): Promise<number> {
    return this.redis.zcard(this.keys.deadLetterOrder(target));
  }

  /** Every dead letter id of the target, oldest first. */
  ids(target: string): Promise<string[]> {
    return this.redis.zrange(this.keys.deadLetterOrder(target), 0, -1);
  }

  /** The target's dead letters, oldest first; or the newest `limit`, newest first. */
  async list(target: string, limit?: number): Promise<DeadLetter[]> {
    const order = this.keys.deadLetterOrder(target);
    const ids = limit === undefined ? await this.redis.zrange(order, 0, -1) : await this.redis.zrevrange(order, 0, limit - 1);
    if (ids.length === 0) return [];
    const key = this.keys.deadLetters(target);
    const values = await this.redis.hmget(key, ...ids);
    return values.flatMap((value, i) => (value === null ? [] : [parseStateJson(value, `dead letter ${ids[i]} in ${key}`, SHAPE)]));
  }

  async remove(target: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.redis
      .multi()
      .hdel(this.keys.deadLetters(target), ...ids)
      .zrem(this.keys.deadLetterOrder(target), ...ids)
      .exec();
  }
}

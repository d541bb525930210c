/**
 * Distributed mode's WriteMemory (write-memory.ts): two Redis hashes per target (redis-keys.ts),
 * learned shapes by attribute and parked changes by key, each entry one field of JSON, so workers
 * on several machines learn and park for each other.
 */
import type { Redis } from 'ioredis';
import { parseJsonHash } from './json-hash.js';
import { redisKeys, type RedisKeys } from './redis-keys.js';
import { parseLearnedShape, parseParkedEntry, type LearnedShape, type ParkedEntry, type WriteMemory } from './write-memory.js';

export class RedisWriteMemory implements WriteMemory {
  private readonly keys: RedisKeys;

  /** `redis` stays owned by the caller. */
  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = redisKeys(prefix);
  }

  async shapes(target: string): Promise<Map<string, LearnedShape>> {
    const key = this.keys.shapes(target);
    return parseJsonHash(await this.redis.hgetall(key), (field, value) => parseLearnedShape(`${key} (${field})`, value));
  }

  async learnShape(target: string, attribute: string, learned: LearnedShape): Promise<void> {
    await this.redis.hset(this.keys.shapes(target), attribute, JSON.stringify(learned));
  }

  async parked(target: string): Promise<Map<string, ParkedEntry>> {
    const key = this.keys.parked(target);
    return parseJsonHash(await this.redis.hgetall(key), (field, value) => parseParkedEntry(`${key} (${field})`, value));
  }

  async park(target: string, entry: ParkedEntry): Promise<void> {
    await this.redis.hset(this.keys.parked(target), entry.key, JSON.stringify(entry));
  }

  async forget(target: string, keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.redis.hdel(this.keys.parked(target), ...keys);
  }
}

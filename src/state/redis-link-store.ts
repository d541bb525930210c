/**
 * The link store of distributed mode: one Redis hash per target and kind (redis-keys.ts), field
 * externalId, value JSON {id, hash}. Every write is
 * one Redis command, acknowledged before the operation counts as done, so workers on several
 * machines share one view; durability is Redis's (AOF or RDB, as configured there).
 */
import type { Redis } from 'ioredis';
import { StateError } from '../errors.js';
import type { Link, LinkCounts, LinkInventory, LinkStore, ResourceKind } from './link-store.js';
import { redisKeys, type RedisKeys } from './redis-keys.js';

/** Fields read per HSCAN round: big enough to be quick, small enough not to stall Redis. */
const SCAN_COUNT = 1000;

/** A link change: HSET `field` of hash `key` to `value`, or HDEL when null. */
export interface LinkWrite {
  key: string;
  field: string;
  value: string | null;
}

/** How a link is stored: JSON {id, hash}. */
export function linkValue(link: Link): string {
  return JSON.stringify({ id: link.id, hash: link.hash });
}

export function parseLink(key: string, externalId: string, value: string): Link {
  try {
    const link = JSON.parse(value) as Link;
    if (typeof link.id === 'string' && typeof link.hash === 'string') return link;
  } catch {
    // reported below
  }
  throw new StateError(`link store entry ${externalId} in ${key} is corrupt`);
}

export class RedisLinkStore implements LinkStore, LinkInventory {
  private readonly keys: RedisKeys;

  /** `redis` stays owned by the caller: close() does not disconnect it. */
  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = redisKeys(prefix);
  }

  /** Nothing to wait for: each method asks Redis. */
  loaded(): Promise<void> {
    return Promise.resolve();
  }

  async snapshot(target: string, kind: ResourceKind): Promise<Map<string, Link>> {
    const key = this.keys.links(target, kind);
    const links = new Map<string, Link>();
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(key, cursor, 'COUNT', SCAN_COUNT);
      for (let i = 0; i + 1 < flat.length; i += 2) links.set(flat[i]!, parseLink(key, flat[i]!, flat[i + 1]!));
      cursor = next;
    } while (cursor !== '0');
    return links;
  }

  async get(target: string, kind: ResourceKind, externalId: string): Promise<Link | undefined> {
    const key = this.keys.links(target, kind);
    const value = await this.redis.hget(key, externalId);
    return value === null ? undefined : parseLink(key, externalId, value);
  }

  /** The links of these keys in one round trip (HMGET): only those that exist are in the map. */
  async getMany(target: string, kind: ResourceKind, externalIds: readonly string[]): Promise<Map<string, Link>> {
    const key = this.keys.links(target, kind);
    const found = new Map<string, Link>();
    if (externalIds.length === 0) return found;
    const values = await this.redis.hmget(key, ...externalIds);
    externalIds.forEach((id, i) => {
      if (values[i] !== null) found.set(id, parseLink(key, id, values[i]!));
    });
    return found;
  }

  async set(target: string, kind: ResourceKind, externalId: string, link: Link): Promise<void> {
    await this.redis.hset(this.keys.links(target, kind), externalId, linkValue(link));
  }

  async delete(target: string, kind: ResourceKind, externalId: string): Promise<void> {
    await this.redis.hdel(this.keys.links(target, kind), externalId);
  }

  async linkedTargets(): Promise<Map<string, LinkCounts>> {
    const counts = new Map<string, LinkCounts>();
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', this.keys.allLinks, 'COUNT', SCAN_COUNT);
      for (const key of keys) {
        const named = this.keys.linksOf(key);
        if (!named) continue;
        const size = await this.redis.hlen(key);
        if (size === 0) continue;
        const entry = counts.get(named.target) ?? { users: 0, groups: 0 };
        if (named.kind === 'group') entry.groups += size;
        else entry.users += size;
        counts.set(named.target, entry);
      }
      cursor = next;
    } while (cursor !== '0');
    return counts;
  }

  async forgetTarget(target: string): Promise<LinkCounts> {
    const users = this.keys.links(target, 'user');
    const groups = this.keys.links(target, 'group');
    // Counted and dropped in one transaction: a worker's link write cannot fall between the two.
    const replies = (await this.redis.multi().hlen(users).hlen(groups).del(users, groups).exec()) ?? [];
    const count = (i: number): number => {
      const [error, value] = replies[i] ?? [new Error('no reply')];
      if (error) throw new StateError(`cannot drop the links of target ${target}: ${error.message}`, {}, { cause: error });
      return Number(value);
    };
    const dropped = { users: count(0), groups: count(1) };
    count(2);
    return dropped;
  }

  /** Every write was acknowledged by Redis already. */
  async flush(): Promise<void> {}

  async close(): Promise<void> {}
}

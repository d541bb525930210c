/**
 * The order per person between full cycles and change-driven syncs (`scim-sync serve`). A cycle
 * reads the whole source, then applies for minutes; meanwhile a change-driven sync reads one person
 * afresh and applies a newer decision (a leaver deactivated). The cycle's operations for that
 * person were planned on the older read and must not undo it: when one is about to start, it is
 * skipped as superseded, and the next cycle plans the person afresh.
 *
 * Embedded mode keeps the clock in the service's memory (the cycle runs in the same process);
 * distributed mode in a Redis hash, which a worker reads before a guarded cycle's operations start,
 * once for the people of a whole chunk of them.
 */
import type { Redis } from 'ioredis';
import { redisKeys } from './redis-keys.js';
import { mapKept } from '../model/joined-lists.js';

/** Operations that write one person's account (or their manager reference): the ones a stale read can undo. */
const PERSON_OPS: ReadonlySet<string> = new Set(['createUser', 'updateUser', 'linkUser', 'deprovisionUser', 'setManager']);

/** The person an operation writes, when it is one that a stale read can undo. */
export function personOf(op: { kind: string; externalId?: string }): string | undefined {
  return PERSON_OPS.has(op.kind) ? op.externalId : undefined;
}

/** Why an operation planned on a read at `readAt` must not run, given the newest decision for its person. */
export function supersededReason(key: string, decided: number | undefined, readAt: number): string | undefined {
  return decided !== undefined && decided > readAt
    ? `superseded: ${key} was synced from a newer read of the source (${new Date(decided).toISOString()}) while this plan ran; the next cycle plans them afresh`
    : undefined;
}

/**
 * Why each of these operations, planned on a read at `readAt` (ms), must not run, by operation id:
 * the clock read for all their people at once (one Redis round trip for a worker's chunk).
 */
export async function supersededOperations(clock: PersonClock, ops: readonly { id: string; kind: string; externalId?: string }[], readAt: number): Promise<Map<string, string>> {
  const people = mapKept(ops, (op) => {
    const key = personOf(op);
    return key === undefined ? undefined : ([op.id, key] as const);
  });
  const reasons = new Map<string, string>();
  if (people.length === 0) return reasons;
  const decided = await clock.decidedAtAll([...new Set(people.map(([, key]) => key))]);
  for (const [id, key] of people) {
    const why = supersededReason(key, decided.get(key), readAt);
    if (why) reasons.set(id, why);
  }
  return reasons;
}

export interface PersonClock {
  /** A change-driven sync that read these people at `readAt` has been applied. */
  mark(keys: Iterable<string>, readAt: Date): Promise<void>;
  /** When the newest change-driven decision for each of these people read the source (ms): only those with one are in the map (one Redis round trip). */
  decidedAtAll(keys: readonly string[]): Promise<Map<string, number>>;
  /** Forget decisions that no plan still running can predate (a full cycle that read the source after them). */
  forgetBefore(time: Date): Promise<void>;
}

export class MemoryPersonClock implements PersonClock {
  private readonly decided = new Map<string, number>();

  async mark(keys: Iterable<string>, readAt: Date): Promise<void> {
    for (const key of keys) this.decided.set(key, Math.max(readAt.getTime(), this.decided.get(key) ?? 0));
  }

  async decidedAtAll(keys: readonly string[]): Promise<Map<string, number>> {
    return new Map(mapKept(keys, (key) => (this.decided.has(key) ? ([key, this.decided.get(key)!] as const) : undefined)));
  }

  /** The inline executor's check for a plan that read the source at `readAt`. */
  superseded(readAt: Date): (target: string, op: { kind: string; externalId?: string }) => string | undefined {
    const at = readAt.getTime();
    return (_target, op) => {
      const key = personOf(op);
      return key === undefined ? undefined : supersededReason(key, this.decided.get(key), at);
    };
  }

  async forgetBefore(time: Date): Promise<void> {
    for (const [key, decided] of this.decided) if (decided < time.getTime()) this.decided.delete(key);
  }
}

/** Entries live this long after the last decision: far longer than any cycle runs. */
const TTL_SECONDS = 7 * 24 * 3600;

/** Keeps the larger of the stored and the new time, so a slow writer never moves a person's clock back. */
const MARK = `
for i = 1, #ARGV - 1 do
  local current = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0')
  if current < tonumber(ARGV[#ARGV]) then redis.call('HSET', KEYS[1], ARGV[i], ARGV[#ARGV]) end
end
redis.call('EXPIRE', KEYS[1], ${TTL_SECONDS})
return 1`;

export class RedisPersonClock implements PersonClock {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.key = redisKeys(prefix).personClock;
  }

  async mark(keys: Iterable<string>, readAt: Date): Promise<void> {
    const list = [...keys];
    if (list.length > 0) await this.redis.eval(MARK, 1, this.key, ...list, String(readAt.getTime()));
  }

  async decidedAtAll(keys: readonly string[]): Promise<Map<string, number>> {
    if (keys.length === 0) return new Map();
    const values = await this.redis.hmget(this.key, ...keys);
    const decided = new Map<string, number>();
    keys.forEach((key, i) => values[i] !== null && decided.set(key, Number(values[i])));
    return decided;
  }

  /** Nothing: other machines' cycles may still predate an entry; the hash expires a week after its last write. */
  async forgetBefore(): Promise<void> {}
}

/**
 * The dead letters of distributed mode: the operations that failed for good, with their reason and
 * attempts, per target, which `status` lists as failed and `scim-sync retry` runs again. Written
 * with the operations' outcomes (CycleStore.recordOutcomes, one atomic call): by the worker when an
 * operation fails, and when a cycle finishes for its operations that never got an outcome.
 *
 * One per operation, not one per failure: a person refused every cycle is one dead letter, the
 * latest cycle's, whose identity (deadLetterKey: target, kind, externalId, SCIM id) replaces the
 * earlier one; and a later cycle that does that operation clears it. Each is kept at most
 * queue.failedRetentionHours after it failed: it holds the resource it would write and the server's
 * error, personal data that must not stay in Redis for ever.
 *
 * Three keys per target: a hash of the entries by id (`<chunk job id>/<operation id>`, which also
 * says the chunk it failed in), a sorted set of the ids by the time they failed (so `status` reads
 * the latest few without the rest, and the expired ones are found), and the index of identity ->
 * id. Entries of an earlier version have no identity: listed and retried as ever, never replaced,
 * and gone once older than the retention.
 */
import { createHash } from 'node:crypto';
import type { Redis, Result } from 'ioredis';
import * as z from 'zod';
import type { Operation } from '../../model/plan.js';
import { operationsSchema } from '../../model/plan-schema.js';
import { parseStateJson, type StateShape } from '../../state/state-json.js';
import { redisKeys, type RedisKeys } from '../../state/redis-keys.js';
import type { Outcome } from '../run-report.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** REMOVE below, defined on the connection by DeadLetters. */
    removeDeadLetters(numKeys: number, ...keysAndArgs: string[]): Result<number, Context>;
  }
}

export interface DeadLetter {
  /** `<chunk job id>/<operation id>` (deadLetterId); `<plan id>/<operation id>` for one that no chunk ran. */
  id: string;
  /** deadLetterKey(op); absent in the entries of an earlier version. */
  key?: string;
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

/**
 * What makes two operations the same one, cycle after cycle: kind, person or group, and the account
 * they act on. A group's membership change is split into several operations: each part is itself
 * (the members it adds and removes), so that parts failing together are each kept.
 */
export function deadLetterKey(op: Operation): string {
  const scimId = 'scimId' in op ? (op.scimId ?? '') : '';
  const part =
    op.kind === 'patchGroupMembers'
      ? `\n${createHash('sha256')
          .update(JSON.stringify([[...op.add].sort(), [...op.remove].sort()]))
          .digest('hex')
          .slice(0, 16)}`
      : '';
  return `${op.kind}\n${op.externalId}\n${scimId}${part}`;
}

/** An outcome that clears its operation's dead letter: the operation is done (or nothing was left to do). */
export const clearsDeadLetter = (outcome: Outcome): boolean => outcome === 'ok' || outcome === 'unchanged' || outcome === 'partial';

/** A dead letter's change, as recorded with the outcomes: one added (failed for good), or its identity's cleared (done at `at`, ms). */
export type LetterChange = { dead: DeadLetter } | { done: string; at: number };

/**
 * RECORD_LETTERS, the part of CycleStore's outcome script that writes dead letters. KEYS: `first`
 * is the entries hash, then the order and the index. ARGV from `at`: the retention (ms) and the
 * cutoff (ms: older entries are dropped), the number of letters added and that many quadruples (id,
 * identity, time ms, entry), the number cleared and that many pairs (identity, time ms). A letter
 * replaces its identity's unless that one failed later; a clear removes it unless it failed later.
 * Returns the index in ARGV after its arguments.
 */
export const RECORD_LETTERS = `
local function recordLetters(h, o, x, at)
  local keep, cutoff = ARGV[at], tonumber(ARGV[at + 1])
  local added = tonumber(ARGV[at + 2])
  local cleared = tonumber(ARGV[at + 3 + 4 * added])
  for i = at + 3, at + 2 + 4 * added, 4 do
    local id, key, time = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
    local old = redis.call('HGET', x, key)
    local newer = false
    if old and old ~= id then
      local s = redis.call('ZSCORE', o, old)
      if s and tonumber(s) > time then newer = true else
        redis.call('HDEL', h, old)
        redis.call('ZREM', o, old)
      end
    end
    if not newer then
      redis.call('HSET', h, id, ARGV[i + 3])
      redis.call('ZADD', o, time, id)
      redis.call('HSET', x, key, id)
    end
  end
  for i = at + 4 + 4 * added, at + 3 + 4 * added + 2 * cleared, 2 do
    local id = redis.call('HGET', x, ARGV[i])
    if id then
      local s = redis.call('ZSCORE', o, id)
      if not s or tonumber(s) <= tonumber(ARGV[i + 1]) then
        redis.call('HDEL', h, id)
        redis.call('ZREM', o, id)
        redis.call('HDEL', x, ARGV[i])
      end
    end
  end
  if added + cleared > 0 then
    -- Past the retention: a few at a time, never a long script.
    for _, id in ipairs(redis.call('ZRANGEBYSCORE', o, '-inf', '(' .. cutoff, 'LIMIT', 0, 1000)) do
      local v = redis.call('HGET', h, id)
      if v then
        local ok, d = pcall(cjson.decode, v)
        if ok and type(d) == 'table' and type(d.key) == 'string' and redis.call('HGET', x, d.key) == id then redis.call('HDEL', x, d.key) end
        redis.call('HDEL', h, id)
      end
      redis.call('ZREM', o, id)
    end
    for _, k in ipairs({ h, o, x }) do
      if redis.call('EXISTS', k) == 1 then redis.call('PEXPIRE', k, keep) end
    end
  end
  return at + 4 + 4 * added + 2 * cleared
end
`;

/** RECORD_LETTERS's arguments for these changes, with `now` (ms) for the cutoff. */
export function letterArguments(changes: readonly LetterChange[], retentionMs: number, now: number, entry: (letter: DeadLetter) => string): string[] {
  const added = changes.flatMap((c) => ('dead' in c ? [c.dead] : []));
  const done = changes.flatMap((c) => ('done' in c ? [c] : []));
  const args = [String(retentionMs), String(now - retentionMs), String(added.length)];
  for (const letter of added) args.push(letter.id, letter.key ?? deadLetterKey(letter.op), String(Date.parse(letter.at)), entry(letter));
  args.push(String(done.length));
  for (const d of done) args.push(d.done, String(d.at));
  return args;
}

// KEYS: entries, order, index. ARGV: ids. Each entry goes, with its identity's index when it names it.
const REMOVE = `
for _, id in ipairs(ARGV) do
  local v = redis.call('HGET', KEYS[1], id)
  if v then
    local ok, d = pcall(cjson.decode, v)
    if ok and type(d) == 'table' and type(d.key) == 'string' and redis.call('HGET', KEYS[3], d.key) == id then redis.call('HDEL', KEYS[3], d.key) end
    redis.call('HDEL', KEYS[1], id)
  end
  redis.call('ZREM', KEYS[2], id)
end
return 1`;

const SHAPE: StateShape<DeadLetter> = {
  schema: z.object({
    id: z.string(),
    key: z.string().optional(),
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
    /** queue.failedRetentionHours, ms: older ones are not read, and go at the next write. */
    private readonly retentionMs: number,
  ) {
    this.keys = redisKeys(prefix);
    redis.defineCommand('removeDeadLetters', { lua: REMOVE });
  }

  /** The oldest failure time still kept, ms. */
  private get since(): number {
    return Date.now() - this.retentionMs;
  }

  count(target: string): Promise<number> {
    return this.redis.zcount(this.keys.deadLetterOrder(target), this.since, '+inf');
  }

  /** Every dead letter id of the target, oldest first. */
  ids(target: string): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.deadLetterOrder(target), this.since, '+inf');
  }

  /** The target's dead letters, oldest first; or the newest `limit`, newest first. */
  async list(target: string, limit?: number): Promise<DeadLetter[]> {
    const order = this.keys.deadLetterOrder(target);
    const ids = limit === undefined ? await this.ids(target) : await this.redis.zrevrangebyscore(order, '+inf', this.since, 'LIMIT', 0, limit);
    if (ids.length === 0) return [];
    const key = this.keys.deadLetters(target);
    const values = await this.redis.hmget(key, ...ids);
    return values.flatMap((value, i) => (value === null ? [] : [parseStateJson(value, `dead letter ${ids[i]} in ${key}`, SHAPE)]));
  }

  /** The identities that have a dead letter (the index: small, no entry read). */
  async identities(target: string): Promise<Set<string>> {
    return new Set(await this.redis.hkeys(this.keys.deadLetterIndex(target)));
  }

  async remove(target: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.redis.removeDeadLetters(3, this.keys.deadLetters(target), this.keys.deadLetterOrder(target), this.keys.deadLetterIndex(target), ...ids);
  }
}

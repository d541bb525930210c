/**
 * Emergency holds: people deprovisioned by hand with `scim-sync deprovision`, kept deactivated by
 * later cycles until their source record changes or `scim-sync release` lifts the hold. Kept in
 * `holds.json` in the state directory (embedded mode: one JSON object by source key, written
 * atomically, 0600, under the run lock), or in one Redis hash (distributed mode, redis-keys.ts:
 * field source key, value the hold's JSON), so a hold set on one machine is seen by every cycle.
 */
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import * as z from 'zod';
import { StateError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { hdelIfUnchanged } from './redis-hash.js';
import { redisKeys } from './redis-keys.js';
import { ensureStateDir, explainCode } from './state-dir.js';
import { parseStateJson, readStateFile, stateJson, type StateShape } from './state-json.js';

export interface Hold {
  /** When the hold was set (ISO time). */
  time: string;
  reason: string;
  /** Who asked: user@host. */
  by: string;
  /** The person's source digest when the hold was set (personDigest); null: not in the source then. */
  digest: string | null;
}

export interface HoldStore {
  /** Every hold by source key. A damaged store is an error, never "no holds". */
  all(): Promise<Map<string, Hold>>;
  set(key: string, hold: Hold): Promise<void>;
  /** Lifts the person's hold; the hold lifted, or undefined when there was none. */
  lift(key: string): Promise<Hold | undefined>;
  /** Forgets these holds, each only while it is still the one read (a hold set again since stays). */
  forget(holds: ReadonlyMap<string, Hold>): Promise<void>;
  /** Where the holds are, for messages. */
  readonly where: string;
}

const hold: z.ZodType<Hold> = z.object({ time: z.string(), reason: z.string(), by: z.string(), digest: z.string().nullable() });
const FIX = 'fix or remove it (removing it lifts the emergency holds it kept)';
const fileShape: StateShape<Record<string, Hold>> = { schema: z.record(z.string(), hold), what: 'a JSON object of emergency holds by source key', fix: FIX };
const valueShape: StateShape<Hold> = { schema: hold, what: 'an emergency hold (time, reason, by, digest)', fix: FIX };

/** A hold's JSON, fields in one order, so a hold read back compares equal to what was written. */
function holdJson(h: Hold): string {
  return stateJson({ time: h.time, reason: h.reason, by: h.by, digest: h.digest });
}

export class FileHoldStore implements HoldStore {
  readonly where: string;

  constructor(private readonly dir: string) {
    this.where = join(dir, 'holds.json');
  }

  async all(): Promise<Map<string, Hold>> {
    return new Map(Object.entries(await readStateFile(this.where, fileShape, {})));
  }

  async set(key: string, h: Hold): Promise<void> {
    const holds = await this.all();
    holds.set(key, h);
    await this.write(holds);
  }

  async lift(key: string): Promise<Hold | undefined> {
    const holds = await this.all();
    const h = holds.get(key);
    if (h) {
      holds.delete(key);
      await this.write(holds);
    }
    return h;
  }

  async forget(gone: ReadonlyMap<string, Hold>): Promise<void> {
    const holds = await this.all();
    let changed = false;
    for (const [key, h] of gone) {
      const now = holds.get(key);
      if (now && holdJson(now) === holdJson(h)) changed = holds.delete(key) || changed;
    }
    if (changed) await this.write(holds);
  }

  private async write(holds: ReadonlyMap<string, Hold>): Promise<void> {
    ensureStateDir(this.dir);
    await writeFileAtomic(this.where, `${stateJson(Object.fromEntries(holds), 2)}\n`).catch((error: unknown) => {
      throw new StateError(`cannot write ${this.where}: ${explainCode(error)}`, {}, { cause: error });
    });
  }
}

export class RedisHoldStore implements HoldStore {
  readonly where: string;

  /** `redis` stays owned by the caller. */
  constructor(private readonly redis: Redis, prefix: string) {
    this.where = redisKeys(prefix).holds;
  }

  private parse(key: string, json: string): Hold {
    return parseStateJson(json, `${this.where} (hold of ${key})`, valueShape);
  }

  async all(): Promise<Map<string, Hold>> {
    const fields = await this.redis.hgetall(this.where);
    return new Map(Object.entries(fields).map(([key, json]) => [key, this.parse(key, json)]));
  }

  async set(key: string, h: Hold): Promise<void> {
    await this.redis.hset(this.where, key, holdJson(h));
  }

  async lift(key: string): Promise<Hold | undefined> {
    // One round trip, so two releases of the same hold do not both say they lifted it.
    const [read] = (await this.redis.multi().hget(this.where, key).hdel(this.where, key).exec()) ?? [];
    const json = read?.[1];
    return typeof json === 'string' ? this.parse(key, json) : undefined;
  }

  async forget(holds: ReadonlyMap<string, Hold>): Promise<void> {
    await hdelIfUnchanged(this.redis, this.where, [...holds].map(([key, h]) => [key, holdJson(h)]));
  }
}

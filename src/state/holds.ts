/**
 * Emergency holds: people deprovisioned by hand with `scim-sync deprovision`, kept deactivated by
 * later cycles until their source record changes or `scim-sync release` lifts the hold. Kept in
 * `holds.json` in the state directory (embedded mode: one JSON object by source key, written
 * atomically, 0600, under the run lock), or in one Redis hash (distributed mode, redis-keys.ts:
 * field source key, value the hold's JSON), so a hold set on one machine is seen by every cycle.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { StateError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { hdelIfUnchanged } from './redis-hash.js';
import { redisKeys } from './redis-keys.js';
import { ensureStateDir, explainCode } from './state-dir.js';

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

/** The hold's JSON, fields in one order, so a hold read back compares equal to what was written. */
export function holdJson(hold: Hold): string {
  return JSON.stringify({ time: hold.time, reason: hold.reason, by: hold.by, digest: hold.digest });
}

function parseHold(where: string, key: string, value: unknown): Hold {
  const h = value as Partial<Hold> | null;
  if (!h || typeof h.time !== 'string' || typeof h.reason !== 'string' || typeof h.by !== 'string' || !(typeof h.digest === 'string' || h.digest === null)) {
    throw new StateError(`${where}: the hold of "${key}" is incomplete (time, reason, by and digest are needed)`);
  }
  return { time: h.time, reason: h.reason, by: h.by, digest: h.digest };
}

export class FileHoldStore implements HoldStore {
  readonly where: string;

  constructor(private readonly dir: string) {
    this.where = join(dir, 'holds.json');
  }

  async all(): Promise<Map<string, Hold>> {
    const file = this.where;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw new StateError(`cannot read ${file}: ${explainCode(error)}`, {}, { cause: error });
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new StateError(`${file} is not valid JSON (${(error as Error).message}); fix or remove it`, {}, { cause: error });
    }
    if (!data || typeof data !== 'object' || Array.isArray(data)) throw new StateError(`${file} is not a JSON object of holds by source key`);
    return new Map(Object.entries(data as Record<string, unknown>).map(([key, value]) => [key, parseHold(file, key, value)]));
  }

  async set(key: string, hold: Hold): Promise<void> {
    const holds = await this.all();
    holds.set(key, hold);
    await this.write(holds);
  }

  async lift(key: string): Promise<Hold | undefined> {
    const holds = await this.all();
    const hold = holds.get(key);
    if (hold) {
      holds.delete(key);
      await this.write(holds);
    }
    return hold;
  }

  async forget(gone: ReadonlyMap<string, Hold>): Promise<void> {
    const holds = await this.all();
    let changed = false;
    for (const [key, hold] of gone) {
      const now = holds.get(key);
      if (now && holdJson(now) === holdJson(hold)) changed = holds.delete(key) || changed;
    }
    if (changed) await this.write(holds);
  }

  private async write(holds: ReadonlyMap<string, Hold>): Promise<void> {
    ensureStateDir(this.dir);
    await writeFileAtomic(this.where, `${JSON.stringify(Object.fromEntries(holds), null, 2)}\n`).catch((error: unknown) => {
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

  async all(): Promise<Map<string, Hold>> {
    const fields = await this.redis.hgetall(this.where);
    return new Map(Object.entries(fields).map(([key, json]) => [key, parseHold(this.where, key, parseJson(json))]));
  }

  async set(key: string, hold: Hold): Promise<void> {
    await this.redis.hset(this.where, key, holdJson(hold));
  }

  async lift(key: string): Promise<Hold | undefined> {
    // One round trip, so two releases of the same hold do not both say they lifted it.
    const [json] = (await this.redis.multi().hget(this.where, key).hdel(this.where, key).exec()) ?? [];
    const value = json?.[1];
    return typeof value === 'string' ? parseHold(this.where, key, parseJson(value)) : undefined;
  }

  async forget(holds: ReadonlyMap<string, Hold>): Promise<void> {
    await hdelIfUnchanged(this.redis, this.where, [...holds].map(([key, hold]) => [key, holdJson(hold)]));
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

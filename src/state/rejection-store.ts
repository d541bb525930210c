/**
 * Rejected deprovisions (`scim-sync reject`), kept out of later plans while the person's source
 * record is what it was when the set was staged (planning/rejections.ts decides). In the state
 * directory (embedded mode: `rejections.json`, target -> source key -> entry, written atomically,
 * 0600, under the run lock), or in one Redis hash (distributed mode, redis-keys.ts: field
 * '<target>\n<source key>', value the entry's JSON), read by every machine's cycles.
 */
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import * as z from 'zod';
import { StateError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { hdelIfUnchanged } from './redis-hash.js';
import { redisKeys } from './redis-keys.js';
import { explainCode } from './state-dir.js';
import { parseStateJson, readStateFile, stateJson, type StateShape } from './state-json.js';

export interface RejectionEntry {
  /** personDigest of the source record when the deprovision was staged; null: gone from the source. */
  digest: string | null;
  /** The staged set it came from. */
  stagedId: string;
  at: string;
  by: string;
}

/** target -> source key -> rejection. */
export type RejectionMap = Record<string, Record<string, RejectionEntry>>;

export interface RejectionRef {
  target: string;
  key: string;
  entry: RejectionEntry;
}

export interface RejectionStore {
  all(): Promise<RejectionMap>;
  add(entries: readonly RejectionRef[]): Promise<void>;
  /** Forgets these rejections, each only while it is still the one read. */
  forget(entries: readonly RejectionRef[]): Promise<void>;
}

/** The entry's JSON, fields in one order, so an entry read back compares equal to what was written. */
function entryJson(e: RejectionEntry): string {
  return stateJson({ digest: e.digest, stagedId: e.stagedId, at: e.at, by: e.by });
}

const entry: z.ZodType<RejectionEntry> = z.object({ digest: z.string().nullable(), stagedId: z.string(), at: z.string(), by: z.string() });
const FIX = 'fix or remove it (removing it lets rejected deprovisions be planned again)';
const fileShape: StateShape<RejectionMap> = { schema: z.record(z.string(), z.record(z.string(), entry)), what: 'a map of targets to rejections by source key', fix: FIX };
const valueShape: StateShape<RejectionEntry> = { schema: entry, what: 'a rejection (digest, stagedId, at, by)', fix: 'delete that field (its deprovision may then be planned again)' };

export class FileRejectionStore implements RejectionStore {
  private readonly file: string;

  constructor(stateDir: string) {
    this.file = join(stateDir, 'rejections.json');
  }

  async all(): Promise<RejectionMap> {
    return readStateFile(this.file, fileShape, {});
  }

  async add(entries: readonly RejectionRef[]): Promise<void> {
    const all = await this.all();
    for (const { target, key, entry } of entries) (all[target] ??= {})[key] = entry;
    await this.write(all);
  }

  async forget(entries: readonly RejectionRef[]): Promise<void> {
    const all = await this.all();
    let changed = false;
    for (const { target, key, entry } of entries) {
      const now = all[target]?.[key];
      if (!now || entryJson(now) !== entryJson(entry)) continue;
      delete all[target]![key];
      if (Object.keys(all[target]!).length === 0) delete all[target];
      changed = true;
    }
    if (changed) await this.write(all);
  }

  private async write(all: RejectionMap): Promise<void> {
    try {
      await writeFileAtomic(this.file, stateJson(all, 2));
    } catch (error) {
      throw new StateError(`cannot write ${this.file}: ${explainCode(error)}`, {}, { cause: error });
    }
  }
}

export class RedisRejectionStore implements RejectionStore {
  private readonly key: string;

  /** `redis` stays owned by the caller. */
  constructor(private readonly redis: Redis, prefix: string) {
    this.key = redisKeys(prefix).rejections;
  }

  async all(): Promise<RejectionMap> {
    const out: RejectionMap = {};
    for (const [field, json] of Object.entries(await this.redis.hgetall(this.key))) {
      const cut = field.indexOf('\n');
      const where = `${this.key} (${JSON.stringify(field)})`;
      if (cut < 0) throw new StateError(`${where} is damaged (not '<target>\\n<source key>'): ${valueShape.fix}`);
      (out[field.slice(0, cut)] ??= {})[field.slice(cut + 1)] = parseStateJson(json, where, valueShape);
    }
    return out;
  }

  async add(entries: readonly RejectionRef[]): Promise<void> {
    if (entries.length === 0) return;
    await this.redis.hset(this.key, Object.fromEntries(entries.map(({ target, key, entry }) => [`${target}\n${key}`, entryJson(entry)])));
  }

  async forget(entries: readonly RejectionRef[]): Promise<void> {
    await hdelIfUnchanged(this.redis, this.key, entries.map(({ target, key, entry }) => [`${target}\n${key}`, entryJson(entry)]));
  }
}

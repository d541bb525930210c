/**
 * Rejected deprovisions (`scim-sync reject`), kept out of later plans while the person's source
 * record is what it was when the set was staged (planning/rejections.ts decides). In the state
 * directory (embedded mode: `rejections.json`, target -> source key -> entry, written atomically,
 * 0600, under the run lock), or in one Redis hash (distributed mode, redis-keys.ts: field
 * '<target>\n<source key>', value the entry's JSON), read by every machine's cycles.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { redact } from '../config/secret.js';
import { StateError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { hdelIfUnchanged } from './redis-hash.js';
import { redisKeys } from './redis-keys.js';
import { explainCode } from './state-dir.js';

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
  return redact(JSON.stringify({ digest: e.digest, stagedId: e.stagedId, at: e.at, by: e.by }));
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function isEntry(v: unknown): v is RejectionEntry {
  return isMap(v) && (typeof v['digest'] === 'string' || v['digest'] === null) && typeof v['stagedId'] === 'string' && typeof v['at'] === 'string' && typeof v['by'] === 'string';
}

export class FileRejectionStore implements RejectionStore {
  private readonly file: string;

  constructor(stateDir: string) {
    this.file = join(stateDir, 'rejections.json');
  }

  async all(): Promise<RejectionMap> {
    const file = this.file;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new StateError(`cannot read ${file}: ${explainCode(error)}`, {}, { cause: error });
    }
    const damaged = (why: string, cause?: unknown) =>
      new StateError(`${file} is damaged (${why}): fix or remove it (removing it lets rejected deprovisions be planned again)`, {}, cause === undefined ? undefined : { cause });
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw damaged((error as Error).message, error);
    }
    if (!isMap(data) || !Object.values(data).every(isMap)) throw damaged('not a map of targets to rejections');
    return data as RejectionMap;
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
      await writeFileAtomic(this.file, redact(JSON.stringify(all, null, 2)));
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
      let entry: unknown;
      try {
        entry = JSON.parse(json);
      } catch {
        entry = undefined;
      }
      if (cut < 0 || !isEntry(entry)) throw new StateError(`${this.key} holds a damaged rejection (${JSON.stringify(field)}): delete that field, and its deprovision may be planned again`);
      (out[field.slice(0, cut)] ??= {})[field.slice(cut + 1)] = entry;
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

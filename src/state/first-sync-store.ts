/**
 * The targets whose first sync began and has not completed: `first-syncs.json` in the state
 * directory (embedded mode), or one Redis hash (distributed mode, redis-keys.ts), field target,
 * value the entry's JSON. Recorded before the first write to a target with no managed users, and
 * dropped once a cycle for it leaves it nothing to do (engine/first-sync.ts says exactly when); the
 * create check judges a recorded target as a first sync (planning/safety.ts). No record, as a state
 * from an earlier version has none, is a first sync completed.
 */
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import * as z from 'zod';
import { StateError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { redisKeys } from './redis-keys.js';
import { ensureStateDir, explainCode } from './state-dir.js';
import { parseStateJson, readStateFile, stateJson, type StateShape } from './state-json.js';

export interface FirstSyncEntry {
  target: string;
  /** ISO time of the first write of that first sync. */
  since: string;
  /** The plan that began it. */
  planId: string;
  /**
   * Accounts that plan set out to give (created, re-activated, taken over): its rest is what a later
   * run may create unjudged; beyond it, the create check judges as ever.
   */
  accounts: number;
}

export interface FirstSyncStore {
  /** Every target whose first sync is unfinished. */
  all(): Promise<Map<string, FirstSyncEntry>>;
  /** Records a first sync begun; false when one was already recorded, which is kept (it says when the first one began). */
  begin(entry: FirstSyncEntry): Promise<boolean>;
  /** The first sync of `target` is complete; false when none was recorded. */
  complete(target: string): Promise<boolean>;
}

const entry: z.ZodType<FirstSyncEntry> = z.object({ target: z.string(), since: z.string(), planId: z.string(), accounts: z.number().int().nonnegative() });
const fileShape: StateShape<{ targets?: Record<string, FirstSyncEntry> }> = {
  schema: z.object({ version: z.literal(1).optional(), targets: z.record(z.string(), entry).optional() }),
  what: 'a file of unfinished first syncs',
  fix: 'fix or remove it (removing it judges every target as one whose first sync is complete)',
};
const valueShape: StateShape<FirstSyncEntry> = { schema: entry, what: 'an unfinished first sync', fix: 'delete that field (its target is then judged as one whose first sync is complete)' };

export class FileFirstSyncStore implements FirstSyncStore {
  private readonly file: string;

  constructor(private readonly dir: string) {
    this.file = join(dir, 'first-syncs.json');
  }

  async all(): Promise<Map<string, FirstSyncEntry>> {
    return new Map(Object.entries((await readStateFile(this.file, fileShape, {})).targets ?? {}));
  }

  async begin(entry: FirstSyncEntry): Promise<boolean> {
    const all = await this.all();
    if (all.has(entry.target)) return false;
    all.set(entry.target, entry);
    await this.write(all);
    return true;
  }

  async complete(target: string): Promise<boolean> {
    const all = await this.all();
    if (!all.delete(target)) return false;
    await this.write(all);
    return true;
  }

  private async write(all: Map<string, FirstSyncEntry>): Promise<void> {
    ensureStateDir(this.dir);
    try {
      await writeFileAtomic(this.file, `${stateJson({ version: 1, targets: Object.fromEntries(all) }, 2)}\n`);
    } catch (error) {
      throw new StateError(`cannot write ${this.file}: ${explainCode(error)}`, {}, { cause: error });
    }
  }
}

export class RedisFirstSyncStore implements FirstSyncStore {
  private readonly key: string;

  /** `redis` stays owned by the caller. */
  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.key = redisKeys(prefix).firstSyncs;
  }

  async all(): Promise<Map<string, FirstSyncEntry>> {
    const fields = await this.redis.hgetall(this.key);
    return new Map(Object.entries(fields).map(([name, json]) => [name, parseStateJson(json, `${this.key} (target ${name})`, valueShape)]));
  }

  async begin(entry: FirstSyncEntry): Promise<boolean> {
    return (await this.redis.hsetnx(this.key, entry.target, stateJson(entry))) === 1;
  }

  async complete(target: string): Promise<boolean> {
    return (await this.redis.hdel(this.key, target)) > 0;
  }
}

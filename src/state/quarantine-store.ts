/**
 * Where quarantined targets are kept: `quarantine.json` in the state directory (embedded mode), or
 * one Redis hash (distributed mode, redis-keys.ts), field target, value the entry's JSON. The
 * decisions are made in engine/quarantine.ts; this only keeps them.
 */
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import * as z from 'zod';
import { StateError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { redisKeys } from './redis-keys.js';
import { ensureStateDir, explainCode } from './state-dir.js';
import { parseStateJson, readStateFile, stateJson, type StateShape } from './state-json.js';

export interface QuarantineEntry {
  target: string;
  /** ISO time it was quarantined. */
  since: string;
  /** Why (the credential refused, the share of failures), as the report said it: no secret. */
  reason: string;
  /** Cycles that failed since it was quarantined, the first included: picks the next backoff. */
  attempts: number;
  /** ISO time from which the next cycle tries it again. */
  nextTry: string;
}

export interface QuarantineStore {
  /** Every quarantined target. */
  all(): Promise<Map<string, QuarantineEntry>>;
  set(entry: QuarantineEntry): Promise<void>;
  /** Lifts the target's quarantine; false when it was not quarantined. */
  lift(target: string): Promise<boolean>;
}

const entry: z.ZodType<QuarantineEntry> = z.object({ target: z.string(), since: z.string(), reason: z.string(), attempts: z.number().int(), nextTry: z.string() });
const fileShape: StateShape<{ targets?: Record<string, QuarantineEntry> }> = {
  schema: z.object({ version: z.literal(1).optional(), targets: z.record(z.string(), entry).optional() }),
  what: 'a quarantine file',
  fix: 'fix or remove it (removing it lifts every quarantine)',
};
const valueShape: StateShape<QuarantineEntry> = { schema: entry, what: 'a quarantine entry', fix: 'delete that field (its target is then no longer quarantined)' };

export class FileQuarantineStore implements QuarantineStore {
  private readonly file: string;

  constructor(private readonly dir: string) {
    this.file = join(dir, 'quarantine.json');
  }

  async all(): Promise<Map<string, QuarantineEntry>> {
    return new Map(Object.entries((await readStateFile(this.file, fileShape, {})).targets ?? {}));
  }

  async set(entry: QuarantineEntry): Promise<void> {
    const all = await this.all();
    all.set(entry.target, entry);
    await this.write(all);
  }

  async lift(target: string): Promise<boolean> {
    const all = await this.all();
    if (!all.delete(target)) return false;
    await this.write(all);
    return true;
  }

  private async write(all: Map<string, QuarantineEntry>): Promise<void> {
    ensureStateDir(this.dir);
    try {
      await writeFileAtomic(this.file, `${stateJson({ version: 1, targets: Object.fromEntries(all) }, 2)}\n`);
    } catch (error) {
      throw new StateError(`cannot write ${this.file}: ${explainCode(error)}`, {}, { cause: error });
    }
  }
}

export class RedisQuarantineStore implements QuarantineStore {
  private readonly key: string;

  /** `redis` stays owned by the caller. */
  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.key = redisKeys(prefix).quarantine;
  }

  async all(): Promise<Map<string, QuarantineEntry>> {
    const fields = await this.redis.hgetall(this.key);
    return new Map(Object.entries(fields).map(([name, json]) => [name, parseStateJson(json, `${this.key} (target ${name})`, valueShape)]));
  }

  async set(entry: QuarantineEntry): Promise<void> {
    await this.redis.hset(this.key, entry.target, stateJson(entry));
  }

  async lift(target: string): Promise<boolean> {
    return (await this.redis.hdel(this.key, target)) > 0;
  }
}

/**
 * Where quarantined targets are kept: `quarantine.json` in the state directory (embedded mode), or
 * one Redis hash (distributed mode, redis-keys.ts), field target, value the entry's JSON. The
 * decisions are made in engine/quarantine.ts; this only keeps them.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { StateError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { parseJsonHash } from './json-hash.js';
import { redisKeys } from './redis-keys.js';
import { ensureStateDir, explainCode } from './state-dir.js';

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

function parseEntry(where: string, value: unknown): QuarantineEntry {
  const e = value as QuarantineEntry;
  if (e && typeof e.target === 'string' && typeof e.since === 'string' && typeof e.reason === 'string' && Number.isInteger(e.attempts) && typeof e.nextTry === 'string') return e;
  throw new StateError(`${where} holds a damaged quarantine entry; remove it with scim-sync unquarantine`);
}

export class FileQuarantineStore implements QuarantineStore {
  private readonly file: string;

  constructor(private readonly dir: string) {
    this.file = join(dir, 'quarantine.json');
  }

  async all(): Promise<Map<string, QuarantineEntry>> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw new StateError(`cannot read ${this.file}: ${explainCode(error)}`, {}, { cause: error });
    }
    let data: { targets?: Record<string, unknown> };
    try {
      data = JSON.parse(text) as typeof data;
    } catch (error) {
      throw new StateError(`${this.file} is not valid JSON: ${(error as Error).message}`, {}, { cause: error });
    }
    const targets = (data as { targets?: unknown } | null)?.targets ?? {};
    if (typeof data !== 'object' || data === null || Array.isArray(data) || typeof targets !== 'object' || targets === null || Array.isArray(targets)) {
      throw new StateError(`${this.file} is damaged (not a quarantine file): fix or remove it (removing it lifts every quarantine)`);
    }
    return new Map(Object.entries(targets).map(([name, e]) => [name, parseEntry(`${this.file} (target ${name})`, e)]));
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
      await writeFileAtomic(this.file, `${JSON.stringify({ version: 1, targets: Object.fromEntries(all) }, null, 2)}\n`);
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
    return parseJsonHash(await this.redis.hgetall(this.key), (name, value) => parseEntry(`${this.key} (target ${name})`, value));
  }

  async set(entry: QuarantineEntry): Promise<void> {
    await this.redis.hset(this.key, entry.target, JSON.stringify(entry));
  }

  async lift(target: string): Promise<boolean> {
    return (await this.redis.hdel(this.key, target)) > 0;
  }
}

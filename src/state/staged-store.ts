/**
 * Staged change sets: the deprovisions a safety stop held, kept for `approve` or `reject`. In the
 * state directory (embedded mode: `staged/ID.json`, one file per set, written atomically, 0600),
 * or in one Redis hash (distributed mode, redis-keys.ts: field id, value the set's JSON), so a set
 * staged by a cycle on one machine is approved or rejected from any other. A set holds a plan with
 * its binding and preconditions, so `approve` checks it like a saved plan (engine/review-staged.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { PlanError, StateError, describeError } from '../errors.js';
import type { Plan } from '../model/plan.js';
import { planSchema } from '../model/plan-schema.js';
import { writeFileAtomic } from './atomic-write.js';
import { redisKeys } from './redis-keys.js';
import { explainCode } from './state-dir.js';
import { parseStateJson, readStateFile, stateJson, type StateShape } from './state-json.js';

const FORMAT = 'scim-sync-staged';
/** Ids are short enough to type and can name nothing outside the staged folder. */
const ID = /^st-[0-9a-f]{8}$/;

export interface StagedSet {
  format: typeof FORMAT;
  version: 1;
  id: string;
  createdAt: string;
  /** Why the safety check stopped the run. */
  reasons: string[];
  /** The stopped plan's person deprovisions: its id, binding and preconditions. */
  plan: Plan;
}

export interface StagedStore {
  /** Saves the plan as a new set under a fresh id. */
  save(plan: Plan, reasons: readonly string[], now?: Date): Promise<StagedSet>;
  /** The set, and where it is kept (for messages); a PlanError when there is no such set. */
  get(id: string): Promise<{ set: StagedSet; where: string }>;
  /** Every set, oldest first. */
  list(): Promise<StagedSet[]>;
  /**
   * Removes the set and hands it over, in one step: of an approve and a reject (or two approves)
   * racing, from one console or two machines, one takes it and the other finds no set. A PlanError
   * when there is none.
   */
  take(id: string): Promise<StagedSet>;
  /** Puts a taken set back, as it was (an approve that could not settle all of it). */
  restore(set: StagedSet): Promise<void>;
}

const gone = (id: string, where: string) => new PlanError(`no staged set ${id} in ${where} (approved or rejected meanwhile?): scim-sync staged lists them`);

function newSet(plan: Plan, reasons: readonly string[], now: Date): StagedSet {
  return { format: FORMAT, version: 1, id: `st-${randomBytes(4).toString('hex')}`, createdAt: now.toISOString(), reasons: [...reasons], plan };
}

function checkId(id: string): void {
  if (!ID.test(id)) throw new PlanError(`${id} is not a staged set id (st- and 8 hex digits): scim-sync staged lists them`);
}

const shape: StateShape<StagedSet> = {
  schema: z.object({ format: z.literal(FORMAT), version: z.literal(1), id: z.string(), createdAt: z.string(), reasons: z.array(z.string()), plan: planSchema }),
  what: 'a staged set',
  fix: 'remove it; the next safety stop on the same deprovisions stages afresh',
};

const byAge = (sets: StagedSet[]) => sets.sort((a, b) => a.createdAt.localeCompare(b.createdAt));

export class FileStagedStore implements StagedStore {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'staged');
  }

  private file(id: string): string {
    return join(this.dir, `${id}.json`);
  }

  async save(plan: Plan, reasons: readonly string[], now = new Date()): Promise<StagedSet> {
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new StateError(`cannot create ${this.dir}: ${explainCode(error)}`, {}, { cause: error });
    }
    const set = newSet(plan, reasons, now);
    await this.write(set);
    return set;
  }

  private async write(set: StagedSet): Promise<void> {
    const file = this.file(set.id);
    try {
      await writeFileAtomic(file, stateJson(set, 2));
    } catch (error) {
      throw new StateError(`cannot write ${file}: ${explainCode(error)}`, {}, { cause: error });
    }
  }

  async get(id: string): Promise<{ set: StagedSet; where: string }> {
    checkId(id);
    const file = this.file(id);
    const set = await readStateFile(file, shape, null);
    if (!set) throw new PlanError(`no staged set ${id} in ${this.dir}: scim-sync staged lists them`);
    return { set, where: file };
  }

  async list(): Promise<StagedSet[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new StateError(`cannot read ${this.dir}: ${explainCode(error)}`, {}, { cause: error });
    }
    const ids = names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)).filter((id) => ID.test(id));
    return byAge(await Promise.all(ids.map(async (id) => (await this.get(id)).set)));
  }

  async take(id: string): Promise<StagedSet> {
    const { set } = await this.get(id);
    // The rename is the claim: of two processes taking the set, one renames it, the other finds no file.
    const file = this.file(id);
    const taken = `${file}.taken-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await rename(file, taken);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw gone(id, this.dir);
      throw new StateError(`cannot take ${file}: ${explainCode(error)}`, {}, { cause: error });
    }
    try {
      await unlink(taken);
    } catch (error) {
      throw new StateError(`cannot remove ${taken}: ${explainCode(error)}`, {}, { cause: error });
    }
    return set;
  }

  restore(set: StagedSet): Promise<void> {
    return this.write(set);
  }
}

export class RedisStagedStore implements StagedStore {
  private readonly key: string;

  /** `redis` stays owned by the caller. */
  constructor(private readonly redis: Redis, prefix: string) {
    this.key = redisKeys(prefix).staged;
  }

  async save(plan: Plan, reasons: readonly string[], now = new Date()): Promise<StagedSet> {
    const set = newSet(plan, reasons, now);
    await this.redis.hset(this.key, set.id, stateJson(set, 2));
    return set;
  }

  async get(id: string): Promise<{ set: StagedSet; where: string }> {
    checkId(id);
    const where = `${this.key} (set ${id})`;
    const text = await this.redis.hget(this.key, id);
    if (text === null) throw new PlanError(`no staged set ${id} in ${this.key}: scim-sync staged lists them`);
    return { set: parseStateJson(text, where, shape), where };
  }

  async list(): Promise<StagedSet[]> {
    const fields = await this.redis.hgetall(this.key);
    return byAge(Object.entries(fields).map(([id, text]) => parseStateJson(text, `${this.key} (set ${id})`, shape)));
  }

  async take(id: string): Promise<StagedSet> {
    checkId(id);
    const where = `${this.key} (set ${id})`;
    // Read and removed in one transaction: of two takers, the second reads nothing.
    const answers = await this.redis.multi().hget(this.key, id).hdel(this.key, id).exec();
    const [read] = answers ?? [];
    if (!read || read[0]) throw new StateError(`cannot take ${where}: ${describeError(read?.[0] ?? 'the transaction was discarded')}`);
    const text = read[1] as string | null;
    if (text === null) throw gone(id, this.key);
    return parseStateJson(text, where, shape);
  }

  async restore(set: StagedSet): Promise<void> {
    await this.redis.hset(this.key, set.id, stateJson(set, 2));
  }
}

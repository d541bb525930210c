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
  take(id: string): Promise<StagedClaim>;
}

/**
 * A set taken for a decision. It is kept aside, not deleted, until the decision is carried out:
 * an approve that fails, even for want of disk space, can always put it back.
 */
export interface StagedClaim {
  readonly set: StagedSet;
  /** The decision is carried out: the set is gone for good. */
  done(): Promise<void>;
  /**
   * Back on the list, to decide again: `rest` when only part of it is left to decide (what was
   * applied is not offered again), else as it was. Should `rest` not be written, the whole set
   * goes back.
   */
  putBack(rest?: StagedSet): Promise<void>;
}

const wholeBack = (id: string, why: string) =>
  new StateError(`staged set ${id} is back whole: the part left to decide could not be written (${why}); what was applied is in it again, and reads as already in place when approved`);

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

  async take(id: string): Promise<StagedClaim> {
    const { set } = await this.get(id);
    // The rename is the claim: of two processes taking the set, one renames it, the other finds no
    // file. The taken file stays until the decision is done (a crash leaves it there, not listed).
    const file = this.file(id);
    const taken = `${file}.taken-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await rename(file, taken);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw gone(id, this.dir);
      throw new StateError(`cannot take ${file}: ${explainCode(error)}`, {}, { cause: error });
    }
    const back = async (): Promise<void> => {
      try {
        await rename(taken, file);
      } catch (error) {
        throw new StateError(`cannot put staged set ${id} back (${taken} -> ${file}): ${explainCode(error)}`, {}, { cause: error });
      }
    };
    return {
      set,
      done: async () => {
        try {
          await unlink(taken);
        } catch (error) {
          throw new StateError(`cannot remove ${taken}: ${explainCode(error)}`, {}, { cause: error });
        }
      },
      putBack: async (rest) => {
        // The part left is written over the taken copy first: a rename needs no free space, a write does.
        let partial: unknown;
        if (rest) await writeFileAtomic(taken, stateJson(rest, 2)).catch((error: unknown) => (partial = error));
        await back();
        if (partial !== undefined) throw wholeBack(id, explainCode(partial));
      },
    };
  }
}

/** KEYS: the sets, the taken sets; ARGV: the id. The set's JSON, moved aside, or nil. */
const TAKE = `local v = redis.call('HGET', KEYS[1], ARGV[1])
if v then redis.call('HDEL', KEYS[1], ARGV[1]); redis.call('HSET', KEYS[2], ARGV[1], v) end
return v`;

export class RedisStagedStore implements StagedStore {
  private readonly key: string;

  /** Sets taken for a decision not yet carried out. */
  private readonly taken: string;

  /** `redis` stays owned by the caller. */
  constructor(private readonly redis: Redis, prefix: string) {
    this.key = redisKeys(prefix).staged;
    this.taken = `${this.key}:taken`;
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

  async take(id: string): Promise<StagedClaim> {
    checkId(id);
    const where = `${this.key} (set ${id})`;
    // Read first: a set that does not parse stays listed, named in the error, rather than moved aside.
    const current = await this.redis.hget(this.key, id);
    if (current === null) throw gone(id, this.key);
    parseStateJson(current, where, shape);
    // Moved to the taken hash in one script (atomic): of two takers, the second reads nothing.
    const text = (await this.redis.eval(TAKE, 2, this.key, this.taken, id)) as string | null;
    if (text === null) throw gone(id, this.key);
    // What was moved, which another approve may have cut to its undecided part in between.
    let set: StagedSet;
    try {
      set = parseStateJson(text, where, shape);
    } catch (error) {
      await this.redis.multi().hset(this.key, id, text).hdel(this.taken, id).exec();
      throw error;
    }
    return {
      set,
      done: async () => {
        await this.redis.hdel(this.taken, id);
      },
      putBack: async (rest) => {
        await this.redis.multi().hset(this.key, id, rest ? stateJson(rest, 2) : text).hdel(this.taken, id).exec();
      },
    };
  }
}

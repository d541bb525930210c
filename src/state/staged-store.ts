/**
 * Staged change sets: the deprovisions a safety stop held, kept for `approve` or `reject`. In the
 * state directory (embedded mode: `staged/ID.json`, one file per set, written atomically, 0600),
 * or in one Redis hash (distributed mode, redis-keys.ts: field id, value the set's JSON), so a set
 * staged by a cycle on one machine is approved or rejected from any other. A set holds a plan with
 * its binding and preconditions, so `approve` checks it like a saved plan (engine/review-staged.ts).
 *
 * A set taken for a decision is kept aside with its taker (holder.ts: pid, host, start time, PID
 * namespace and boot, when)
 * and a heartbeat the taker refreshes while it decides. Should the taker die before the decision
 * is carried out (SIGKILL, OOM, a reboot), the set would stay aside, listed nowhere: `taken` lists
 * these sets, and `recover` puts one whose taker is gone (holder.ts's rule, the run lock's) back
 * on the list (engine/staged-sets.ts decides when, and records it).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import * as z from 'zod';
import { PlanError, StateError, asked, describeError, quoting } from '../errors.js';
import type { Plan } from '../model/plan.js';
import { planSchema } from '../model/plan-schema.js';
import { writeFileAtomic } from './atomic-write.js';
import { HEARTBEAT_MS, STALE_AFTER_MS, describeHolder, holding, judgeHolder, newHolder, ourPidSpace, type Holder, type HolderState } from './holder.js';
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
   * when there is none, or it is taken (saying by whom). The claim keeps the taker's heartbeat until
   * it is done or put back.
   */
  take(id: string): Promise<StagedClaim>;
  /** Every set taken for a decision not carried out yet, oldest first, with its taker and whether that taker is gone. */
  taken(): Promise<TakenSet[]>;
  /**
   * Puts a set whose taker is gone back on the list, as it was taken. False when it is no longer as
   * `taken` saw it (decided, put back, or recovered by another process meanwhile; in Redis, also a
   * heartbeat since): then nothing is done.
   */
  recover(taken: TakenSet): Promise<boolean>;
}

/** A set taken for a decision not carried out yet, as `StagedStore.taken` sees it. */
export interface TakenSet {
  readonly set: StagedSet;
  /**
   * Who took it. `legacy`: an earlier version took it, which recorded only its pid in the file's
   * name (assumed to be this host's; `since` is '') or nothing in Redis (`pid` 0, `host` '',
   * `since` when this version first saw it taken, which it counts as the heartbeat).
   */
  readonly taker: Holder & { legacy?: true };
  readonly heartbeatAgeMs: number;
  /** The taker judged by holder.ts's rule: `gone` lets `recover` put the set back. */
  readonly state: HolderState;
  /** Where it is kept aside, for `recover`: the taken file, or in Redis the taker's record as read. */
  readonly ref: string;
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

const gone = (id: string, where: string) => new PlanError(quoting`no staged set ${asked(id)} in ${where} (approved or rejected meanwhile?): scim-sync staged lists them`);

/** "pid 42 on this host since …, last heartbeat 12 s ago", or what is known of an earlier version's taker. */
export function describeTaker(t: Pick<TakenSet, 'taker' | 'heartbeatAgeMs'>): string {
  if (!t.taker.legacy) return describeHolder(t.taker, t.heartbeatAgeMs);
  return t.taker.pid > 0 ? `pid ${t.taker.pid} (an earlier version, which recorded no more)` : `an earlier version, which recorded no taker (first seen taken ${Math.round(t.heartbeatAgeMs / 1000)} s ago)`;
}

/** The error for a set that is not on the list because it is taken: its taker is deciding, or gone and not yet recovered. */
function takenError(t: TakenSet): PlanError {
  const id = t.set.id;
  return t.state.gone
    ? new PlanError(quoting`staged set ${asked(id)} was taken for a decision by ${describeTaker(t)}, which is gone: scim-sync staged puts it back on the list`)
    : new PlanError(quoting`staged set ${asked(id)} is taken by ${describeTaker(t)}: an approve or reject of it is under way (scim-sync staged shows it)`);
}

/**
 * A taker finds its taken copy recovered: judged gone (no heartbeat for STALE_AFTER_MS, a process
 * frozen that long), it was put back on the list while the decision ran.
 */
const recoveredMeanwhile = (id: string, since = 'it is listed again; approved again, what this decision applied reads as already in place') =>
  new StateError(`staged set ${id} was put back on the list while this decision ran, its taker judged gone (no heartbeat for ${STALE_AFTER_MS / 60_000} minutes): ${since}`);

export interface StagedStoreOptions {
  /** How often a taker refreshes its heartbeat, ms; default HEARTBEAT_MS (a minute). */
  heartbeatMs?: number;
}

/** Refreshes a claim's heartbeat every `everyMs` until stopped; `beat` failing is left to the next beat. */
function heartbeat(token: string, everyMs: number, beat: () => Promise<unknown>): () => void {
  holding(token, true);
  const timer = setInterval(() => void beat().catch(() => undefined), everyMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    holding(token, false);
  };
}

function newSet(plan: Plan, reasons: readonly string[], now: Date): StagedSet {
  return { format: FORMAT, version: 1, id: `st-${randomBytes(4).toString('hex')}`, createdAt: now.toISOString(), reasons: [...reasons], plan };
}

function checkId(id: string): void {
  if (!ID.test(id)) throw new PlanError(quoting`${asked(id)} is not a staged set id (st- and 8 hex digits): scim-sync staged lists them`);
}

const shape: StateShape<StagedSet> = {
  schema: z.object({ format: z.literal(FORMAT), version: z.literal(1), id: z.string(), createdAt: z.string(), reasons: z.array(z.string()), plan: planSchema }),
  what: 'a staged set',
  fix: 'remove it; the next safety stop on the same deprovisions stages afresh',
};

const byAge = (sets: StagedSet[]) => sets.sort((a, b) => a.createdAt.localeCompare(b.createdAt));

/**
 * A taken file's name: `ID.json.taken-<pid>-<token>-<start>-<since, ms>-<host, hex>-<PID namespace's
 * inode>-<boot id, hex>`, so the rename that takes the set records its taker in the same step (at
 * most about 240 bytes); earlier versions' ended after the host, or after the token. Its mtime is
 * the taker's heartbeat.
 */
const TAKEN = /^(st-[0-9a-f]{8})\.json\.taken-(\d+)-([0-9a-f]{8})(?:-(\d*)-(\d+)-([0-9a-f]*)(?:-(\d*)-([0-9a-f]*))?)?$/;
/** The bytes of a hostname a taken file's name keeps: a longer name reads as another host's (the heartbeat then decides). */
const HOST_BYTES = 64;
/** `pid:[4026531836]`, as readlink gives a PID namespace: its inode goes in the name. */
const PIDNS = /^pid:\[(\d+)\]$/;
const UUID_PARTS = /^([0-9a-f]{8})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{12})$/;

function takenName(id: string, h: Holder): string {
  const space = `${PIDNS.exec(h.pidns ?? '')?.[1] ?? ''}-${h.boot && UUID_PARTS.test(h.boot.replace(/-/g, '')) ? h.boot.replace(/-/g, '') : ''}`;
  return `${id}.json.taken-${h.pid}-${h.token}-${h.start ?? ''}-${Date.parse(h.since)}-${Buffer.from(h.host).subarray(0, HOST_BYTES).toString('hex')}-${space}`;
}

function takerOf(name: string): { id: string; taker: TakenSet['taker'] } | null {
  const m = TAKEN.exec(name);
  if (!m) return null;
  const [, id, pid, token, start, since, host, pidns, boot] = m as unknown as [string, string, string, string, string | undefined, string | undefined, string | undefined, string | undefined, string | undefined];
  // An earlier version's: only the pid, of the host (and PID space) that took it, as that version assumed.
  if (since === undefined) return { id, taker: { pid: Number(pid), host: hostname(), since: '', token, legacy: true, ...ourPidSpace() } };
  const space = { ...(pidns ? { pidns: `pid:[${pidns}]` } : {}), ...(boot ? { boot: boot.replace(UUID_PARTS, '$1-$2-$3-$4-$5') } : {}) };
  return { id, taker: { pid: Number(pid), host: Buffer.from(host!, 'hex').toString(), since: new Date(Number(since)).toISOString(), token, ...(start ? { start } : {}), ...space } };
}

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT';


export class FileStagedStore implements StagedStore {
  private readonly dir: string;

  constructor(stateDir: string, private readonly options: StagedStoreOptions = {}) {
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
    if (set) return { set, where: file };
    const taken = (await this.taken()).find((t) => t.set.id === id);
    throw taken ? takenError(taken) : new PlanError(quoting`no staged set ${asked(id)} in ${this.dir}: scim-sync staged lists them`);
  }

  private async names(): Promise<string[]> {
    try {
      return await readdir(this.dir);
    } catch (error) {
      if (isMissing(error)) return [];
      throw new StateError(`cannot read ${this.dir}: ${explainCode(error)}`, {}, { cause: error });
    }
  }

  async list(): Promise<StagedSet[]> {
    const ids = (await this.names()).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)).filter((id) => ID.test(id));
    return byAge(await Promise.all(ids.map(async (id) => (await this.get(id)).set)));
  }

  async taken(): Promise<TakenSet[]> {
    const found: TakenSet[] = [];
    for (const name of await this.names()) {
      const taken = takerOf(name);
      if (!taken) continue;
      const ref = join(this.dir, name);
      let mtimeMs: number;
      try {
        mtimeMs = (await stat(ref)).mtimeMs;
      } catch (error) {
        if (isMissing(error)) continue; // decided or put back meanwhile
        throw new StateError(`cannot read ${ref}: ${explainCode(error)}`, {}, { cause: error });
      }
      const set = await readStateFile(ref, shape, null);
      if (!set) continue;
      const heartbeatAgeMs = Math.max(0, Date.now() - mtimeMs);
      found.push({ set, taker: taken.taker, heartbeatAgeMs, state: judgeHolder(taken.taker, heartbeatAgeMs), ref });
    }
    return found.sort((a, b) => a.set.createdAt.localeCompare(b.set.createdAt));
  }

  async recover(taken: TakenSet): Promise<boolean> {
    // The taker is in the name: a file still there under it is still as `taken` saw it, and of two
    // processes recovering it, one renames it and the other finds no file.
    const file = this.file(taken.set.id);
    try {
      await rename(taken.ref, file);
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw new StateError(`cannot put staged set ${taken.set.id} back (${taken.ref} -> ${file}): ${explainCode(error)}`, {}, { cause: error });
    }
  }

  async take(id: string): Promise<StagedClaim> {
    const { set } = await this.get(id);
    // The rename is the claim: of two processes taking the set, one renames it, the other finds no
    // file. The taken file stays until the decision is done; should its taker die first, the name
    // says who it was, for `recover`.
    const file = this.file(id);
    const me = newHolder(4);
    const taken = join(this.dir, takenName(id, me));
    try {
      await rename(file, taken);
    } catch (error) {
      if (isMissing(error)) throw gone(id, this.dir);
      throw new StateError(`cannot take ${file}: ${explainCode(error)}`, {}, { cause: error });
    }
    const touch = () => {
      const now = new Date();
      return utimes(taken, now, now);
    };
    // The heartbeat starts at the take (the file's mtime was its staging's).
    await touch().catch(() => undefined);
    const stop = heartbeat(me.token, this.options.heartbeatMs ?? HEARTBEAT_MS, touch);
    const back = async (): Promise<void> => {
      try {
        await rename(taken, file);
      } catch (error) {
        if (isMissing(error)) throw recoveredMeanwhile(id);
        throw new StateError(`cannot put staged set ${id} back (${taken} -> ${file}): ${explainCode(error)}`, {}, { cause: error });
      }
    };
    // The heartbeat (and this process's claim to be the live taker) ends once the taken file is
    // gone, never before: in between, a second approve or a recovery reading the file would judge
    // this live process gone (its token no longer held), and say so, or put the set back.
    return {
      set,
      done: async () => {
        try {
          await unlink(taken);
        } catch (error) {
          if (isMissing(error)) throw recoveredMeanwhile(id);
          throw new StateError(`cannot remove ${taken}: ${explainCode(error)}`, {}, { cause: error });
        } finally {
          stop();
        }
      },
      putBack: async (rest) => {
        try {
          // The part left is written over the taken copy first: a rename needs no free space, a write
          // does. Not over a copy recovered meanwhile: the write would make it anew.
          let partial: unknown;
          if (rest) {
            if (await stat(taken).then(() => false, isMissing)) throw recoveredMeanwhile(id);
            await writeFileAtomic(taken, stateJson(rest, 2)).catch((error: unknown) => (partial = error));
          }
          await back();
          if (partial !== undefined) throw wholeBack(id, explainCode(partial));
        } finally {
          stop();
        }
      },
    };
  }
}

/** Redis's clock in ms, as `now`: heartbeats are set and aged by one clock, whichever machine beats. */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * KEYS: the sets, the taken sets, their takers; ARGV: the id, the taker's JSON. Moves the set aside
 * and records its taker with a heartbeat of now; returns the set's JSON, or nil.
 */
const TAKE = `${NOW}local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return false end
local taker = cjson.decode(ARGV[2])
taker['beat'] = now
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], v)
redis.call('HSET', KEYS[3], ARGV[1], cjson.encode(taker))
return v`;

/** Whether the set ARGV[1] is still taken by the taker of token ARGV[2] (KEYS[3]: the takers). */
const OURS = `local raw = redis.call('HGET', KEYS[3], ARGV[1])
local ours = raw and cjson.decode(raw)['token'] == ARGV[2]
`;

/** KEYS: the sets, the taken sets, the takers; ARGV: the id, the token. Refreshes the heartbeat of the taker holding the token. */
const BEAT = `${NOW}${OURS}if not ours then return 0 end
local taker = cjson.decode(raw)
taker['beat'] = now
redis.call('HSET', KEYS[3], ARGV[1], cjson.encode(taker))
return 1`;

/**
 * KEYS as BEAT; ARGV: the id, the token, the set as taken. 1: the taken copy is gone for good. 2:
 * it had been recovered meanwhile and was still listed as taken: gone too. 0: recovered, and taken
 * since by another decision, which holds it now.
 */
const DONE = `${OURS}if ours then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[1])
  return 1
end
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[3] then redis.call('HDEL', KEYS[1], ARGV[1]) return 2 end
return 0`;

/**
 * KEYS as BEAT; ARGV: the id, the token, the set to list. Back on the list, also over a copy recovered
 * meanwhile (what is left is more exact); not when another decision has taken it since (0).
 */
const PUT_BACK = `${OURS}if ours then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[1])
  return 1
end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) return 2 end
return 0`;

/**
 * KEYS: the taken sets, their takers; ARGV: an earlier version's taker JSON. A set an earlier
 * version took (it recorded no taker) gets that taker, first seen now: the heartbeat rule then
 * recovers it STALE_AFTER_MS later. Returns now, the taken sets and their takers.
 */
const SEEN = `${NOW}for _, id in ipairs(redis.call('HKEYS', KEYS[1])) do
  if redis.call('HEXISTS', KEYS[2], id) == 0 then
    local taker = cjson.decode(ARGV[1])
    taker['beat'] = now
    redis.call('HSET', KEYS[2], id, cjson.encode(taker))
  end
end
return {now, redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}`;

/** KEYS: the sets, the taken sets, their takers; ARGV: the id, its taker's record as read. Back on the list if still so taken (1), else 0. */
const RECOVER = `if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[3], ARGV[1])
local v = redis.call('HGET', KEYS[2], ARGV[1])
if not v then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], v)
return 1`;

const takerShape: StateShape<Holder & { beat: number; legacy?: boolean }> = {
  schema: z.object({ pid: z.number(), host: z.string(), since: z.string(), token: z.string(), start: z.string().optional(), pidns: z.string().optional(), boot: z.string().optional(), beat: z.number(), legacy: z.boolean().optional() }),
  what: "a staged set's taker",
  fix: 'remove it; the set it names is then recovered at once',
};

const pairs = (flat: string[]): Map<string, string> => new Map(Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i]!, flat[2 * i + 1]!]));

export class RedisStagedStore implements StagedStore {
  private readonly key: string;

  /** Sets taken for a decision not yet carried out. */
  private readonly takenKey: string;

  /** Who took each of them, with their heartbeat. */
  private readonly takers: string;

  /** `redis` stays owned by the caller. */
  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly options: StagedStoreOptions = {},
  ) {
    const keys = redisKeys(prefix);
    this.key = keys.staged;
    this.takenKey = keys.stagedTaken;
    this.takers = keys.stagedTakers;
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
    if (text !== null) return { set: parseStateJson(text, where, shape), where };
    const taken = (await this.taken()).find((t) => t.set.id === id);
    throw taken ? takenError(taken) : new PlanError(quoting`no staged set ${asked(id)} in ${this.key}: scim-sync staged lists them`);
  }

  async list(): Promise<StagedSet[]> {
    const fields = await this.redis.hgetall(this.key);
    return byAge(Object.entries(fields).map(([id, text]) => parseStateJson(text, `${this.key} (set ${id})`, shape)));
  }

  async taken(): Promise<TakenSet[]> {
    const legacy = JSON.stringify({ pid: 0, host: '', since: '', token: '', legacy: true });
    const [now, sets, takers] = (await this.redis.eval(SEEN, 2, this.takenKey, this.takers, legacy)) as [number, string[], string[]];
    const takerOf = pairs(takers);
    const found: TakenSet[] = [];
    for (const [id, text] of pairs(sets)) {
      const raw = takerOf.get(id);
      if (raw === undefined) continue; // taken after the script read its takers: not possible, the script is atomic
      const { beat, legacy: old, ...taker } = parseStateJson(raw, `${this.takers} (set ${id})`, takerShape);
      const heartbeatAgeMs = Math.max(0, now - beat);
      const by = old ? { ...taker, since: new Date(beat).toISOString(), legacy: true as const } : taker;
      found.push({ set: parseStateJson(text, `${this.takenKey} (set ${id})`, shape), taker: by, heartbeatAgeMs, state: judgeHolder(by, heartbeatAgeMs), ref: raw });
    }
    return found.sort((a, b) => a.set.createdAt.localeCompare(b.set.createdAt));
  }

  async recover(taken: TakenSet): Promise<boolean> {
    // Only if its taker's record is still as read: a heartbeat since, or another take, leaves it be.
    return (await this.redis.eval(RECOVER, 3, this.key, this.takenKey, this.takers, taken.set.id, taken.ref)) === 1;
  }

  async take(id: string): Promise<StagedClaim> {
    // Read first: a set that does not parse stays listed, named in the error, rather than moved aside.
    const { where } = await this.get(id);
    // Moved to the taken hash with its taker in one script (atomic): of two takers, the second reads nothing.
    const me = newHolder();
    const keys = [this.key, this.takenKey, this.takers] as const;
    const text = (await this.redis.eval(TAKE, 3, ...keys, id, JSON.stringify(me))) as string | null;
    if (text === null) throw gone(id, this.key);
    const putBack = (value: string) => this.redis.eval(PUT_BACK, 3, ...keys, id, me.token, value);
    // What was moved, which another approve may have cut to its undecided part in between.
    let set: StagedSet;
    try {
      set = parseStateJson(text, where, shape);
    } catch (error) {
      await putBack(text);
      throw error;
    }
    const stop = heartbeat(me.token, this.options.heartbeatMs ?? HEARTBEAT_MS, () => this.redis.eval(BEAT, 3, ...keys, id, me.token));
    // As in the state directory: the heartbeat ends once the taken copy is gone, not before.
    return {
      set,
      done: async () => {
        try {
          if ((await this.redis.eval(DONE, 3, ...keys, id, me.token, text)) === 0) throw recoveredMeanwhile(id, 'and has been taken for another decision since, which finds what this one applied already in place');
        } finally {
          stop();
        }
      },
      putBack: async (rest) => {
        try {
          await putBack(rest ? stateJson(rest, 2) : text);
        } finally {
          stop();
        }
      },
    };
  }
}

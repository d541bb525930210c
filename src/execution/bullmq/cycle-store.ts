/**
 * A cycle's records in Redis (distributed mode): the plan each target executes, the outcome of each
 * operation, the stop record of a target the cycle sends nothing more to (its credential rejected, a
 * worker's config differing from the planner's, the cycle's lock lost), and the report written when
 * the target's last phase is done. Plan data only: no credential ever goes to Redis.
 */
import type { Redis, Result } from 'ioredis';
import { ConfigError, StateError } from '../../errors.js';
import { redact } from '../../config/secret.js';
import type { Operation, OperationKind, Plan, TargetFingerprint, TargetPlan } from '../../model/plan.js';
import { operationsSchema } from '../../model/plan-schema.js';
import { parseStateJson, stateJson, type StateShape } from '../../state/state-json.js';
import { redisKeys, type RedisKeys } from '../../state/redis-keys.js';
import type { LinkWrite } from '../../state/redis-link-store.js';
import type { ResourceKind } from '../../state/link-store.js';
import type { FailedIdentities, FailedIdentity, RecreateBudget } from '../operation-context.js';
import { RECORD_LETTERS, deadLetterId, deadLetterKey, letterArguments, type LetterChange } from './dead-letters.js';
import { DEFAULT_FAILED_RETENTION_HOURS, type QueueConfig } from '../../config/schema/index.js';
import type { AnyChunkJobData } from './queue-layout.js';
import {
  addNotice,
  count,
  countAdopted,
  countRecreated,
  emptyTargetReport,
  type OperationFailure,
  type OperationSkip,
  type Outcome,
  type TargetReport,
  type TargetStop,
} from '../run-report.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** RECORD_OUTCOMES below, defined on the connection by CycleStore. */
    recordOutcomes(numKeys: number, ...keysAndArgs: string[]): Result<number, Context>;
  }
}

/** KEYS[1]: the target's last cycle; ARGV: this cycle's report, its enqueuedAt, its life ms. Sets it unless the stored one was enqueued later. */
const SET_UNLESS_NEWER = `
local current = redis.call('GET', KEYS[1])
if current then
  local ok, stored = pcall(cjson.decode, current)
  if ok and type(stored) == 'table' and type(stored.enqueuedAt) == 'string' and stored.enqueuedAt > ARGV[2] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1`;

export interface PlanMeta {
  planId: string;
  target: string;
  createdAt: string;
  enqueuedAt: string;
  lockToken: string;
  phases: { name: string; operations: number }[];
  warnings: string[];
  /** The target could not be read when planning: no operations. */
  error?: string;
  /** Set by the service: operations of people decided on a newer read than this (ms) are skipped as superseded. */
  guardedSince?: number;
  /**
   * Where the planner's config points the target and as whom (plan.binding.targets): a worker whose
   * own config differs writes nothing for this cycle (chunk-jobs.ts). Absent in plans stored by an
   * earlier version, which no worker of this one writes for.
   */
  binding?: TargetFingerprint;
  /**
   * How many accounts the workers may create again when an update finds one gone (planning/safety.ts
   * recreateAllowance, by the planner's rules). Absent in plans stored by an earlier version: none.
   */
  recreateAllowance?: number;
  /**
   * Operations per stored part of each phase (the plan's fields `phase:<i>:<k>`), one chunk's: the
   * feed cuts the phase's chunks along them. Absent in plans stored by an earlier version, which kept
   * each phase whole in `phase:<i>` (their chunks hold their operations); 100 in those of the version
   * that first stored parts.
   */
  partOps?: number;
}

export interface OutcomeEntry {
  kind: OperationKind;
  outcome: Outcome;
  failure?: OperationFailure;
  /** Skipped or done in part because something it needs does not exist. */
  skip?: OperationSkip;
  /** Done by taking over an account already there (TargetReport.adopted). */
  adopted?: true;
  /** An update done by making its gone account again (TargetReport.recreated). */
  recreated?: true;
  /** For the admin: PATCH shapes learned, changes parked (TargetReport.notices). */
  notices?: string[];
}

export interface CycleReport {
  planId: string;
  target: string;
  enqueuedAt: string;
  finishedAt: string;
  report: TargetReport;
  warnings: string[];
  error?: string;
}

/** Why an operation has no outcome, when known: the chunk job BullMQ failed with it, and its attempts. */
export interface MissingWhy {
  reason: string;
  job: string;
  attempts: number;
}

/** Operations whose worker never recorded an outcome (it died for good, or no chunk ever held them): opId -> why, when known. */
export type MissingOutcomes = (ops: Operation[]) => Promise<Map<string, MissingWhy>>;

// Store the plan unless one with this id is stored already (then return that one's meta): the first
// enqueue wins, so enqueueing again, or a scheduler retrying a cycle, never mixes two plans. One HSET
// per field: a phase of 100,000 operations has more parts than Lua can unpack at once.
const SAVE_PLAN = `
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HGET', KEYS[1], 'meta') end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return false`;


// KEYS: outcomes hash, dead letter hash, order and index, then each link hash the call changes, then
// the cycle's lock when it is checked. ARGV: retention ms, number of outcomes, that many pairs (opId,
// entry), the dead letters' arguments (RECORD_LETTERS), then per link hash the number of its changes
// and that many pairs (field, value; '' deletes), then the lock's token and life ms ('' and '' when
// not checked). One HSET per hash (a chunk's creates: one call, not one per person). Returns 0 when
// the lock is not the token's (what was done is recorded all the same: the operations were sent), 1
// otherwise, having renewed it.
const RECORD_OUTCOMES = `${RECORD_LETTERS}
local outcomes = tonumber(ARGV[2])
local at = recordLetters(KEYS[2], KEYS[3], KEYS[4], 3 + 2 * outcomes)
local token, life = ARGV[#ARGV - 1], ARGV[#ARGV]
local linkKeys = #KEYS
if token ~= '' then linkKeys = linkKeys - 1 end
for k = 5, linkKeys do
  local n = tonumber(ARGV[at])
  local sets, dels = {}, {}
  for i = at + 1, at + 2 * n, 2 do
    if ARGV[i + 1] == '' then dels[#dels + 1] = ARGV[i] else sets[#sets + 1] = ARGV[i]; sets[#sets + 1] = ARGV[i + 1] end
  end
  if #sets > 0 then redis.call('HSET', KEYS[k], unpack(sets)) end
  if #dels > 0 then redis.call('HDEL', KEYS[k], unpack(dels)) end
  at = at + 1 + 2 * n
end
if outcomes > 0 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 3, 2 + 2 * outcomes))
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
if token == '' then return 1 end
if redis.call('GET', KEYS[#KEYS]) ~= token then return 0 end
redis.call('PEXPIRE', KEYS[#KEYS], life)
return 1`;

/**
 * Link changes by hash, each field with its last value: the same as making them one after another
 * (an attempt's dropped link then the retry's new one leaves the new one), in one HSET and one HDEL
 * per hash.
 */
function linksByHash(links: readonly LinkWrite[]): Map<string, Map<string, string>> {
  const byHash = new Map<string, Map<string, string>>();
  for (const w of links) {
    let fields = byHash.get(w.key);
    if (!fields) byHash.set(w.key, (fields = new Map()));
    fields.set(w.field, w.value ?? '');
  }
  return byHash;
}

/** Outcomes (and dead letters, link changes) per Redis call when many are recorded at once. */
const RECORD_CHUNK = 1000;

const missing = (what: string) => new StateError(`${what} is missing from Redis (expired after queue.retentionHours, or Redis lost its data)`);

/** What a worker may do with a damaged phase: nothing safe; the next plan is made afresh from the source. */
const PHASE_SHAPE: StateShape<Operation[]> = {
  schema: operationsSchema,
  what: "a phase's operations",
  fix: 'this cycle cannot go on for the target; the next run or scheduled cycle plans it afresh',
};

/** A stored part of a phase (`what` names its operations), which must hold `size` operations. */
function checkedPart(value: string | null, what: string, size: number): Operation[] {
  if (value === null) throw missing(what);
  const read = parseStateJson(value, `${what} in Redis`, PHASE_SHAPE);
  // A part of another length would shift every operation after it: damaged as well.
  if (read.length !== size) throw new StateError(`${what} in Redis is damaged (${read.length} operations instead of ${size}): ${PHASE_SHAPE.fix}`);
  return read;
}

function parseJson<T>(value: string | null, what: string): T {
  if (value === null) throw missing(what);
  try {
    return JSON.parse(value) as T;
  } catch {
    throw new StateError(`${what} in Redis is corrupt`);
  }
}

/** A stop record; an earlier version stored the bare reason, and stopped only for a refused credential. */
function parseStop(value: string | null): TargetStop | null {
  if (value === null) return null;
  return value.startsWith('{') ? parseJson<TargetStop>(value, 'a stop record') : { kind: 'auth', reason: value };
}

/**
 * A target's phases as they are stored: the fields `phase:<i>:<k>` of the plan's hash, each a part
 * of `partOps` operations as JSON, one chunk job's (queue-layout.ts chunkSize): a worker reads its
 * chunk's part alone, and the feed puts a phase's first chunks on the queue without reading any.
 * Made only of a plan none of whose operations holds the text
 * of a credential scim-sync holds, as a saved plan file (cli/plan-file.ts): stored as it is, the
 * credential would sit in Redis and in the chunk jobs; redacted, the workers would write
 * "[redacted]" into the app. The JSON text is what is looked at, once: a value's text is in it as
 * its JSON form, which the redactor knows as one of the credential's forms (config/secret.ts).
 */
export class StoredPhases {
  private constructor(
    readonly fields: readonly string[],
    readonly partOps: number,
  ) {}

  static of(tp: TargetPlan, partOps: number): StoredPhases {
    const fields: string[] = [];
    tp.phases.forEach((p, i) => {
      for (let k = 0; k * partOps < p.operations.length; k++) {
        const json = JSON.stringify(p.operations.slice(k * partOps, (k + 1) * partOps));
        if (redact(json) !== json) {
          throw new ConfigError(
            `the plan is not stored in Redis for target ${tp.target}: a value one of its operations would write contains the text of a credential ` +
              'scim-sync holds (a token or a header value that is also ordinary data); stored, the credential would sit in Redis, and redacted, ' +
              'it would write "[redacted]" into the app. Nothing was enqueued',
          );
        }
        fields.push(`phase:${i}:${k}`, json);
      }
    });
    return new StoredPhases(fields, partOps);
  }
}

export class CycleStore {
  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    /** How long plans, outcomes and reports of a cycle are kept, ms. */
    private readonly retentionMs: number,
    /**
     * How long a dead letter is kept after it failed, and a target's last cycle after it was
     * written, ms (queue.failedRetentionHours): the last cycle holds the same failures (labels,
     * the server's error text), and would otherwise outlive a target taken out of the config.
     */
    private readonly failedRetentionMs = DEFAULT_FAILED_RETENTION_HOURS * 3_600_000,
  ) {
    this.keys = redisKeys(prefix);
    // EVALSHA from then on: the script is sent once per connection, not once per operation.
    redis.defineCommand('recordOutcomes', { lua: RECORD_OUTCOMES });
  }

  /** The store of a deployment, with its retentions. */
  static of(redis: Redis, q: QueueConfig): CycleStore {
    return new CycleStore(redis, q.prefix, q.retentionHours * 3_600_000, q.failedRetentionHours * 3_600_000);
  }

  /**
   * Stores one target's part of a plan, its phases as `phases` (StoredPhases.of(tp)); `stored` is
   * false when this plan id was stored before. Its warnings and error are redacted: a server's error
   * text may quote a credential.
   */
  async savePlan(plan: Plan, tp: TargetPlan, phases: StoredPhases, lockToken: string, options: { recreateAllowance: number; guardSince?: Date }): Promise<{ stored: boolean; meta: PlanMeta }> {
    const { guardSince } = options;
    const meta: PlanMeta = {
      planId: plan.id,
      target: tp.target,
      createdAt: plan.createdAt,
      enqueuedAt: new Date().toISOString(),
      lockToken,
      phases: tp.phases.map((p) => ({ name: p.name, operations: p.operations.length })),
      warnings: tp.warnings.map(redact),
      ...(tp.error ? { error: redact(tp.error) } : {}),
      ...(guardSince ? { guardedSince: guardSince.getTime() } : {}),
      ...(plan.binding.targets[tp.target] ? { binding: plan.binding.targets[tp.target] } : {}),
      recreateAllowance: options.recreateAllowance,
      partOps: phases.partOps,
    };
    const existing = (await this.redis.eval(SAVE_PLAN, 1, this.keys.plan(plan.id, tp.target), String(this.retentionMs), 'meta', JSON.stringify(meta), ...phases.fields)) as string | null;
    return existing === null ? { stored: true, meta } : { stored: false, meta: parseJson<PlanMeta>(existing, `plan ${plan.id} for ${tp.target}`) };
  }

  /** Whether the cycle's plan is still in Redis (a Redis without persistence forgets it on restart). */
  async exists(planId: string, target: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.plan(planId, target))) === 1;
  }

  async meta(planId: string, target: string): Promise<PlanMeta> {
    return parseJson<PlanMeta>(await this.redis.hget(this.keys.plan(planId, target), 'meta'), `plan ${planId} for ${target}`);
  }

  /**
   * A chunk's operations: those it holds, or (a chunk of this version) its part of the stored plan,
   * checked as phaseOperations() checks them; one read of one field. A plan gone from Redis
   * (expired, or lost) or a damaged part is a StateError.
   */
  async chunkOperations(data: AnyChunkJobData): Promise<Operation[]> {
    if ('ops' in data) return data.ops;
    const { planId, target, phase, first, count } = data;
    const value = await this.redis.hget(this.keys.plan(planId, target), `phase:${phase}:${data.part}`);
    return checkedPart(value, `operations ${first + 1} to ${first + count} of phase ${phase} of plan ${planId} for ${target}`, count);
  }

  /**
   * A phase's operations, all or `range` of them, checked against the plan schema as a saved plan
   * file is: a damaged part fails here, before any of its operations is sent. Only the parts that
   * hold the range are read; a plan stored by an earlier version is read whole.
   */
  async phaseOperations(meta: PlanMeta, phase: number, range?: { first: number; count: number }): Promise<Operation[]> {
    const what = `phase ${phase} of plan ${meta.planId} for ${meta.target}`;
    const key = this.keys.plan(meta.planId, meta.target);
    const part = meta.partOps;
    if (part === undefined) {
      const value = await this.redis.hget(key, `phase:${phase}`);
      if (value === null) throw missing(what);
      const ops = parseStateJson(value, `${what} in Redis`, PHASE_SHAPE);
      return range ? ops.slice(range.first, range.first + range.count) : ops;
    }
    const total = meta.phases[phase]?.operations ?? 0;
    const first = range?.first ?? 0;
    const end = Math.min(total, range ? range.first + range.count : total);
    if (end <= first) return [];
    const from = Math.floor(first / part);
    const fields = Array.from({ length: Math.floor((end - 1) / part) - from + 1 }, (_, j) => `phase:${phase}:${from + j}`);
    const values = await this.redis.hmget(key, ...fields);
    const ops: Operation[] = [];
    values.forEach((value, j) => {
      const start = (from + j) * part;
      const size = Math.min(part, total - start);
      ops.push(...checkedPart(value, `operations ${start + 1} to ${start + size} of ${what}`, size));
    });
    return ops.slice(first - from * part, end - from * part);
  }

  /**
   * Outcomes together with the dead letters and link changes their operations made (a dead letter
   * added for one failed for good, cleared for one done), one atomic Redis call per RECORD_CHUNK of
   * each (one call for a chunk's operations: never a link or dead letter without its outcome). With
   * `lock`, the same call checks that the cycle still holds the target's lock and renews it: false
   * when it does not (the outcomes are recorded all the same).
   */
  async recordOutcomes(
    planId: string,
    target: string,
    entries: readonly [opId: string, entry: OutcomeEntry][],
    links: readonly LinkWrite[] = [],
    letters: readonly LetterChange[] = [],
    lock?: { token: string; lifeMs: number },
  ): Promise<boolean> {
    let held = true;
    for (let i = 0; i < Math.max(entries.length, links.length, letters.length); i += RECORD_CHUNK) {
      const e = entries.slice(i, i + RECORD_CHUNK);
      const l = linksByHash(links.slice(i, i + RECORD_CHUNK));
      const args: string[] = [this.keys.outcomes(planId, target), this.keys.deadLetters(target), this.keys.deadLetterOrder(target), this.keys.deadLetterIndex(target), ...l.keys()];
      args.push(String(this.retentionMs), String(e.length));
      for (const [id, entry] of e) args.push(id, JSON.stringify(entry));
      args.push(...letterArguments(letters.slice(i, i + RECORD_CHUNK), this.failedRetentionMs, Date.now(), (letter) => stateJson(letter)));
      for (const fields of l.values()) {
        args.push(String(fields.size));
        for (const [field, value] of fields) args.push(field, value);
      }
      // The lock's key after the link hashes' (the script finds it last), its token and life last.
      if (lock) args.splice(4 + l.size, 0, this.keys.lock(target));
      args.push(lock?.token ?? '', lock ? String(lock.lifeMs) : '');
      if ((await this.redis.recordOutcomes(4 + l.size + (lock ? 1 : 0), ...args)) === 0) held = false;
    }
    return held;
  }

  /** How many of the cycle's operations have an outcome recorded. */
  outcomeCount(planId: string, target: string): Promise<number> {
    return this.redis.hlen(this.keys.outcomes(planId, target));
  }

  /** Which of these operations have an outcome recorded (one HMGET). */
  async recorded(planId: string, target: string, opIds: readonly string[]): Promise<Set<string>> {
    if (opIds.length === 0) return new Set();
    const values = await this.redis.hmget(this.keys.outcomes(planId, target), ...opIds);
    return new Set(opIds.filter((_, i) => values[i] !== null));
  }

  /** The re-creates of this cycle of this target, counted in Redis for every worker; `allowance`: PlanMeta.recreateAllowance. */
  recreateBudget(planId: string, target: string, allowance: number): RecreateBudget {
    const key = this.keys.recreates(planId, target);
    return {
      allowance,
      take: async () => {
        const [[, made]] = (await this.redis.multi().incr(key).pexpire(key, this.retentionMs).exec()) as [[Error | null, number], unknown];
        return made <= allowance;
      },
    };
  }

  /** The creates that failed in this cycle of this target, shared by every worker. */
  failedIdentities(planId: string, target: string): FailedIdentities {
    const key = this.keys.failed(planId, target);
    const field = (resource: ResourceKind, externalId: string) => `${resource}\n${externalId}`;
    return {
      add: async (resource, externalId, failed) => {
        await this.redis.multi().hset(key, field(resource, externalId), JSON.stringify(failed)).pexpire(key, this.retentionMs).exec();
      },
      get: async (resource, externalId) => {
        const value = await this.redis.hget(key, field(resource, externalId));
        return value === null ? undefined : parseJson<FailedIdentity>(value, `failed ${resource} ${externalId} of plan ${planId} for ${target}`);
      },
    };
  }

  /** Marks the target stopped for this cycle; `first` is false when it was already (then that stop's reason). */
  async stop(planId: string, target: string, stop: TargetStop): Promise<{ first: boolean; reason: string }> {
    const key = this.keys.stopped(planId, target);
    if ((await this.redis.set(key, JSON.stringify(stop), 'PX', this.retentionMs, 'NX')) === 'OK') return { first: true, reason: stop.reason };
    return { first: false, reason: parseStop(await this.redis.get(key))?.reason ?? stop.reason };
  }

  async stopped(planId: string, target: string): Promise<TargetStop | null> {
    return parseStop(await this.redis.get(this.keys.stopped(planId, target)));
  }

  async clearStop(planId: string, target: string): Promise<void> {
    await this.redis.del(this.keys.stopped(planId, target));
  }

  /**
   * The target's report from the recorded outcomes. Operations without one are asked about through
   * `missing` (a chunk BullMQ failed itself, e.g. stalled too often; or none: a feed job that failed
   * for good never put them on the queue), and become failed operations: an outcome and a dead
   * letter each, so that `status` lists them and `retry` re-plans them. Writes the report as this
   * cycle's and, unless `last` is false (the cycle lost its lock to a newer one), as the target's
   * last cycle.
   */
  async finish(meta: PlanMeta, missing: MissingOutcomes, { last = true }: { last?: boolean } = {}): Promise<CycleReport> {
    const raw = await this.redis.hgetall(this.keys.outcomes(meta.planId, meta.target));
    const report = emptyTargetReport(meta.target, meta.error);
    for (const value of Object.values(raw)) {
      const entry = JSON.parse(value) as OutcomeEntry;
      count(report, entry.kind, entry.outcome);
      if (entry.adopted) countAdopted(report, entry.kind);
      if (entry.recreated) countRecreated(report, entry.kind);
      if (entry.failure) report.failures.push(entry.failure);
      if (entry.skip) report.skips.push(entry.skip);
      for (const notice of entry.notices ?? []) addNotice(report, notice);
    }
    const planned = meta.phases.reduce((n, p) => n + p.operations, 0);
    if (Object.keys(raw).length < planned) {
      const ops: Operation[] = [];
      for (let i = 0; i < meta.phases.length; i++) {
        for (const op of await this.phaseOperations(meta, i)) if (!(op.id in raw)) ops.push(op);
      }
      const reasons = await missing(ops);
      const at = new Date().toISOString();
      const entries: [string, OutcomeEntry][] = [];
      const letters: LetterChange[] = [];
      for (const op of ops) {
        const why = reasons.get(op.id);
        const failure: OperationFailure = { opId: op.id, kind: op.kind, externalId: op.externalId, label: op.label, code: 'WORKER', message: why?.reason ?? 'no worker recorded an outcome' };
        count(report, op.kind, 'failed');
        report.failures.push(failure);
        entries.push([op.id, { kind: op.kind, outcome: 'failed', failure }]);
        const id = deadLetterId(why?.job ?? meta.planId, op.id);
        letters.push({ dead: { id, key: deadLetterKey(op), planId: meta.planId, op, attempts: why?.attempts ?? 0, at, reason: `[WORKER] ${failure.message}` } });
      }
      await this.recordOutcomes(meta.planId, meta.target, entries, [], letters);
    }
    const stopped = await this.stopped(meta.planId, meta.target);
    if (stopped) {
      report.stopped = stopped.reason;
      report.stopKind = stopped.kind;
    }
    const cycle: CycleReport = {
      planId: meta.planId,
      target: meta.target,
      enqueuedAt: meta.enqueuedAt,
      finishedAt: new Date().toISOString(),
      report,
      warnings: meta.warnings,
      ...(meta.error ? { error: meta.error } : {}),
    };
    const json = JSON.stringify(cycle);
    const write = this.redis.multi().set(this.keys.report(meta.planId, meta.target), json, 'PX', this.retentionMs);
    if (last) write.set(this.keys.lastCycle(meta.target), json, 'PX', this.failedRetentionMs);
    await write.exec();
    // A cycle that lost its lock is the last one still when no newer cycle is (its lock merely
    // expired while the workers were down): compared and set in one step, against a newer cycle
    // finishing at the same moment.
    if (!last) await this.redis.eval(SET_UNLESS_NEWER, 1, this.keys.lastCycle(meta.target), json, meta.enqueuedAt, String(this.failedRetentionMs));
    return cycle;
  }

  /**
   * Ids of the target's stored plans enqueued under this lock token that have no report yet: a cycle
   * still to be finished by the workers (or abandoned, until its plan expires). One SCAN of the
   * keyspace: for `unlock`, not for a hot path.
   */
  async unfinishedPlans(target: string, lockToken: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', this.keys.plansOf(target), 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const value = await this.redis.hget(key, 'meta');
        const meta = value === null ? null : parseJson<PlanMeta>(value, `plan ${key}`);
        if (meta?.target === target && meta.lockToken === lockToken && !(await this.report(meta.planId, target))) found.push(meta.planId);
      }
    } while (cursor !== '0');
    return found;
  }

  async report(planId: string, target: string): Promise<CycleReport | null> {
    const value = await this.redis.get(this.keys.report(planId, target));
    return value === null ? null : parseJson<CycleReport>(value, `report of plan ${planId} for ${target}`);
  }

  /**
   * The latest cycle of a target, or a cycle that could not start (safety stop, unreadable source);
   * null when none was recorded within queue.failedRetentionHours (each write renews it).
   */
  async lastCycle(target: string): Promise<CycleReport | null> {
    const value = await this.redis.get(this.keys.lastCycle(target));
    return value === null ? null : parseJson<CycleReport>(value, `last cycle of ${target}`);
  }

  async setLastCycle(cycle: CycleReport): Promise<void> {
    await this.redis.set(this.keys.lastCycle(cycle.target), JSON.stringify(cycle), 'PX', this.failedRetentionMs);
  }
}

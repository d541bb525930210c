/**
 * Taking a staged set is the claim of one decision: of two takers racing (an approve and a reject
 * from two consoles or two machines), one gets the set and the other is told there is none. A set
 * whose taker died before carrying the decision out is put back on the list, once the taker is
 * gone by the run lock's rule (state/holder.ts), and never while it lives. Both adapters, the state
 * directory's and Redis's.
 */
import { readdirSync, renameSync, utimesSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/audit-sink.js';
import { recoverStaged } from '../../src/engine/staged-sets.js';
import { PlanError } from '../../src/errors.js';
import type { Plan } from '../../src/model/plan.js';
import { STALE_AFTER_MS, judgeHolder, processStart } from '../../src/state/holder.js';
import { FileStagedStore, RedisStagedStore, type StagedClaim, type StagedStore } from '../../src/state/staged-store.js';
import { REDIS_URL, cleanRedis, randomPrefix, waitUntil } from '../support/distributed.js';
import { StagedTaker, killTakers } from '../support/staged-taker-process.js';
import { tempDirs } from '../support/temp-dirs.js';
import { pidSpace } from '../support/pid-space.js';

const tempDir = tempDirs('scim-sync-staged-');
const prefix = randomPrefix();
const redis = new Redis(REDIS_URL);
afterEach(killTakers);
afterAll(async () => {
  redis.disconnect();
  await cleanRedis(prefix);
});

let keyspaces = 0;
/** A Redis store of its own, under the test's prefix: what one test leaves taken is not another's to recover. */
const ownRedisStore = () => ({ store: new RedisStagedStore(redis, `${prefix}:t${++keyspaces}`), prefix: `${prefix}:t${keyspaces}` });

/** Recovery as the engine runs it, its audit records kept. */
async function recover(store: StagedStore) {
  const records: AuditRecord[] = [];
  const live = await recoverStaged({ staged: store, rejections: { all: () => Promise.resolve({}) }, audit: { record: (r) => records.push(r) } });
  return { live, records };
}

const plan: Plan = {
  format: 'scim-sync-plan',
  version: 2,
  id: 'plan-1',
  createdAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2026-01-02T00:00:00.000Z',
  binding: { source: { type: 'csv', location: 'people.csv', readAt: '2026-01-01T00:00:00.000Z', contentHash: 'c' }, targets: {} },
  config: 'org.yaml',
  source: { description: 'csv people.csv', users: 10, activeUsers: 10, recordsRead: 10, invalidRecords: 0, issues: [] },
  targets: [],
};

describe.each([
  ['the state directory', (): StagedStore => new FileStagedStore(tempDir())],
  ['Redis', (): StagedStore => new RedisStagedStore(redis, prefix)],
])('staged sets in %s', (_, open) => {
  it('two takers racing: one gets the set, the other a PlanError; put back, it is there again as it was', async () => {
    const store = open();
    const set = await store.save(plan, ['5 of 20 managed users would be deprovisioned']);
    const [a, b] = await Promise.allSettled([store.take(set.id), store.take(set.id)]);
    const won = [a, b].filter((r) => r.status === 'fulfilled');
    const lost = [a, b].filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    const claim = (won[0] as PromiseFulfilledResult<StagedClaim>).value;
    expect(claim.set).toEqual(set);
    expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(PlanError);
    expect(String((lost[0] as PromiseRejectedResult).reason.message)).toMatch(new RegExp(`no staged set ${set.id}`));
    expect((await store.list()).map((s) => s.id)).not.toContain(set.id);
    await claim.putBack();
    expect((await store.get(set.id)).set).toEqual(set);
  });

  it('a claim put back with the part left to decide holds that part; one done is gone for good', async () => {
    const store = open();
    const set = await store.save(plan, ['reason']);
    const rest = { ...set, reasons: ['what is left'] };
    await (await store.take(set.id)).putBack(rest);
    expect((await store.get(set.id)).set.reasons).toEqual(['what is left']);
    await (await store.take(set.id)).done();
    expect((await store.list()).map((s) => s.id)).not.toContain(set.id);
    await expect(store.take(set.id)).rejects.toBeInstanceOf(PlanError);
  });

  it('its taker is live until the set is gone or back: a second approve or a recovery looking meanwhile never finds it gone', async () => {
    const store = open();
    for (const end of ['done', 'putBack'] as const) {
      const set = await store.save(plan, ['reason']);
      const claim = await store.take(set.id);
      const taker = (await store.taken()).find((t) => t.set.id === set.id)!.taker;
      const ending = end === 'done' ? claim.done() : claim.putBack();
      // While the taken copy is being removed or put back (judged as another take or recoverStaged would).
      expect(judgeHolder(taker, 0), end).toEqual({ alive: true, gone: false });
      await ending;
      expect(judgeHolder(taker, 0).gone, end).toBe(true);
      if (end === 'putBack') await (await store.take(set.id)).done();
    }
  });
});

describe.each([
  ['the state directory', () => {
    const dir = tempDir();
    return { store: new FileStagedStore(dir) as StagedStore, taker: dir };
  }],
  ['Redis', () => {
    const own = ownRedisStore();
    return { store: own.store as StagedStore, taker: { url: REDIS_URL, prefix: own.prefix } };
  }],
])('a staged set taken in %s by a process that dies before deciding', (_, open) => {
  it('is shown as taken while its taker lives, put back on the list (audited) once it is killed, and can then be decided', async () => {
    const { store, taker } = open();
    const set = await store.save(plan, ['5 of 20 managed users would be deprovisioned']);
    const approving = await StagedTaker.start(taker, set.id);

    // Alive: shown as taken, by whom, and left alone; deciding it says it is taken.
    const before = await recover(store);
    expect(before.records).toEqual([]);
    expect(before.live.filter((t) => t.set.id === set.id)).toEqual([
      expect.objectContaining({ set, taker: expect.objectContaining({ pid: approving.pid, host: hostname() }), state: { alive: true, gone: false } }),
    ]);
    expect((await store.list()).map((s) => s.id)).not.toContain(set.id);
    const busy = await store.take(set.id).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(PlanError);
    expect((busy as Error).message).toMatch(new RegExp(`^staged set ${set.id} is taken by pid ${approving.pid} on this host since .*: an approve or reject of it is under way`));

    await approving.kill();
    const after = await recover(store);
    expect(after.live.map((t) => t.set.id)).not.toContain(set.id);
    expect(after.records).toEqual([
      expect.objectContaining({
        planId: plan.id,
        target: '*',
        action: 'staged.recovered',
        outcome: 'info',
        note: expect.stringMatching(new RegExp(`^staged set ${set.id} is back on the list: it was taken for a decision \\(approve or reject\\) by pid ${approving.pid} on this host since .*, which is gone \\(its process no longer runs on this host\\)\\. That decision may have been partly carried out`)),
      }),
    ]);
    expect((await store.get(set.id)).set).toEqual(set);
    // Recovered once: another look finds nothing to recover.
    expect((await recover(store)).records).toEqual([]);
    await (await store.take(set.id)).done();
    expect((await store.taken()).map((t) => t.set.id)).not.toContain(set.id);
  });
});

describe.each([
  ['the state directory', () => {
    const dir = tempDir();
    const file = (id: string) => join(dir, 'staged', readdirSync(join(dir, 'staged')).find((n) => n.startsWith(`${id}.json.taken-`))!);
    return {
      store: new FileStagedStore(dir, { heartbeatMs: 20 }) as StagedStore,
      age: (id: string, ms: number) => {
        const then = new Date(Date.now() - ms);
        utimesSync(file(id), then, then);
      },
    };
  }],
  ['Redis', () => {
    const { prefix } = ownRedisStore();
    const takers = `${prefix}:state:staged:takers`;
    return {
      store: new RedisStagedStore(redis, prefix, { heartbeatMs: 20 }) as StagedStore,
      age: async (id: string, ms: number) => {
        const taker = JSON.parse((await redis.hget(takers, id))!) as { beat: number };
        await redis.hset(takers, id, JSON.stringify({ ...taker, beat: taker.beat - ms }));
      },
    };
  }],
])('a staged set taken in %s', (_, open) => {
  it('keeps its heartbeat while its taker holds it, and none once the decision is done', async () => {
    const { store, age } = open();
    const set = await store.save(plan, ['reason']);
    const claim = await store.take(set.id);
    await age(set.id, STALE_AFTER_MS + 60_000);
    expect((await store.taken())[0]!.heartbeatAgeMs).toBeGreaterThan(STALE_AFTER_MS);
    await waitUntil(async () => (await store.taken())[0]!.heartbeatAgeMs < 60_000, 'the heartbeat', 10_000, 5);
    await claim.done();
    expect(await store.taken()).toEqual([]);
  });
});

describe('a staged set whose taker is judged by the run lock\'s rule', () => {
  /** Rewrites the taken file's name as another host's taker (a container since replaced), heartbeat `ageMs` ago. */
  function asOtherHost(dir: string, id: string, ageMs: number): void {
    const staged = join(dir, 'staged');
    const name = readdirSync(staged).find((n) => n.startsWith(`${id}.json.taken-`))!;
    const other = name.replace(/-[0-9a-f]*(-\d*-[0-9a-f]*)$/, `-${Buffer.from('replaced-container').toString('hex')}$1`);
    renameSync(join(staged, name), join(staged, other));
    const then = new Date(Date.now() - ageMs);
    utimesSync(join(staged, other), then, then);
  }

  it('in the state directory: recovered once its heartbeat is older than the bound, never before', async () => {
    const dir = tempDir();
    const store = new FileStagedStore(dir);
    const set = await store.save(plan, ['reason']);
    await store.take(set.id);
    asOtherHost(dir, set.id, STALE_AFTER_MS - 60_000);
    const fresh = await recover(store);
    expect(fresh.records).toEqual([]);
    expect(fresh.live).toEqual([expect.objectContaining({ taker: expect.objectContaining({ host: 'replaced-container' }), state: { alive: undefined, gone: false } })]);

    asOtherHost(dir, set.id, STALE_AFTER_MS + 60_000);
    const stale = await recover(store);
    expect(stale.live).toEqual([]);
    expect(stale.records).toEqual([expect.objectContaining({ action: 'staged.recovered', note: expect.stringContaining(`by pid ${process.pid} on replaced-container since `) })]);
    expect(stale.records[0]!.note).toContain('which is gone (no heartbeat for 11 minutes)');
    expect((await store.get(set.id)).set).toEqual(set);
  });

  it('in the state directory, on this host: taken by a pid that now runs another process (its start time differs), recovered', async () => {
    const dir = tempDir();
    const store = new FileStagedStore(dir);
    const set = await store.save(plan, ['reason']);
    await store.take(set.id);
    const staged = join(dir, 'staged');
    const name = readdirSync(staged).find((n) => n.startsWith(`${set.id}.json.taken-`))!;
    // The pid was reused: the process there now (our parent) started later than the taker did.
    const parent = process.ppid;
    const reused = name.replace(/taken-\d+-([0-9a-f]{8})-\d*-/, `taken-${parent}-$1-${Number(processStart(parent)) + 1}-`);
    renameSync(join(staged, name), join(staged, reused));
    expect((await recover(store)).records).toEqual([expect.objectContaining({ action: 'staged.recovered', note: expect.stringContaining(`by pid ${parent} on this host`) })]);
    expect((await store.get(set.id)).set).toEqual(set);
  });

  it('with this hostname in another PID namespace (a container with the host\'s name): its pid says nothing here, its heartbeat decides', async () => {
    // A pid that does not exist here; in its own namespace, it runs.
    const neighbour = { pid: 2 ** 22 + 17, pidns: 'pid:[4026599999]' };
    const dir = tempDir();
    const files = new FileStagedStore(dir);
    const inFile = await files.save(plan, ['reason']);
    await files.take(inFile.id);
    const staged = join(dir, 'staged');
    const name = readdirSync(staged).find((n) => n.startsWith(`${inFile.id}.json.taken-`))!;
    const since = Date.now() - 60_000;
    const boot = (pidSpace.boot ?? '').replace(/-/g, '');
    const planted = join(staged, `${inFile.id}.json.taken-${neighbour.pid}-0badc0de--${since}-${Buffer.from(hostname()).toString('hex')}-4026599999-${boot}`);
    renameSync(join(staged, name), planted);
    const { store: inRedis, prefix } = ownRedisStore();
    const set = await inRedis.save(plan, ['reason']);
    await inRedis.take(set.id);
    const takers = `${prefix}:state:staged:takers`;
    const taker = JSON.parse((await redis.hget(takers, set.id))!) as Record<string, unknown>;
    await redis.hset(takers, set.id, JSON.stringify({ ...taker, ...neighbour }));

    for (const [store, id] of [[files, inFile.id], [inRedis, set.id]] as const) {
      const fresh = await recover(store);
      expect(fresh.records).toEqual([]);
      expect(fresh.live.filter((t) => t.set.id === id)).toEqual([
        expect.objectContaining({ taker: expect.objectContaining({ ...neighbour, host: hostname() }), state: { alive: undefined, gone: false } }),
      ]);
    }
    const stale = new Date(Date.now() - STALE_AFTER_MS - 60_000);
    utimesSync(planted, stale, stale);
    expect((await recover(files)).records).toEqual([expect.objectContaining({ action: 'staged.recovered', note: expect.stringContaining(`by pid ${neighbour.pid} on this host (another PID namespace: a container, or unshare) since `) })]);
    expect((await files.get(inFile.id)).set).toEqual(inFile);
  });

  it('in Redis: recovered once its heartbeat (by Redis\'s clock) is older than the bound, never before', async () => {
    const { store, prefix } = ownRedisStore();
    const set = await store.save(plan, ['reason']);
    await store.take(set.id);
    const takers = `${prefix}:state:staged:takers`;
    const [seconds] = await redis.time();
    const plant = async (ageMs: number) => {
      const taker = JSON.parse((await redis.hget(takers, set.id))!) as Record<string, unknown>;
      await redis.hset(takers, set.id, JSON.stringify({ ...taker, host: 'replaced-container', beat: Number(seconds) * 1000 - ageMs }));
    };
    await plant(STALE_AFTER_MS - 60_000);
    const fresh = await recover(store);
    expect(fresh.records).toEqual([]);
    expect(fresh.live.filter((t) => t.set.id === set.id)).toEqual([expect.objectContaining({ taker: expect.objectContaining({ host: 'replaced-container' }), state: { alive: undefined, gone: false } })]);

    await plant(STALE_AFTER_MS + 60_000);
    const stale = await recover(store);
    expect(stale.live.map((t) => t.set.id)).not.toContain(set.id);
    expect(stale.records).toEqual([expect.objectContaining({ action: 'staged.recovered', note: expect.stringContaining(`by pid ${process.pid} on replaced-container since `) })]);
    expect((await store.get(set.id)).set).toEqual(set);
    expect(await redis.hexists(takers, set.id)).toBe(0);
  });

  it('in Redis: a taker judged gone while it still ran (frozen past the bound) undoes nothing of the decision taken since', async () => {
    const { store, prefix } = ownRedisStore();
    const set = await store.save(plan, ['reason']);
    const frozen = await store.take(set.id);
    const takers = `${prefix}:state:staged:takers`;
    const taker = JSON.parse((await redis.hget(takers, set.id))!) as { beat: number };
    await redis.hset(takers, set.id, JSON.stringify({ ...taker, host: 'frozen-vm', beat: taker.beat - STALE_AFTER_MS - 1 }));
    expect((await recover(store)).records).toHaveLength(1);
    const next = await store.take(set.id);
    // The frozen taker wakes up: its put-back and its done leave the new taker's claim be.
    await frozen.putBack();
    expect((await store.list()).map((s) => s.id)).not.toContain(set.id);
    await expect(frozen.done()).rejects.toThrow(`staged set ${set.id} was put back on the list while this decision ran`);
    expect((await store.taken()).map((t) => t.taker.host)).toEqual([hostname()]);
    await next.done();
    expect(await store.taken()).toEqual([]);
    expect(await store.list()).toEqual([]);
  });

  it("in Redis, taken by an earlier version (no taker recorded): shown as taken from the first look, recovered the bound later", async () => {
    const { store, prefix } = ownRedisStore();
    const set = await store.save(plan, ['reason']);
    // What an earlier version's take left: the set moved aside, nothing about who took it.
    await redis.hdel(`${prefix}:state:staged`, set.id);
    await redis.hset(`${prefix}:state:staged:taken`, set.id, JSON.stringify(set));
    const first = await recover(store);
    expect(first.records).toEqual([]);
    expect(first.live.filter((t) => t.set.id === set.id)).toEqual([expect.objectContaining({ taker: expect.objectContaining({ legacy: true }), state: { alive: undefined, gone: false } })]);
    expect((await store.get(set.id).catch((e: unknown) => e)) as Error).toMatchObject({ message: expect.stringContaining(`staged set ${set.id} is taken by an earlier version, which recorded no taker`) });

    const takers = `${prefix}:state:staged:takers`;
    const taker = JSON.parse((await redis.hget(takers, set.id))!) as { beat: number };
    await redis.hset(takers, set.id, JSON.stringify({ ...taker, beat: taker.beat - STALE_AFTER_MS - 1 }));
    expect((await recover(store)).records).toEqual([expect.objectContaining({ action: 'staged.recovered' })]);
    expect((await store.get(set.id)).set).toEqual(set);
  });

  it('in the state directory, taken by an earlier version (its pid in the name): recovered once that pid is gone', async () => {
    const dir = tempDir();
    const store = new FileStagedStore(dir);
    const set = await store.save(plan, ['reason']);
    const taker = await StagedTaker.start(dir, set.id);
    const staged = join(dir, 'staged');
    const name = readdirSync(staged).find((n) => n.startsWith(`${set.id}.json.taken-`))!;
    renameSync(join(staged, name), join(staged, `${set.id}.json.taken-${taker.pid}-0badc0de`));
    expect((await recover(store)).live).toEqual([expect.objectContaining({ taker: expect.objectContaining({ pid: taker.pid, legacy: true }), state: { alive: true, gone: false } })]);
    await taker.kill();
    expect((await recover(store)).records).toEqual([expect.objectContaining({ action: 'staged.recovered', note: expect.stringContaining(`by pid ${taker.pid} (an earlier version, which recorded no more)`) })]);
    expect((await store.get(set.id)).set).toEqual(set);
  });
});

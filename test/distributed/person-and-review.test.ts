/**
 * One person and staged sets in distributed mode (real Redis, the sandbox, workers and a scheduler
 * in this process): holds, staged sets and rejections live in Redis, so what the CLI sets on one
 * machine is heeded by the scheduler's cycles on another. Two configs stand for two machines: the
 * same queue, each its own state directory, so nothing reaches the other through a file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonlAuditSink } from '../../src/audit/jsonl-audit-sink.js';
import { loadConfig } from '../../src/config/load.js';
import { startScheduler, type SchedulerHandle } from '../../src/engine/scheduled-cycle.js';
import { connectRedis } from '../../src/state/redis-connection.js';
import { Harness, TOKEN, peopleCsv, person } from '../support/harness.js';
import { REDIS_URL, cleanRedis, inProcessWorkers, queueYaml, randomPrefix, waitUntil } from '../support/distributed.js';
import { StagedTaker, killTakers } from '../support/staged-taker-process.js';

let h: Harness;
let prefix: string;
let redis: Redis;
/** The other machine's config: the same queue, its own state directory. */
let other: string;
let worker: Awaited<ReturnType<typeof inProcessWorkers>> | null = null;
let scheduler: { handle: SchedulerHandle; lines: string[]; audit: JsonlAuditSink; redis: Redis } | null = null;

const team = Array.from({ length: 20 }, (_, i) => person(i + 1));
const userOf = (n: number) => h.sandbox.store.findUserByUserName(`user${n}@example.com`)!;

beforeEach(async () => {
  prefix = randomPrefix();
  // Every second (cron with a seconds field), no jitter.
  h = await Harness.start({ top: `${queueYaml(prefix)}schedule:\n  cron: "* * * * * *"\n  jitterMs: 0\n` });
  other = join(h.dir, 'other.yaml');
  writeFileSync(other, readFileSync(h.configFile, 'utf8').replace('\n  dir: state\n', '\n  dir: state-other\n'));
  redis = new Redis(REDIS_URL);
  h.writePeople(team);
  worker = await inProcessWorkers(other);
  const first = await h.run('--wait');
  expect(first.code, first.err + first.out).toBe(0);
  h.sandbox.clearRequests();
});
afterEach(async () => {
  await killTakers();
  await unschedule();
  await worker?.close();
  worker = null;
  redis.disconnect();
  await h.close();
  await cleanRedis(prefix);
});

/** A scheduler on the other machine. */
async function schedule(): Promise<{ lines: string[] }> {
  process.env['TEST_SCIM_TOKEN'] = TOKEN;
  const loaded = loadConfig(other);
  const audit = new JsonlAuditSink(loaded.auditFile);
  const lines: string[] = [];
  const connection = await connectRedis(loaded.config.queue!.redis);
  const handle = await startScheduler({ loaded, redis: connection, audit, log: (l) => lines.push(l), name: 'other-sched' });
  scheduler = { handle, lines, audit, redis: connection };
  return scheduler;
}

/** Stops the scheduler (its cycle in flight ends first). */
async function unschedule(): Promise<void> {
  await scheduler?.handle.close();
  await scheduler?.audit.close();
  scheduler?.redis.disconnect();
  scheduler = null;
}

/** The number of lines that say a cycle enqueued its plan, and the operation count of the last. */
const enqueued = (lines: string[]) => lines.map((l) => /enqueued plan-cycle-\S+ \((\d+) operations\)/.exec(l)).filter((m) => m !== null).map((m) => Number(m[1]));

describe('one person in distributed mode', () => {
  it('a deprovision from the CLI holds across scheduled cycles on another machine; release lifts it', async () => {
    const r = await h.cli('deprovision', '--config', h.configFile, '--user', 'E1003', '--reason', 'laptop stolen');
    expect(r.code, r.err + r.out).toBe(0);
    expect(r.out).toContain(`hold: stored in ${prefix}:state:holds`);
    expect(r.out).toMatch(/app: result: done/);
    expect(userOf(3)['active']).toBe(false);
    expect(JSON.parse((await redis.hget(`${prefix}:state:holds`, 'E1003'))!)).toMatchObject({ reason: 'laptop stolen', by: expect.stringMatching(/.+@.+/) });

    // The source still says E1003 is active: without the hold, a cycle would re-activate them.
    const s = await schedule();
    await waitUntil(() => enqueued(s.lines).length >= 2, 'two scheduled cycles');
    expect(enqueued(s.lines).every((n) => n === 0), s.lines.join('\n')).toBe(true);
    expect(userOf(3)['active']).toBe(false);
    expect(h.writes()).toHaveLength(1);

    const explain = await h.cli('explain', '--config', other, '--user', 'E1003');
    expect(explain.code, explain.err).toBe(0);
    expect(explain.out).toContain('held off by emergency deprovision ("laptop stolen"');

    const released = await h.cli('release', '--config', other, '--user', 'E1003');
    expect(released.code, released.err).toBe(0);
    expect(released.out).toContain('released E1003');
    expect(await redis.hget(`${prefix}:state:holds`, 'E1003')).toBeNull();
    await waitUntil(() => userOf(3)['active'] === true, 'a scheduled cycle to re-activate E1003');
    expect(enqueued(s.lines)).toContain(1);

    const again = await h.cli('release', '--config', h.configFile, '--user', 'E1003');
    expect(again.code).toBe(2);
    expect(again.err).toContain(`E1003 is not held by an emergency deprovision (no hold in ${prefix}:state:holds)`);
  });

  it('provision pushes one person through the workers and reports what they did', async () => {
    const created = h.sandbox.store.findUserByUserName('user2@example.com')!;
    h.sandbox.store.patchUser(String(created['id']), [{ op: 'replace', path: 'title', value: 'changed by hand' }]);
    h.sandbox.clearRequests();
    const r = await h.cli('provision', '--config', h.configFile, '--user', 'E1002');
    expect(r.code, r.err + r.out).toBe(0);
    expect(r.out).toMatch(/app: result: done/);
    expect(h.writes().map((w) => `${w.method} ${w.path}`)).toEqual([`PATCH /Users/${String(created['id'])}`]);
    expect(userOf(2)['title']).not.toBe('changed by hand');
  });
});

describe('staged sets in distributed mode', () => {
  it("a scheduled cycle's safety stop stages a set in Redis; approve from another machine applies it through the workers", async () => {
    h.writePeople(team.slice(0, 15));
    const s = await schedule();
    await waitUntil(() => s.lines.some((l) => /staged as st-[0-9a-f]{8}/.test(l)), 'a scheduled cycle to stop and stage');
    await unschedule();
    const id = /staged as (st-[0-9a-f]{8})/.exec(s.lines.join('\n'))![1]!;
    expect(h.writes()).toEqual([]);
    expect(await redis.hkeys(`${prefix}:state:staged`)).toEqual([id]);

    const list = await h.cli('staged', '--config', h.configFile, '--json');
    expect(list.code, list.err).toBe(0);
    expect(JSON.parse(list.out)).toEqual({ staged: [expect.objectContaining({ id, targets: [{ target: 'app', deprovisions: 5, managedUsers: 20 }] })], taken: [] });

    const approve = await h.cli('approve', id, '--config', h.configFile);
    expect(approve.code, approve.err + approve.out).toBe(0);
    expect(approve.out).toContain(`Approved ${id}`);
    expect(h.writes().filter((w) => w.method === 'PATCH' && w.path.startsWith('/Users/'))).toHaveLength(5);
    for (const n of [16, 17, 18, 19, 20]) expect(userOf(n)['active']).toBe(false);
    expect(await redis.hkeys(`${prefix}:state:staged`)).toEqual([]);
    expect(h.audit().find((a) => a['action'] === 'staged.approve')).toMatchObject({ initiator: 'cli' });
    const again = await h.cli('approve', id, '--config', other);
    expect(again.code).toBe(2);
    expect(again.err).toContain(`no staged set ${id}`);
  });

  it('a scheduled cycle stopped on an empty export stages nothing; an approve from another machine while it is empty is refused and the set kept', async () => {
    h.writePeople(team.slice(0, 15));
    const s = await schedule();
    await waitUntil(() => s.lines.some((l) => /staged as st-[0-9a-f]{8}/.test(l)), 'a scheduled cycle to stop and stage');
    await unschedule();
    const id = /staged as (st-[0-9a-f]{8})/.exec(s.lines.join('\n'))![1]!;
    // The export comes out empty: the cycles stop on it, stage nothing, and say to fix the source.
    writeFileSync(h.csv, peopleCsv([]));
    const t = await schedule();
    await waitUntil(() => t.lines.some((l) => l.includes('Nothing was staged to approve: the source read itself is in doubt')), 'a scheduled cycle to stop on the empty export');
    await unschedule();
    expect(await redis.hkeys(`${prefix}:state:staged`)).toEqual([id]);

    const approve = await h.cli('approve', id, '--config', other);
    expect(approve.code, approve.err + approve.out).toBe(3);
    expect(approve.err).toContain('the source returned 0 users (minimum 1)');
    expect(approve.err).toContain(`Staged set ${id} was not approved and stays staged`);
    expect(h.writes()).toEqual([]);
    for (let n = 1; n <= 20; n++) expect(userOf(n)['active']).toBe(true);
    expect(await redis.hkeys(`${prefix}:state:staged`)).toEqual([id]);
  });

  it('an approve whose process is killed midway: its set is shown as taken while it lives, then listed again (audited) and approved from another machine', async () => {
    h.writePeople(team.slice(0, 15));
    const stop = await h.run('--wait');
    expect(stop.code, stop.err + stop.out).toBe(3);
    const id = /staged as (st-[0-9a-f]{8})/.exec(stop.err)![1]!;
    const approving = await StagedTaker.start({ url: REDIS_URL, prefix }, id);
    expect(await redis.hkeys(`${prefix}:state:staged:taken`)).toEqual([id]);

    const live = await h.cli('staged', '--config', other, '--json');
    expect(live.code, live.err).toBe(0);
    expect(JSON.parse(live.out)).toEqual({ staged: [], taken: [expect.objectContaining({ id, takenBy: expect.objectContaining({ pid: approving.pid, host: hostname() }) })] });
    const busy = await h.cli('reject', id, '--config', other);
    expect(busy.code).toBe(2);
    expect(busy.err).toContain(`staged set ${id} is taken by pid ${approving.pid} on this host`);

    await approving.kill();
    const list = await h.cli('staged', '--config', other, '--json');
    expect(JSON.parse(list.out)).toEqual({ staged: [expect.objectContaining({ id, targets: [{ target: 'app', deprovisions: 5, managedUsers: 20 }] })], taken: [] });
    expect(await redis.hkeys(`${prefix}:state:staged:taken`)).toEqual([]);
    const recovered = readFileSync(join(h.dir, 'state-other', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r['action'] === 'staged.recovered');
    expect(recovered).toEqual([expect.objectContaining({ initiator: 'cli', note: expect.stringContaining(`by pid ${approving.pid} on this host`) })]);

    const approve = await h.cli('approve', id, '--config', h.configFile);
    expect(approve.code, approve.err + approve.out).toBe(0);
    for (const n of [16, 17, 18, 19, 20]) expect(userOf(n)['active']).toBe(false);
    expect(await redis.hkeys(`${prefix}:state:staged`)).toEqual([]);
  });

  it("reject from one machine keeps the deprovisions out of the other machine's runs until the source changes", async () => {
    h.writePeople(team.slice(0, 15));
    const stop = await h.run('--wait');
    expect(stop.code, stop.err + stop.out).toBe(3);
    const id = /staged as (st-[0-9a-f]{8})/.exec(stop.err)![1]!;

    const reject = await h.cli('reject', id, '--config', other);
    expect(reject.code, reject.err).toBe(0);
    expect(await redis.hlen(`${prefix}:state:rejections`)).toBe(5);

    const next = await h.run('--wait');
    expect(next.code, next.err + next.out).toBe(0);
    expect(next.out).toMatch(new RegExp(`5 deprovisions not planned: rejected \\(scim-sync reject ${id}\\)`));
    expect(h.writes()).toEqual([]);

    // E1017's record changes: their deprovision is planned again, and their rejection forgotten.
    h.writePeople([...team.slice(0, 15), { ...team[16]!, status: 'terminated' }]);
    const changed = await h.cli('run', '--config', other, '--wait');
    expect(changed.code, changed.err + changed.out).toBe(0);
    expect(userOf(17)['active']).toBe(false);
    expect((await redis.hkeys(`${prefix}:state:rejections`)).sort()).toEqual(['E1016', 'E1018', 'E1019', 'E1020'].map((k) => `app\n${k}`));
  });
});

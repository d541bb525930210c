/**
 * Real `scim-sync worker` processes sharing one queue: together they reach the same end state as
 * embedded mode, hold the target's rate limit together, survive one of them being
 * killed with SIGKILL mid-run (no lost and no duplicated operation), and stop gracefully on SIGTERM.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { CycleStore } from '../../src/execution/bullmq/cycle-store.js';
import type { ChunkJobData } from '../../src/execution/bullmq/queue-layout.js';
import { targetQueueName } from '../../src/state/redis-keys.js';
import { SCHEMA_ENTERPRISE_USER } from '../../src/model/scim.js';
import type { RecordedRequest } from '../../src/sandbox/index.js';
import { Harness, person, type Person } from '../support/harness.js';
import { REDIS_URL, WorkerProcess, cleanRedis, queueYaml, randomPrefix, waitUntil } from '../support/distributed.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(n: number, extraTarget = '', extra: (i: number) => Partial<Person> = () => ({})): Promise<{ h: Harness; prefix: string; people: Person[] }> {
  const prefix = randomPrefix();
  const h = await Harness.start({ top: queueYaml(prefix), target: extraTarget });
  cleanups.push(() => h.close(), () => cleanRedis(prefix));
  const people = Array.from({ length: n }, (_, i) => person(i + 1, { title: `Title ${i % 7}`, department: `Dept ${i % 5}`, ...extra(i + 1) }));
  h.writePeople(people);
  return { h, prefix, people };
}

async function startWorkers(h: Harness, names: string[]): Promise<WorkerProcess[]> {
  const workers = names.map((name) => new WorkerProcess(h.configFile, name));
  cleanups.push(async () => Promise.all(workers.map((w) => w.stop())));
  await Promise.all(workers.map((w) => w.ready()));
  return workers;
}

/**
 * What a target holds, without what the server makes up: ids (references to users are shown by
 * userName), meta. Users, then groups with their members.
 */
function endState(h: Harness): unknown[] {
  const userName = new Map(h.sandbox.store.users().map((u) => [u['id'] as string, u['userName'] as string]));
  const strip = (r: Record<string, unknown>) => {
    const { id: _id, meta: _meta, ...rest } = r;
    return rest;
  };
  const users = h.sandbox.store.users().map((u) => {
    const rest = strip(u as Record<string, unknown>);
    const ext = rest[SCHEMA_ENTERPRISE_USER] as Record<string, unknown> | undefined;
    const manager = ext?.['manager'] as { value?: string } | undefined;
    if (ext && manager?.value) rest[SCHEMA_ENTERPRISE_USER] = { ...ext, manager: userName.get(manager.value) };
    // The server's own view of memberships: by group name.
    if (Array.isArray(rest['groups'])) rest['groups'] = (rest['groups'] as { display?: string }[]).map((g) => g.display).sort();
    return rest;
  });
  const groups = h.sandbox.store.groups().map((g) => {
    const rest = strip(g as Record<string, unknown>);
    rest['members'] = ((g['members'] as { value: string }[] | undefined) ?? []).map((m) => userName.get(m.value)).sort();
    return rest;
  });
  const byName = (key: string) => (a: Record<string, unknown>, b: Record<string, unknown>) => String(a[key]).localeCompare(String(b[key]));
  return [...users.sort(byName('userName')), ...groups.sort(byName('displayName'))];
}

/** The same people synced by embedded mode into a fresh sandbox. */
async function embeddedEndState(people: Person[]): Promise<unknown[]> {
  const e = await Harness.start();
  try {
    e.writePeople(people);
    const r = await e.run();
    expect(r.code, r.err).toBe(0);
    return endState(e);
  } finally {
    await e.close();
  }
}

function duplicates(values: string[]): string[] {
  const seen = new Set<string>();
  return values.filter((v) => (seen.has(v) ? true : (seen.add(v), false)));
}

describe('two worker processes', () => {
  it('sync 10,000 users, their groups and managers with the same end state as embedded mode', async () => {
    // Every phase: 10,000 creates, 10 groups, their memberships (split per request), 1,000 manager references.
    const { h, people } = await setup(10_000, '', (i) => ({ groups: [`team-${i % 10}`], ...(i % 10 === 5 ? { manager: `E${1000 + i - 4}` } : {}) }));
    await startWorkers(h, ['w1', 'w2']);
    const r = await h.run('--wait');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('app: created 10000');
    expect(r.out).toMatch(/Total: \d+ ok, 0 failed, 0 skipped/);
    expect(h.sandbox.store.users()).toHaveLength(10_000);
    expect(h.sandbox.store.groups()).toHaveLength(10);
    expect(duplicates(h.sandbox.store.users().map((u) => String(u['userName'])))).toEqual([]);
    expect(endState(h)).toEqual(await embeddedEndState(people));
    // Converged: a second cycle sends nothing.
    h.sandbox.clearRequests();
    const again = await h.run('--wait');
    expect(again.code, again.err).toBe(0);
    expect(h.writes()).toEqual([]);
  }, 240_000);

  it("hold the target's rate limit together", async () => {
    const { h, prefix } = await setup(40, '    rateLimit: { requests: 5, perMs: 500 }');
    const workers = await startWorkers(h, ['rl1', 'rl2']);
    const r = await h.run('--wait');
    expect(r.code, r.err).toBe(0);
    const posts = h.writes().filter((w) => w.method === 'POST');
    expect(posts).toHaveLength(40);
    const at = posts.map((p) => p.at).sort((a, b) => a - b);
    // 5 per 500 ms across both workers, seen as the server's arrival times: 11 requests in a row span
    // two windows (1000 ms), where a limit held per worker would make it 500, and the whole run at
    // least the 7 windows it needs (3500 ms; 1500 per worker). A loaded machine delays a request
    // between its place in the window and its arrival by up to several hundred ms, which shortens
    // a span when it delays the first of the 11: judged by the median span, not every one.
    const spans = at.slice(10).map((t, i) => t - at[i]!).sort((a, b) => a - b);
    expect(spans[Math.floor(spans.length / 2)]!, `spans of 11 requests: ${spans.join(', ')}`).toBeGreaterThanOrEqual(850);
    expect(at[at.length - 1]! - at[0]!).toBeGreaterThanOrEqual(((40 - 5) / 5) * 500 - 600);
    // Both workers took part.
    const redis = new Redis(REDIS_URL);
    const queue = new Queue(targetQueueName('app'), { connection: redis, prefix });
    try {
      const by = new Set((await queue.getCompleted(0, -1)).map((j) => j.processedBy));
      expect([...by].sort()).toEqual(workers.map((w) => w.name).sort());
    } finally {
      await queue.close();
      redis.disconnect();
    }
  }, 60_000);

  it('a worker killed with SIGKILL mid-run: the other takes over its jobs, no account lost or duplicated', async () => {
    const { h, prefix, people } = await setup(3000);
    const workers = await startWorkers(h, ['k1', 'k2']);
    const run = h.run('--wait');
    await waitUntil(() => h.sandbox.store.users().length >= 1000, 'a third of the users to be created', 60_000);
    // The next 4 creates are committed but answered only after 4 s: at the kill, the victim has work
    // in flight whose result it never hears.
    const userName = (q: RecordedRequest) => String((q.body as Record<string, unknown>)['userName']);
    h.sandbox.addFault({ method: 'POST', path: '/Users', when: 'after', times: 4, action: { type: 'delay', ms: 4000 } });
    const slowPosts = () => h.sandbox.requests.filter((q) => q.faulted);
    await waitUntil(() => slowPosts().length === 4, 'the slow creates to be in flight', 30_000);
    const redis = new Redis(REDIS_URL);
    const queue = new Queue(targetQueueName('app'), { connection: redis, prefix });
    let victim: WorkerProcess;
    try {
      const active = await queue.getActive();
      // The victim is the worker holding a slow create: its answer then never reaches anyone.
      const slowNames = new Set(slowPosts().map(userName));
      const store = new CycleStore(redis, prefix, 60_000);
      const held = await Promise.all(active.map(async (j) => ({ j, ops: await store.chunkOperations(j.data as ChunkJobData) })));
      const holder = held.find(({ ops }) => ops.some((op) => op.kind === 'createUser' && slowNames.has(String(op.resource['userName']))))?.j;
      victim = workers.find((w) => w.name === holder?.processedBy)!;
      expect(victim, `no worker holds a slow create; active: ${active.map((j) => j.processedBy).join(', ')}`).toBeDefined();
      victim.kill('SIGKILL');
      expect((await victim.exited).signal).toBe('SIGKILL');
    } finally {
      await queue.close();
      redis.disconnect();
    }

    const r = await run;
    expect(r.code, r.err + r.out).toBe(0);
    expect(r.out).toContain('app: created 3000');
    expect(r.out).toContain('Total: 3000 ok, 0 failed, 0 skipped');
    const users = h.sandbox.store.users();
    expect(users).toHaveLength(3000);
    expect(duplicates(users.map((u) => String(u['userName'])))).toEqual([]);
    expect(duplicates(users.map((u) => String(u['externalId'])))).toEqual([]);
    // Each account was created by exactly one POST: answered 201, or committed but never answered (the
    // victim's), and then found by the survivor rather than posted again.
    const posts = h.sandbox.requests.filter((q: RecordedRequest) => q.method === 'POST');
    const created = posts.filter((q) => q.status === 201).map(userName);
    const unanswered = posts.filter((q) => q.status === 0).map(userName);
    expect(unanswered.length).toBeGreaterThan(0);
    expect(duplicates([...created, ...unanswered])).toEqual([]);
    expect(created.length + unanswered.length).toBe(3000);
    // The victim's unanswered creates were redone by the survivor, which found them instead of posting again.
    const audit = readFileSync(join(h.dir, 'state', 'audit.jsonl'), 'utf8');
    expect(audit).toMatch(/created \(confirmed after a lost answer\)|adopted its own earlier create/);
    // Only the operations of the victim's chunks without a recorded outcome were looked up again (by
    // userName, then by externalId when not found): at most the chunks it held, 2 of 16 operations
    // at concurrency 4, not the whole queue.
    const lookedUp = new Set(
      h.sandbox.requests
        .filter((q: RecordedRequest) => q.method === 'GET' && q.path === '/Users' && new URLSearchParams(q.query).has('filter'))
        .map((q) => {
          const filter = new URLSearchParams(q.query).get('filter')!;
          const byName = /user(\d+)@example\.com/.exec(filter);
          return byName ? Number(byName[1]) : Number(/E(\d+)/.exec(filter)?.[1]) - 1000;
        }),
    );
    expect(lookedUp.size).toBeGreaterThan(0);
    expect(lookedUp.size).toBeLessThanOrEqual(2 * 16);
    expect(endState(h)).toEqual(await embeddedEndState(people));
  }, 180_000);

  it('SIGTERM: a worker finishes the operations in flight, then exits 0; the rest waits for the next worker', async () => {
    const { h, prefix } = await setup(40);
    const [worker] = await startWorkers(h, ['t1']);
    h.sandbox.addFault({ method: 'POST', path: '/Users', times: 4, action: { type: 'delay', ms: 1500 } });
    const enqueued = await h.run();
    expect(enqueued.code, enqueued.err).toBe(0);
    await waitUntil(() => h.writes().length === 4, 'four creates in flight');
    worker!.kill('SIGTERM');
    await worker!.waitForLine(/stopping: finishing the operations in flight/);
    const exit = await worker!.exited;
    expect(exit.code).toBe(0);
    expect(worker!.lines).toContain('worker t1 stopped');
    // The four in flight completed; nothing else was started.
    expect(h.sandbox.store.users()).toHaveLength(4);
    expect(h.writes().every((w) => w.status === 201)).toBe(true);
    // Its chunks went back to the queue (nothing active, nothing lost), and only the four have an outcome.
    const redis = new Redis(REDIS_URL);
    const queue = new Queue(targetQueueName('app'), { connection: redis, prefix });
    try {
      expect(await queue.getJobCounts('completed', 'active', 'failed')).toMatchObject({ completed: 0, active: 0, failed: 0 });
      const waiting = await queue.getWaiting();
      expect(waiting.reduce((n, j) => n + (j.data as ChunkJobData).count, 0)).toBe(40);
      const outcomes = Object.keys(await redis.hgetall((await redis.keys(`${prefix}:state:outcomes:*`))[0]!));
      expect(outcomes).toHaveLength(4);
    } finally {
      await queue.close();
      redis.disconnect();
    }
    await startWorkers(h, ['t2']);
    await waitUntil(() => h.sandbox.store.users().length === 40, 'the next worker to finish the cycle');
    const status = await h.cli('status', '--config', h.configFile);
    await waitUntil(async () => (await h.cli('status', '--config', h.configFile)).out.includes('app: created 40'), 'the cycle report');
    expect(status.code).toBe(0);
  }, 60_000);
});

describe('a worker that cannot write its provisioning log', () => {
  it('takes no further job, says why, and exits 1; the cycle is left to other workers', async () => {
    const { h } = await setup(5);
    // The worker's own config (another machine): its log on a full device.
    const other = join(h.dir, 'other.yaml');
    writeFileSync(other, readFileSync(h.configFile, 'utf8').replace('\n  dir: state\n', '\n  dir: state-other\naudit:\n  file: /dev/full\n'));
    const worker = new WorkerProcess(other, 'full-disk');
    cleanups.push(() => worker.stop());
    await worker.ready();
    const r = await h.run();
    expect(r.code, r.err).toBe(0);
    await worker.waitForLine(/error: .*\/dev\/full.*takes no further job/);
    expect((await worker.exited).code).toBe(1);
    // A healthy worker finishes the cycle: every person is created, none twice.
    await startWorkers(h, ['healthy']);
    await expect.poll(() => h.sandbox.store.users().length, { timeout: 30_000 }).toBe(5);
    expect(h.writes().filter((w) => w.method === 'POST' && w.path === '/Users').length).toBeLessThanOrEqual(5);
  }, 60_000);
});

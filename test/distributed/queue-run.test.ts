/**
 * Distributed mode against a real Redis and the sandbox, with a worker in this process: run and apply
 * enqueue, phases keep their order, job ids are idempotent, errors take BullMQ's paths (retry with
 * backoff, 429 pause, unrecoverable), dead letters show in status and `retry` re-queues them.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONTROL_QUEUE, targetQueueName } from '../../src/state/redis-keys.js';
import { SCHEMA_ENTERPRISE_USER } from '../../src/model/scim.js';
import { runCommand } from '../../src/cli/commands.js';
import { InterruptedError } from '../../src/errors.js';
import { HELD_TTL_MS, lockTokenHolder, newLockToken } from '../../src/state/redis-run-lock.js';
import { Harness, person, TOKEN, type Person } from '../support/harness.js';
import { REDIS_URL, cleanRedis, inProcessWorkers, queueYaml, randomPrefix, waitUntil } from '../support/distributed.js';

let h: Harness;
let prefix: string;
let redis: Redis;
let worker: Awaited<ReturnType<typeof inProcessWorkers>> | null;
const people: Person[] = Array.from({ length: 20 }, (_, i) => person(i + 1));

beforeEach(async () => {
  prefix = randomPrefix();
  h = await Harness.start({ top: queueYaml(prefix) });
  h.writePeople(people);
  redis = new Redis(REDIS_URL);
  worker = null;
});
afterEach(async () => {
  await worker?.close();
  redis.disconnect();
  await h.close();
  await cleanRedis(prefix);
});

/** The harness writes concurrency 4; some tests need one operation at a time to be exact. */
function oneAtATime(): void {
  writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('concurrency: 4', 'concurrency: 1'));
}

const startWorker = async () => {
  worker = await inProcessWorkers(h.configFile);
};

function audit(): Record<string, unknown>[] {
  return readFileSync(join(h.dir, 'state', 'audit.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('run and apply through the queue', () => {
  it('run --wait-timeout with no worker stops waiting, says the cycle goes on, exits 1; a worker then finishes it', async () => {
    const r = await h.run('--wait-timeout', '1s');
    expect(r.code, r.err + r.out).toBe(1);
    expect(r.out).toContain('still running after 1 s of waiting: the workers go on with it (scim-sync status shows where it is)');
    // 20 creates wait on the workers: not "nothing to do".
    expect(r.out).toMatch(/^ {2}app: nothing done$/m);
    expect(h.writes()).toEqual([]);
    await startWorker();
    await waitUntil(() => h.sandbox.store.users().length === 20, 'the worker to finish the cycle');
    const bad = await h.run('--wait-timeout', 'soon');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('"soon" is not a duration (write 90s, 30m, 2h, 7d or 500ms)');
  });

  it('run --wait whose cycle Redis forgot fails clearly instead of waiting forever, and says no worker is connected', async () => {
    writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('  stalledIntervalMs: 500', '  stalledIntervalMs: 500\n  idleWarningMs: 100'));
    const lines: string[] = [];
    process.env['TEST_SCIM_TOKEN'] = TOKEN;
    const running = runCommand({ config: h.configFile, wait: true }, { out: (t) => lines.push(t), err: (t) => lines.push(t) });
    await waitUntil(() => lines.some((l) => l.includes('no worker has been connected to its queue')), 'the no-worker notice');
    expect(lines.join('\n')).toMatch(/waiting for target app: no worker has been connected to its queue for \d+ s; start one with scim-sync worker/);
    // As a Redis without persistence restarted mid-cycle: everything of this prefix is gone.
    await cleanRedis(prefix);
    expect(await running, lines.join('\n')).toBe(1);
    expect(lines.join('\n')).toContain("the cycle's data is gone from Redis (restarted without persistence, or evicted): no worker can finish it");
    expect(h.writes()).toEqual([]);
  });

  it('run --wait interrupted stops waiting, says the cycle goes on, audits it, exits 130; a worker then finishes it', async () => {
    const stop = new AbortController();
    const lines: string[] = [];
    process.env['TEST_SCIM_TOKEN'] = TOKEN;
    const running = runCommand({ config: h.configFile, wait: true, signal: stop.signal }, { out: (t) => lines.push(t), err: (t) => lines.push(t) });
    await waitUntil(() => existsSync(join(h.dir, 'state', 'audit.jsonl')) && readFileSync(join(h.dir, 'state', 'audit.jsonl'), 'utf8').includes('"apply.start"'), 'the apply to start');
    stop.abort(new InterruptedError('SIGINT'));
    expect(await running, lines.join('\n')).toBe(130);
    expect(lines.join('\n')).toContain('still running when waiting was interrupted: the workers go on with it (scim-sync status shows where it is)');
    expect(audit().at(-1)).toMatchObject({ action: 'apply.interrupted' });
    await startWorker();
    await waitUntil(() => h.sandbox.store.users().length === 20, 'the worker to finish the cycle');
  });

  it('unlock removes a target lock left on another host; one held by a live process here only with --force', async () => {
    const key = `${prefix}:state:lock:app`;
    await redis.set(key, 'run-old-container-4242-0123abcd', 'PX', 600_000);
    const locked = await h.run('--wait');
    expect(locked.code).toBe(4);
    expect(locked.err).toContain('target app is locked by another cycle (run-old-container-4242-0123abcd');
    const u = await h.cli('unlock', '--config', h.configFile);
    expect(u.code, u.err).toBe(0);
    expect(u.out).toMatch(/^Removed: target app is locked by run-old-container-4242-0123abcd \(expires in \d+ s unless renewed\)/);
    expect(await redis.get(key)).toBeNull();
    expect((await h.cli('unlock', '--config', h.configFile)).out).toBe('No target is locked.');

    const mine = newLockToken('run');
    await redis.set(key, mine, 'PX', 600_000);
    const refused = await h.cli('unlock', '--config', h.configFile);
    expect(refused.code).toBe(4);
    expect(refused.err).toContain(`error: target app is locked by ${mine}`);
    expect(refused.err).toContain(`scim-sync unlock --config ${h.configFile} --force`);
    expect(await redis.get(key)).toBe(mine);
    expect((await h.cli('unlock', '--config', h.configFile, '--force')).code).toBe(0);
    expect(await redis.get(key)).toBeNull();
    expect(h.writes()).toEqual([]);

    // Two targets: the one still in use is refused, the other is freed all the same.
    writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('targets:\n', `targets:\n  crm:\n    url: ${h.sandbox.url}\n    auth: { type: bearer, token: "\${env:TEST_SCIM_TOKEN}" }\n`));
    await redis.set(`${prefix}:state:lock:crm`, mine, 'PX', 600_000);
    await redis.set(key, 'run-old-container-4242-0123abcd', 'PX', 600_000);
    const both = await h.cli('unlock', '--config', h.configFile);
    expect(both.code).toBe(4);
    expect(both.err).toContain(`error: target crm is locked by ${mine}`);
    expect(both.out).toMatch(/Removed: target app is locked by run-old-container-4242-0123abcd/);
    expect(await redis.get(key)).toBeNull();
    expect(await redis.get(`${prefix}:state:lock:crm`)).toBe(mine);
  });

  it("unlock leaves a planner's lock from a twin host (this hostname, another PID space) while its TTL is renewed, and removes it once renewals stopped", async () => {
    const key = `${prefix}:state:lock:app`;
    const host = lockTokenHolder(newLockToken('run'))!.host;
    // A pid that cannot exist here (above the kernel's largest): from here, the twin's live planner looks gone.
    const pid = 2 ** 22 + 17;
    const twin = `run-${host}-${pid}.0badf00d-0123abcd`;
    // As scim-sync wrote tokens before they named their PID space: nothing says where that pid is.
    const legacy = `run-${host}-${pid}-0123abcd`;
    for (const token of [twin, legacy]) {
      // Just renewed by its planner: HELD_TTL_MS left.
      await redis.set(key, token, 'PX', HELD_TTL_MS);
      const refused = await h.cli('unlock', '--config', h.configFile);
      expect(refused.code, refused.out).toBe(4);
      expect(refused.err).toContain(`error: target app is locked by ${token}`);
      expect(refused.err).toContain('cannot be looked at from here (another host, or this host\'s name in another PID space) and may still be renewing it');
      expect(refused.err).toContain(`scim-sync unlock --config ${h.configFile} --force`);
      expect(await redis.get(key)).toBe(token);
      // Two renewals missed in a row: no one keeps it any more.
      await redis.pexpire(key, HELD_TTL_MS / 3 - 1000);
      const freed = await h.cli('unlock', '--config', h.configFile);
      expect(freed.code, freed.err).toBe(0);
      expect(freed.out).toContain(`Removed: target app is locked by ${token}`);
      expect(await redis.get(key)).toBeNull();
    }
    // This PID space's digest, and a pid gone from it: judged by the pid, as before, however fresh the TTL.
    const gone = newLockToken('run').replace(`-${process.pid}.`, `-${pid}.`);
    expect(gone).not.toBe(newLockToken('run'));
    await redis.set(key, gone, 'PX', HELD_TTL_MS);
    const u = await h.cli('unlock', '--config', h.configFile);
    expect(u.code, u.err).toBe(0);
    expect(await redis.get(key)).toBeNull();
    expect(h.writes()).toEqual([]);
  });

  it('run --wait creates every user through the workers, keeps links in Redis, and converges', async () => {
    await startWorker();
    const first = await h.run('--wait');
    expect(first.code, first.err).toBe(0);
    expect(first.out).toContain('app: created 20');
    expect(h.writes()).toHaveLength(20);
    expect(h.sandbox.store.users()).toHaveLength(20);
    const links = await redis.hgetall(`${prefix}:state:links:app:user`);
    expect(Object.keys(links).sort()).toEqual(people.map((p) => p.id).sort());
    const u1 = h.sandbox.store.findUserByUserName('user1@example.com')!;
    expect(JSON.parse(links['E1001']!)).toMatchObject({ id: u1['id'] });
    // Embedded state is not used in this mode.
    expect(() => readFileSync(join(h.dir, 'state', 'links.json'))).toThrow();

    const creates = audit().filter((a) => a['action'] === 'createUser');
    expect(creates).toHaveLength(20);
    expect(creates[0]).toMatchObject({ target: 'app', outcome: 'ok', attempts: 1 });

    h.sandbox.clearRequests();
    const second = await h.run('--wait');
    expect(second.code, second.err).toBe(0);
    expect(h.writes()).toEqual([]);
    expect(second.out).toContain('no changes');
  });

  it('one job per chunk of a phase, its id <planId>_p<phase>_<first>_<count>: no ":" and never an integer', async () => {
    const planFile = join(h.dir, 'plan.json');
    expect((await h.cli('plan', '--config', h.configFile, '--out', planFile)).code).toBe(0);
    const r = await h.cli('apply', planFile, '--config', h.configFile);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('Enqueued');
    await startWorker();
    const queue = new Queue(targetQueueName('app'), { connection: redis, prefix });
    const control = new Queue(CONTROL_QUEUE, { connection: redis, prefix });
    try {
      const plan = JSON.parse(readFileSync(planFile, 'utf8')) as { id: string };
      // Concurrency 4: chunks of 16 operations, so the 20 creates are two jobs.
      await expect.poll(async () => (await queue.getCompleted(0, -1)).map((j) => j.id!).sort(), { timeout: 20_000 }).toEqual([`${plan.id}_p0_0_16`, `${plan.id}_p0_16_4`]);
      const controlIds = (await control.getJobs(['completed', 'waiting', 'active', 'waiting-children'])).map((j) => j.id!);
      for (const id of [`${plan.id}_p0_0_16`, ...controlIds]) {
        expect(id).not.toContain(':');
        expect(id).not.toMatch(/^\d+$/);
        expect(id.startsWith(`${plan.id}_`)).toBe(true);
      }
    } finally {
      await queue.close();
      await control.close();
    }
  });

  it('enqueueing the same plan again does nothing twice', async () => {
    await startWorker();
    const planFile = join(h.dir, 'plan.json');
    expect((await h.cli('plan', '--config', h.configFile, '--out', planFile)).code).toBe(0);
    const first = await h.cli('apply', planFile, '--config', h.configFile, '--wait');
    expect(first.code, first.err).toBe(0);
    expect(first.out).toContain('app: created 20');
    h.sandbox.clearRequests();
    const again = await h.cli('apply', planFile, '--config', h.configFile, '--wait');
    expect(again.code, again.err).toBe(0);
    // apply reads the target again to check the plan: every create is already in place, nothing is written.
    expect(again.out).toContain('app: created 0 (20 already done)');
    expect(h.sandbox.requests.filter((q) => q.method !== 'GET')).toEqual([]);
    expect(h.sandbox.store.users()).toHaveLength(20);
  });

  it('runs phases in order: every deprovisioning after every user write, across the queue', async () => {
    await startWorker();
    expect((await h.run('--wait')).code).toBe(0);
    // 2 leave, 1 changes, 3 join: the users phase (4 writes) must finish before the deprovision phase.
    const next = [
      ...people.filter((p) => p.id !== 'E1002' && p.id !== 'E1009').map((p) => (p.id === 'E1005' ? { ...p, title: 'Lead' } : p)),
      person(31),
      person(32),
      person(33),
    ];
    h.writePeople(next);
    // A slow users phase: a deprovision that did not wait for it would overtake it.
    h.sandbox.addFault({ method: 'POST', path: '/Users', times: 3, action: { type: 'delay', ms: 300 } });
    h.sandbox.clearRequests();
    const r = await h.run('--wait');
    expect(r.code, r.err).toBe(0);
    const writes = h.writes();
    expect(writes).toHaveLength(6);
    const deactivations = writes.filter((w) => JSON.stringify(w.body).includes('"active","value":false') || JSON.stringify(w.body).includes('"path":"active"'));
    expect(deactivations).toHaveLength(2);
    const firstDeactivation = Math.min(...deactivations.map((w) => writes.indexOf(w)));
    expect(firstDeactivation).toBe(4);
    expect(h.sandbox.store.findUserByUserName('user2@example.com')!['active']).toBe(false);
    expect(h.sandbox.store.findUserByUserName('user5@example.com')!['title']).toBe('Lead');
  });

  it('groups, memberships and manager references go through the queue phase by phase', async () => {
    await startWorker();
    h.writePeople([
      person(1, { groups: ['engineering', 'eng-admins'] }),
      person(2, { groups: ['engineering'], manager: 'E1001' }),
      person(3, { groups: ['sales'], manager: 'E1001' }),
      person(4, { groups: ['sales', 'engineering'] }),
      person(5),
    ]);
    const r = await h.run('--wait');
    expect(r.code, r.err + r.out).toBe(0);
    // Users, then groups (created empty), then memberships, then manager references.
    const writes = h.writes().map((w) => `${w.method} ${w.path.split('/')[1]}`);
    expect(writes).toEqual([...Array(5).fill('POST Users'), ...Array(3).fill('POST Groups'), ...Array(3).fill('PATCH Groups'), ...Array(2).fill('PATCH Users')]);
    const userName = new Map(h.sandbox.store.users().map((u) => [u['id'] as string, u['userName'] as string]));
    const members = Object.fromEntries(
      h.sandbox.store.groups().map((g) => [g['displayName'], ((g['members'] as { value: string }[]) ?? []).map((m) => userName.get(m.value)).sort()]),
    );
    expect(members).toEqual({
      engineering: ['user1@example.com', 'user2@example.com', 'user4@example.com'],
      'eng-admins': ['user1@example.com'],
      sales: ['user3@example.com', 'user4@example.com'],
    });
    const u1 = h.sandbox.store.findUserByUserName('user1@example.com')!;
    const manager = (u: string) => ((h.sandbox.store.findUserByUserName(u)![SCHEMA_ENTERPRISE_USER] as Record<string, { value?: string }>)['manager'])?.value;
    expect(manager('user2@example.com')).toBe(u1['id']);
    expect(manager('user3@example.com')).toBe(u1['id']);
    expect(Object.keys(await redis.hgetall(`${prefix}:state:links:app:group`))).toHaveLength(3);
    h.sandbox.clearRequests();
    expect((await h.run('--wait')).code).toBe(0);
    expect(h.writes()).toEqual([]);
  });

  it('run without --wait enqueues and returns; the workers finish the cycle later', async () => {
    const r = await h.run();
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/Enqueued plan-[0-9a-f-]+: 20 operations/);
    expect(h.writes()).toEqual([]);
    // The target stays locked until the enqueued cycle is done: another run cannot start.
    const locked = await h.run();
    expect(locked.code).toBe(4);
    expect(locked.err).toContain('target app is locked by another cycle');
    await startWorker();
    await expect.poll(() => h.sandbox.store.users().length, { timeout: 20_000 }).toBe(20);
    await expect.poll(async () => redis.get(`${prefix}:state:lock:app`), { timeout: 20_000 }).toBeNull();
    const status = await h.cli('status', '--config', h.configFile);
    expect(status.code, status.err).toBe(0);
    expect(status.out).toContain('no cycle running');
    expect(status.out).toContain('app: created 20');
  });
});

describe('errors on the queue', () => {
  it('a transient 503 is retried with backoff and succeeds', async () => {
    await startWorker();
    h.writePeople([person(1)]);
    h.sandbox.addFault({ method: 'POST', path: '/Users', times: 2, action: { type: 'status', status: 503 } });
    const r = await h.run('--wait');
    expect(r.code, r.err).toBe(0);
    expect(h.writes().map((w) => w.status)).toEqual([503, 503, 201]);
    expect(audit().find((a) => a['action'] === 'createUser')).toMatchObject({ outcome: 'ok', attempts: 3 });
  });

  it('a 400 fails at once (no retry), is kept with its reason, shown by status, and `retry` re-queues it', async () => {
    await startWorker();
    h.writePeople([person(1), person(2)]);
    h.sandbox.addFault({ method: 'POST', path: '/Users', times: 1, action: { type: 'status', status: 400, detail: 'title is not allowed here' } });
    const r = await h.run('--wait');
    expect(r.code).toBe(1);
    expect(r.out).toContain('title is not allowed here');
    // One attempt only for the failed create; the other user was created.
    expect(h.writes().filter((w) => w.method === 'POST')).toHaveLength(2);
    expect(h.sandbox.store.users()).toHaveLength(1);

    const status = await h.cli('status', '--config', h.configFile);
    expect(status.code, status.err).toBe(0);
    expect(status.out).toMatch(/✗ createUser user\d@example.com \(E100\d\) in plan-[0-9a-f-]+, 1 attempt, .*\[BAD_REQUEST\].*title is not allowed here/);
    const json = JSON.parse((await h.cli('status', '--config', h.configFile, '--json')).out) as { targets: { failed: unknown[]; counts: Record<string, number> }[] };
    expect(json.targets[0]!.failed).toHaveLength(1);
    // Counts are of operations: the one chunk of two completed, one of them failed.
    expect(json.targets[0]!.counts).toMatchObject({ failed: 1, completed: 1, waiting: 0, active: 0 });

    const retried = await h.cli('retry', '--config', h.configFile);
    expect(retried.code, retried.err).toBe(0);
    expect(retried.out).toMatch(/app: 1 failed operation re-queued as cycle plan-retry-[0-9a-f-]+, in phase order/);
    // The retry's apply is recorded whole, start and end, as a run's is.
    const retryId = /plan-retry-[0-9a-f-]+/.exec(retried.out)![0];
    expect(h.audit().filter((r) => r['planId'] === retryId && String(r['action']).startsWith('apply.')).map((r) => r['action'])).toEqual(['apply.start', 'apply.end']);
    await expect.poll(() => h.sandbox.store.users().length, { timeout: 20_000 }).toBe(2);
    await expect
      .poll(async () => (JSON.parse((await h.cli('status', '--config', h.configFile, '--json')).out) as typeof json).targets[0]!.counts['failed'], { timeout: 10_000 })
      .toBe(0);
  });

  it('retry drops a failed operation the source has taken back since: a deactivation of someone back, an update undone', async () => {
    await startWorker();
    h.writePeople([person(1), person(2), person(3)]);
    expect((await h.run('--wait')).code).toBe(0);
    // person 3 leaves and person 2's title changes; both writes are refused for good.
    h.writePeople([person(1), person(2, { title: 'Manager' })]);
    h.sandbox.addFault({ method: 'PATCH', path: '/Users/', times: 2, action: { type: 'status', status: 400, detail: 'refused for now' } });
    expect((await h.run('--wait')).code).toBe(1);
    // Then the source takes both back: person 3 is back, person 2 an Engineer again.
    h.writePeople([person(1), person(2), person(3)]);
    h.sandbox.clearRequests();
    const retried = await h.cli('retry', '--config', h.configFile);
    expect(retried.code, retried.err).toBe(0);
    expect(retried.out).toContain('app: 0 failed operations re-queued');
    expect(retried.out).toMatch(/app: 2 failed operations dropped, not re-queued .*: (deprovisionUser|updateUser) .*stale: the source record changed since the plan was made|back in the source/);
    expect(retried.out).toContain('stale: back in the source since the plan was made');
    expect(h.writes()).toEqual([]);
    const user = (n: number) => h.sandbox.store.findUserByUserName(`user${n}@example.com`)!;
    expect(user(3)['active']).toBe(true);
    expect(user(2)['title']).toBe('Engineer');
    // Dropped, not kept: status lists no failed operation.
    const status = JSON.parse((await h.cli('status', '--config', h.configFile, '--json')).out) as { targets: { failed: unknown[] }[] };
    expect(status.targets[0]!.failed).toEqual([]);
  });

  it('retry does not undo an emergency deprovision: a failed create of someone held since is dropped, naming the hold', async () => {
    await startWorker();
    h.writePeople([person(1), person(2)]);
    h.sandbox.addFault({ method: 'POST', path: '/Users', times: 1, action: { type: 'status', status: 400, detail: 'refused for now' } });
    expect((await h.run('--wait')).code).toBe(1);
    const missing = [1, 2].find((n) => !h.sandbox.store.findUserByUserName(`user${n}@example.com`))!;
    // Security cuts the person off before anyone retries.
    const held = await h.cli('deprovision', '--config', h.configFile, '--user', `E100${missing}`, '--reason', 'offer withdrawn');
    expect(held.code, held.err + held.out).toBe(0);
    h.sandbox.clearRequests();
    const retried = await h.cli('retry', '--config', h.configFile);
    expect(retried.code, retried.err).toBe(0);
    expect(retried.out).toContain('app: 0 failed operations re-queued');
    expect(retried.out).toContain(`held: E100${missing}: held off by emergency deprovision ("offer withdrawn"`);
    expect(h.writes()).toEqual([]);
    expect(h.sandbox.store.findUserByUserName(`user${missing}@example.com`)).toBeUndefined();
  });

  it('retry that cannot read a target to check its failed operations keeps them, re-queues nothing there, and exits 1', async () => {
    await startWorker();
    h.writePeople([person(1), person(2)]);
    h.sandbox.addFault({ method: 'POST', path: '/Users', times: 1, action: { type: 'status', status: 400, detail: 'refused for now' } });
    expect((await h.run('--wait')).code).toBe(1);
    h.sandbox.addFault({ method: 'GET', path: '/Users', times: Infinity, action: { type: 'status', status: 400, detail: 'listing refused' } });
    const retried = await h.cli('retry', '--config', h.configFile);
    expect(retried.code, retried.out + retried.err).toBe(1);
    expect(retried.out).toContain('app: 0 failed operations re-queued');
    expect(retried.out).toMatch(/app: the failed operations stay failed, not re-queued: cannot check the plan against the target: .*listing refused/);
    h.sandbox.clearFaults();
    const status = JSON.parse((await h.cli('status', '--config', h.configFile, '--json')).out) as { targets: { failed: unknown[] }[] };
    expect(status.targets[0]!.failed).toHaveLength(1);
  });

  it('retry runs the failed operations as a cycle of their own in phase order: the create before the membership that needs it', async () => {
    writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('concurrency: 4', 'concurrency: 4\n    retries: 1'));
    await startWorker();
    h.writePeople([person(1, { groups: ['eng'] }), person(2, { groups: ['eng'] })]);
    // One create and the membership change fail for good (one attempt each).
    h.sandbox.addFault({ method: 'POST', path: '/Users', times: 1, action: { type: 'status', status: 503 } });
    h.sandbox.addFault({ method: 'PATCH', path: '/Groups', times: 1, action: { type: 'status', status: 503 } });
    expect((await h.run('--wait')).code).toBe(1);
    const failedBefore = (JSON.parse((await h.cli('status', '--config', h.configFile, '--json')).out) as { targets: { failed: unknown[] }[] }).targets[0]!.failed;
    expect(failedBefore).toHaveLength(2);

    h.sandbox.clearRequests();
    const retried = await h.cli('retry', '--config', h.configFile);
    expect(retried.code, retried.err).toBe(0);
    expect(retried.out).toMatch(/app: 2 failed operations re-queued as cycle plan-retry-/);
    const eng = () => h.sandbox.store.groups().find((g) => g['displayName'] === 'eng');
    await expect.poll(() => ((eng()?.['members'] as unknown[]) ?? []).length, { timeout: 20_000 }).toBe(2);
    // The users phase before the memberships phase.
    expect(h.writes().map((w) => `${w.method} ${w.path.split('/')[1]}`)).toEqual(['POST Users', 'PATCH Groups']);
    await expect
      .poll(async () => JSON.parse((await h.cli('status', '--config', h.configFile, '--json')).out) as { targets: { failed: unknown[]; lastCycle?: { planId: string } }[] }, { timeout: 10_000 })
      .toMatchObject({ targets: [{ failed: [], lastCycle: { planId: expect.stringMatching(/^plan-retry-/) } }] });
    // Counted once: a second retry finds nothing.
    expect((await h.cli('retry', '--config', h.configFile)).out).toContain('app: 0 failed operations re-queued');
  });

  it('a failed job of before chunks (one operation each) is still listed by status and taken by retry', async () => {
    const planFile = join(h.dir, 'plan.json');
    expect((await h.cli('plan', '--config', h.configFile, '--out', planFile)).code).toBe(0);
    const plan = JSON.parse(readFileSync(planFile, 'utf8')) as { id: string; targets: { phases: { operations: { id: string }[] }[] }[] };
    const op = plan.targets[0]!.phases[0]!.operations[0]!;
    // As the previous version left its dead letters: a job per operation, failed with it.
    const queue = new Queue(targetQueueName('app'), { connection: redis, prefix });
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const old = new Worker(targetQueueName('app'), async () => {
      throw new UnrecoverableError('[BAD_REQUEST] title is not allowed here');
    }, { connection, prefix });
    try {
      await queue.add('createUser', { planId: plan.id, target: 'app', lockToken: 'old', op }, { jobId: `${plan.id}_${op.id}`, removeOnFail: false });
      await expect.poll(async () => (await queue.getJobCounts('failed'))['failed'], { timeout: 10_000 }).toBe(1);
    } finally {
      await old.close();
      await queue.close();
      connection.disconnect();
    }
    const json = JSON.parse((await h.cli('status', '--config', h.configFile, '--json')).out) as { targets: { failed: { externalId: string; reason: string }[]; counts: Record<string, number> }[] };
    expect(json.targets[0]!.failed).toMatchObject([{ externalId: 'E1001', reason: '[BAD_REQUEST] title is not allowed here' }]);
    expect(json.targets[0]!.counts['failed']).toBe(1);
    await startWorker();
    const retried = await h.cli('retry', '--config', h.configFile);
    expect(retried.out).toMatch(/app: 1 failed operation re-queued as cycle plan-retry-/);
    await expect.poll(() => h.sandbox.store.findUserByUserName('user1@example.com') !== undefined, { timeout: 20_000 }).toBe(true);
    await expect
      .poll(async () => (JSON.parse((await h.cli('status', '--config', h.configFile, '--json')).out) as typeof json).targets[0]!.counts['failed'], { timeout: 10_000 })
      .toBe(0);
  });

  it('a 429 pauses the whole target for its Retry-After, then goes on', async () => {
    oneAtATime();
    await startWorker();
    h.writePeople(people.slice(0, 5));
    h.sandbox.addFault({ method: 'POST', path: '/Users', times: 1, action: { type: 'status', status: 429, retryAfter: '1' } });
    const r = await h.run('--wait');
    expect(r.code, r.err).toBe(0);
    const writes = h.writes();
    expect(writes.map((w) => w.status)).toEqual([429, 201, 201, 201, 201, 201]);
    // Nothing reached the target until the server's Retry-After had passed.
    expect(writes[1]!.at - writes[0]!.at).toBeGreaterThanOrEqual(1000);
    expect(h.sandbox.store.users()).toHaveLength(5);
  });

  it('a rejected credential stops the target: the rest of the cycle is skipped, exit 1', async () => {
    oneAtATime();
    await startWorker();
    h.sandbox.addFault({ method: 'POST', path: '/Users', times: 1, action: { type: 'status', status: 401 } });
    const r = await h.run('--wait');
    expect(r.code).toBe(1);
    expect(r.out).toContain('(19 skipped)');
    expect(r.out).toContain('✗ stopped:');
    // The workers' config holds the credential that was refused, not necessarily the one of `run`.
    expect(r.out).toContain(`(the credential in the workers' config, ${h.configFile})`);
    expect(h.writes()).toHaveLength(1);
  });
});

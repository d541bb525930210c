/**
 * `scim-sync retry` is held to what holds a run: the fresh read that decides which failed operations
 * still hold passes the source's safety rules, and the retry's own operations the safety check, or
 * nothing is re-queued (exit 3) and every failed operation stays listed. Each failed operation is
 * re-queued, dropped or kept on its own: a leaver's two accounts are two operations, the same
 * operation failed in two cycles is sent once, and only what was re-queued or decided by the fresh
 * read leaves the failed list. A target in quarantine is left out as `run` leaves it out: no request,
 * its failed operations kept as they are, exit 1. Against a real Redis, the sandbox and a worker in
 * this process.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { addTarget, Harness, peopleCsv, person, TOKEN, type Person } from '../support/harness.js';
import { REDIS_URL, cleanRedis, inProcessWorkers, queueYaml, randomPrefix } from '../support/distributed.js';

let h: Harness;
let prefix: string;
let worker: Awaited<ReturnType<typeof inProcessWorkers>>;
const people: Person[] = Array.from({ length: 20 }, (_, i) => person(i + 1));

beforeEach(async () => {
  prefix = randomPrefix();
  h = await Harness.start({ top: queueYaml(prefix) });
  h.writePeople(people);
  worker = await inProcessWorkers(h.configFile);
  const first = await h.run('--wait');
  expect(first.code, first.err + first.out).toBe(0);
});
afterEach(async () => {
  await worker.close();
  await h.close();
  await cleanRedis(prefix);
});

const refused = (times: number) => h.sandbox.addFault({ method: 'PATCH', path: '/Users', times, action: { type: 'status', status: 400, detail: 'refused for now' } });

async function failed(): Promise<{ externalId: string; kind: string }[]> {
  const status = JSON.parse((await h.cli('status', '--config', h.configFile, '--json')).out) as { targets: { failed: { externalId: string; kind: string }[] }[] };
  return status.targets[0]!.failed;
}

/** E1020 leaves (1 of 20, under the limit); the deactivation is refused and kept as failed. */
async function leaverRefused(): Promise<void> {
  h.writePeople(people.slice(0, 19));
  refused(1);
  expect((await h.run('--wait')).code).toBe(1);
}

const active = (userName: string) => h.sandbox.store.findUserByUserName(userName)!['active'];
const patches = () => h.writes().filter((w) => w.method === 'PATCH');

it('retry on a source read that run refuses (an empty export) re-queues nothing: exit 3 with the reasons, the failed operation kept', async () => {
  await leaverRefused();
  // E1020 comes back; then the export breaks: its header only. `run` refuses it.
  writeFileSync(h.csv, peopleCsv([]));
  expect((await h.run('--wait')).code).toBe(3);
  h.sandbox.clearRequests();

  const retried = await h.cli('retry', '--config', h.configFile);
  expect(retried.code, retried.out + retried.err).toBe(3);
  expect(retried.err).toContain('the source returned 0 users (minimum 1): treated as a source outage');
  expect(retried.err).toContain('The failed operations stay failed (scim-sync status lists them), none re-queued: fix the source, then retry');
  expect(h.writes()).toEqual([]);
  expect(await failed()).toMatchObject([{ kind: 'deprovisionUser', externalId: 'E1020' }]);
  expect(h.audit().find((r) => String(r['planId']).startsWith('plan-retry-') && r['action'] === 'safety.stop')).toBeDefined();

  // The export mended (E1020 in it): the deactivation is stale, dropped, never sent.
  h.writePeople(people);
  const again = await h.cli('retry', '--config', h.configFile);
  expect(again.code, again.err).toBe(0);
  expect(again.out).toContain('app: 0 failed operations re-queued');
  expect(again.out).toContain('stale: back in the source since the plan was made');
  expect(h.writes()).toEqual([]);
  expect(active('user20@example.com')).toBe(true);
  expect(await failed()).toEqual([]);
});

it("retry is held to the safety check on its own operations: stopped past today's limit (exit 3), re-queued with --override-safety (audited)", async () => {
  // Two leave; both deactivations are refused.
  h.writePeople(people.slice(0, 18));
  refused(2);
  expect((await h.run('--wait')).code).toBe(1);
  expect(await failed()).toHaveLength(2);
  // Since, the config allows one deprovision at a time.
  writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace(/^safety:\n/m, 'safety:\n  maxDeactivateCount: 1\n'));
  h.sandbox.clearRequests();

  const retried = await h.cli('retry', '--config', h.configFile);
  expect(retried.code, retried.out + retried.err).toBe(3);
  expect(retried.err).toContain('target app: 2 deprovisions exceed maxDeactivateCount 1');
  expect(retried.err).toContain('retry --override-safety re-queues them anyway');
  expect(h.writes()).toEqual([]);
  expect(await failed()).toHaveLength(2);

  const overridden = await h.cli('retry', '--config', h.configFile, '--override-safety');
  expect(overridden.code, overridden.err).toBe(0);
  expect(overridden.out).toMatch(/app: 2 failed operations re-queued as cycle plan-retry-/);
  const retryId = /plan-retry-[0-9a-f-]+/.exec(overridden.out)![0];
  expect(h.audit().find((r) => r['planId'] === retryId && r['action'] === 'safety.override')?.['note']).toContain('exceed maxDeactivateCount 1');
  await expect.poll(() => [active('user19@example.com'), active('user20@example.com')], { timeout: 20_000 }).toEqual([false, false]);
  await expect.poll(failed, { timeout: 10_000 }).toEqual([]);
});

it("retry re-queues both of a leaver's failed deactivations, one per account carrying their key", async () => {
  // A second account carrying E1020's key (made by hand, or by another tool).
  h.sandbox.store.createUser({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'user20-admin@example.com', externalId: 'E1020', active: true });
  h.writePeople(people.slice(0, 19));
  refused(2);
  const r = await h.run('--wait');
  expect(r.code).toBe(1);
  expect(await failed()).toMatchObject([
    { kind: 'deprovisionUser', externalId: 'E1020' },
    { kind: 'deprovisionUser', externalId: 'E1020' },
  ]);
  h.sandbox.clearRequests();

  const retried = await h.cli('retry', '--config', h.configFile);
  expect(retried.code, retried.err).toBe(0);
  expect(retried.out).toContain('app: 2 failed operations re-queued');
  await expect.poll(() => [active('user20@example.com'), active('user20-admin@example.com')], { timeout: 20_000 }).toEqual([false, false]);
  await expect.poll(failed, { timeout: 10_000 }).toEqual([]);
  expect(patches()).toHaveLength(2);
});

it('the same operation failed in two cycles is one failed operation, the latest, and is sent once', async () => {
  await leaverRefused();
  // The next cycle plans the deactivation again, and it is refused again: its dead letter replaces the first.
  refused(1);
  expect((await h.run('--wait')).code).toBe(1);
  expect(await failed()).toHaveLength(1);
  h.sandbox.clearRequests();

  const retried = await h.cli('retry', '--config', h.configFile);
  expect(retried.code, retried.err).toBe(0);
  expect(retried.out).toContain('app: 1 failed operation re-queued');
  expect(retried.out).not.toContain('superseded');
  await expect.poll(() => active('user20@example.com'), { timeout: 20_000 }).toBe(false);
  await expect.poll(failed, { timeout: 10_000 }).toEqual([]);
  expect(patches()).toHaveLength(1);
});

it('retry keeps a failed deactivation the fresh read cannot decide (a dirty read holds it): listed as failed, not sent', async () => {
  await leaverRefused();
  // A row repeating E1005's key: an invalid record, under maxInvalidRecordsPercent, that holds every deprovisioning.
  writeFileSync(h.csv, peopleCsv([...people.slice(0, 19), { ...people[4]!, title: 'Somebody else' }]));
  h.sandbox.clearRequests();

  const retried = await h.cli('retry', '--config', h.configFile);
  expect(retried.code, retried.err).toBe(0);
  expect(retried.out).toContain('app: 0 failed operations re-queued');
  expect(retried.out).toMatch(/app: 1 failed operation kept failed, not re-queued \(the source as read now cannot decide them\): deprovisionUser user20@example.com: held: /);
  expect(h.writes()).toEqual([]);
  expect(await failed()).toMatchObject([{ kind: 'deprovisionUser', externalId: 'E1020' }]);
  expect(active('user20@example.com')).toBe(true);
});

describe('a target in quarantine', () => {
  let crm: Sandbox;
  let redis: Redis;
  beforeEach(async () => {
    crm = await startSandbox({ token: TOKEN });
    addTarget(h, 'crm', crm);
    redis = new Redis(REDIS_URL);
    // The worker read the config before crm was in it.
    await worker.close();
    worker = await inProcessWorkers(h.configFile);
    const synced = await h.run('--wait');
    expect(synced.code, synced.err + synced.out).toBe(0);
  });
  afterEach(async () => {
    redis.disconnect();
    await crm.close();
  });

  interface Status {
    targets: { target: string; failed: { externalId: string; kind: string; jobId: string }[]; lastCycle: { planId: string } | null }[];
  }
  async function status(): Promise<Map<string, Status['targets'][number]>> {
    const s = JSON.parse((await h.cli('status', '--config', h.configFile, '--json')).out) as Status;
    return new Map(s.targets.map((t) => [t.target, t]));
  }

  it('retry sends nothing to a quarantined target and keeps its failed operations; the other target is retried', async () => {
    // E1020 leaves; both targets refuse the deactivation once.
    h.writePeople(people.slice(0, 19));
    for (const s of [h.sandbox, crm]) s.addFault({ method: 'PATCH', path: '/Users', times: 1, action: { type: 'status', status: 400, detail: 'refused for now' } });
    expect((await h.run('--wait')).code).toBe(1);
    // crm is quarantined since, its next try an hour away.
    const entry = { target: 'crm', since: new Date().toISOString(), reason: 'test reason', attempts: 1, nextTry: new Date(Date.now() + 3_600_000).toISOString() };
    await redis.hset(`${prefix}:state:quarantine`, 'crm', JSON.stringify(entry));
    const before = (await status()).get('crm')!;
    expect(before.failed).toMatchObject([{ kind: 'deprovisionUser', externalId: 'E1020' }]);
    h.sandbox.clearRequests();
    crm.clearRequests();

    const retried = await h.cli('retry', '--config', h.configFile);
    expect(retried.code, retried.out + retried.err).toBe(1);
    expect(crm.requests).toEqual([]);
    expect(retried.out).toMatch(/app: 1 failed operation re-queued as cycle plan-retry-/);
    const line = retried.out.split('\n').find((l) => l.startsWith('crm:'));
    expect(line).toBe(`crm: nothing sent, quarantined since ${entry.since}: test reason; next try at ${entry.nextTry} (lift it now with scim-sync unquarantine --target crm); its 1 failed operation is kept for when it is released`);
    expect(retried.out.split('\n').filter((l) => l.startsWith('crm:'))).toHaveLength(1);

    await expect.poll(() => active('user20@example.com'), { timeout: 20_000 }).toBe(false);
    const after = await status();
    await expect.poll(async () => (await status()).get('app')!.failed, { timeout: 10_000 }).toEqual([]);
    expect(after.get('crm')!.failed).toEqual(before.failed);
    expect(after.get('crm')!.lastCycle?.planId).toBe(before.lastCycle?.planId);
    expect(crm.store.findUserByUserName('user20@example.com')!['active']).toBe(true);
    expect(crm.requests).toEqual([]);
    expect(JSON.parse((await redis.hget(`${prefix}:state:quarantine`, 'crm'))!)).toEqual(entry);
  });

  it('retry --json of a quarantined target alone: nothing read or sent, exit 1, its failed operations counted as kept', async () => {
    h.writePeople(people.slice(0, 19));
    crm.addFault({ method: 'PATCH', path: '/Users', times: 1, action: { type: 'status', status: 400, detail: 'refused for now' } });
    expect((await h.run('--wait')).code).toBe(1);
    const entry = { target: 'crm', since: new Date().toISOString(), reason: 'test reason', attempts: 2, nextTry: new Date(Date.now() + 3_600_000).toISOString() };
    await redis.hset(`${prefix}:state:quarantine`, 'crm', JSON.stringify(entry));
    crm.clearRequests();

    const retried = await h.cli('retry', '--config', h.configFile, '--target', 'crm', '--json');
    expect(retried.code, retried.out + retried.err).toBe(1);
    expect(JSON.parse(retried.out)).toMatchObject({ operations: {}, quarantined: { crm: { failed: 1, status: expect.stringContaining(`next try at ${entry.nextTry}`) } } });
    expect(crm.requests).toEqual([]);
    expect((await status()).get('crm')!.failed).toMatchObject([{ kind: 'deprovisionUser', externalId: 'E1020' }]);
  });
});

/**
 * `scim-sync retry` is held to what holds a run: the fresh read that decides which failed operations
 * still hold passes the source's safety rules, and the retry's own operations the safety check, or
 * nothing is re-queued (exit 3) and every failed operation stays listed. Each failed operation is
 * re-queued, dropped or kept on its own: a leaver's two accounts are two operations, the same
 * operation failed in two cycles is sent once, and only what was re-queued or decided by the fresh
 * read leaves the failed list. Against a real Redis, the sandbox and a worker in this process.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Harness, peopleCsv, person, type Person } from '../support/harness.js';
import { cleanRedis, inProcessWorkers, queueYaml, randomPrefix } from '../support/distributed.js';

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

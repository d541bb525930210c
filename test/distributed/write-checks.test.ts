/**
 * Reading back writes in distributed mode (real Redis, the sandbox, a worker in this process): the
 * PATCH shape a worker learns is kept in Redis for every worker and run, a change never kept is
 * parked there, and `status` shows both.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Harness, person } from '../support/harness.js';
import { cleanRedis, inProcessWorkers, queueYaml, randomPrefix } from '../support/distributed.js';

let h: Harness;
let prefix: string;
let worker: Awaited<ReturnType<typeof inProcessWorkers>> | null;

beforeEach(async () => {
  prefix = randomPrefix();
  h = await Harness.start({ top: queueYaml(prefix) });
  worker = await inProcessWorkers(h.configFile);
});
afterEach(async () => {
  await worker?.close();
  await h.close();
  await cleanRedis(prefix);
});

it('a shape learned on a worker is used by the next run, a change never kept is parked, and status lists both', async () => {
  h.sandbox.behaviour.urnPathAsKey = true;
  h.sandbox.behaviour.ignoredAttributes = ['title'];
  h.writePeople([person(1), person(2, { manager: 'E1001' })]);
  const first = await h.run('--wait');
  expect(first.code, first.out).toBe(0);
  expect(first.out).toContain('target app stores manager only with patchShape sub-attribute');
  const boss = h.sandbox.store.findUserByUserName('user1@example.com')!;
  const ext = h.sandbox.store.findUserByUserName('user2@example.com')!['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'] as { manager?: { value: string } };
  expect(ext.manager?.value).toBe(boss.id);

  // title was dropped on create: this run finds it is never kept, and parks it.
  const second = await h.run('--wait');
  expect(second.code).toBe(1);
  expect(second.out).toContain('[NOT_STORED] parked title of user1@example.com');

  h.sandbox.clearRequests();
  const third = await h.run('--wait');
  expect(third.code, third.out).toBe(0);
  expect(h.writes()).toEqual([]);
  expect(third.out).toContain('⏸ 2 parked changes');

  const status = await h.cli('status', '--config', h.configFile);
  expect(status.out).toContain('learned PATCH shapes: manager sub-attribute');
  expect(status.out).toContain('title of user2@example.com (E1002): the target accepts title but does not keep it');
});

/**
 * The member memory in distributed mode (real Redis, the sandbox as AWS, a worker in this process):
 * the planner reads and records it in Redis, the worker applies each membership write it completes
 * there, and a PATCH a worker saw refused makes the next cycle check that group in full.
 */
import { Redis } from 'ioredis';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { redisKeys } from '../../src/state/redis-keys.js';
import { Harness, memberNames } from '../support/harness.js';
import { checkedGroups, emails, groupedPeople, pairChecks as pairChecksAt } from '../support/member-checks.js';
import { cleanRedis, inProcessWorkers, queueYaml, randomPrefix, REDIS_URL } from '../support/distributed.js';

let h: Harness;
let prefix: string;
let worker: Awaited<ReturnType<typeof inProcessWorkers>> | null;

beforeEach(async () => {
  prefix = randomPrefix();
  h = await Harness.start({ sandbox: { profile: 'aws' }, target: '    profile: aws', top: queueYaml(prefix) });
  worker = await inProcessWorkers(h.configFile);
});
afterEach(async () => {
  await worker?.close();
  await h.close();
  await cleanRedis(prefix);
});

const people = groupedPeople;
const pairChecks = () => pairChecksAt(h.sandbox);
const groupId = (name: string) => h.sandbox.store.findGroupByDisplayName(name)!['id'] as string;

async function cycle() {
  h.sandbox.clearRequests();
  return h.run('--wait', '--wait-timeout', '60s');
}

it('an unchanged cycle asks nothing; a PATCH refused on a worker makes the next cycle check that group alone; the memory is in Redis', async () => {
  h.writePeople(people);
  const first = await cycle();
  expect(first.code, first.out + first.err).toBe(0);

  const second = await cycle();
  expect(second.code, second.out + second.err).toBe(0);
  expect(pairChecks()).toHaveLength(0);
  expect(h.writes()).toEqual([]);

  h.writePeople(people.map((p) => (p.id === 'E1005' ? { ...p, groups: ['ops', 'eng', 'all'] } : p.id === 'E1001' ? { ...p, groups: ['eng', 'ops', 'all'] } : p)));
  h.sandbox.addFault({ method: 'PATCH', path: `/Groups/${groupId('eng')}`, action: { type: 'status', status: 400, detail: 'refused for the test' } });
  const refused = await cycle();
  expect(refused.code).toBe(1);
  expect(memberNames(h.sandbox, 'ops')).toEqual(emails(1, 4, 5));

  const next = await cycle();
  expect(next.code, next.out + next.err).toBe(0);
  expect(checkedGroups(h.sandbox)).toEqual(['eng']);
  expect(pairChecks()).toHaveLength(6);
  expect(memberNames(h.sandbox, 'eng')).toEqual(emails(1, 2, 3, 5));

  const last = await cycle();
  expect(last.code).toBe(0);
  expect(pairChecks()).toHaveLength(0);
  expect(h.writes()).toEqual([]);

  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const keys = redisKeys(prefix);
    expect(Object.keys(await redis.hgetall(keys.memberVerified('app'))).sort()).toEqual([groupId('all'), groupId('eng'), groupId('ops')].sort());
    expect(await redis.scard(keys.members('app', groupId('eng')))).toBe(4);
    expect(await redis.scard(keys.memberUsers('app'))).toBe(6);
  } finally {
    redis.disconnect();
  }
});

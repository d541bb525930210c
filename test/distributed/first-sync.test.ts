/**
 * Distributed mode keeps the record of an unfinished first sync in Redis, seen by every machine: a
 * first sync cut short by a 5xx storm on the workers finishes on the next run without an override,
 * and once complete the record is gone and the create check is as strict as ever.
 */
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness, person } from '../support/harness.js';
import { REDIS_URL, cleanRedis, inProcessWorkers, queueYaml, randomPrefix, waitUntil } from '../support/distributed.js';

let h: Harness;
let prefix: string;
let redis: Redis;
let worker: Awaited<ReturnType<typeof inProcessWorkers>> | null = null;
const people = Array.from({ length: 100 }, (_, i) => person(i + 1));

beforeEach(async () => {
  prefix = randomPrefix();
  h = await Harness.start({ target: '    retries: 1', top: `${queueYaml(prefix)}\nquarantine: { enabled: false }` });
  h.writePeople(people);
  redis = new Redis(REDIS_URL);
  worker = await inProcessWorkers(h.configFile);
});
afterEach(async () => {
  await worker?.close();
  redis.disconnect();
  await h.close();
  await cleanRedis(prefix);
});

/** The first run: 20 creates answered, then a 503 for every create, each failing for good. */
async function cutShort(): Promise<void> {
  h.sandbox.addFault({ method: 'POST', path: '/Users', times: 20, action: { type: 'delay', ms: 0 } });
  h.sandbox.addFault({ method: 'POST', path: '/Users', times: Infinity, action: { type: 'status', status: 503 } });
  const first = await h.run('--wait', '--wait-timeout', '60s');
  expect(first.code, first.err + first.out).toBe(1);
  expect(h.sandbox.store.users()).toHaveLength(20);
  expect(await redis.hkeys(`${prefix}:state:first-syncs`)).toEqual(['app']);
  h.sandbox.clearFaults();
}

describe('a first sync cut short, in distributed mode', () => {
  it('retry re-queues its failed creates without an override: they are the rest of that first sync', async () => {
    await cutShort();
    const retried = await h.cli('retry', '--config', h.configFile);
    expect(retried.code, retried.err + retried.out).toBe(0);
    // The failure breaker stopped the storm: the creates that failed are re-queued (the others, skipped,
    // are the next cycle's), more than the create check lets through beside 20 managed users.
    const requeued = Number(/app: (\d+) failed operations re-queued/.exec(retried.out)?.[1]);
    expect(requeued).toBeGreaterThan(10);
    await waitUntil(() => h.sandbox.store.users().length === 20 + requeued, 'the retried creates');
  });

  it('is recorded in Redis, finishes on the next run without an override, and is then forgotten', async () => {
    await cutShort();
    const next = await h.run('--wait', '--wait-timeout', '60s');
    expect(next.code, next.err + next.out).toBe(0);
    expect(h.sandbox.store.users()).toHaveLength(100);
    expect(await redis.exists(`${prefix}:state:first-syncs`)).toBe(0);
    h.writePeople([...people, ...Array.from({ length: 30 }, (_, i) => person(2001 + i))]);
    h.sandbox.clearRequests();
    const later = await h.run('--wait', '--wait-timeout', '60s');
    expect(later.code, later.err + later.out).toBe(3);
    expect(later.err).toContain('target app: 30 users would be created beside its 100 managed users (30.0%, limit 20%)');
    expect(h.writes()).toEqual([]);
  });
});

/**
 * The executor's trust in the answers to its writes, in distributed mode: the workers run the same
 * operations (runOperation), and the re-creates of one cycle are counted in Redis across every
 * worker, against the same safety limits as the inline executor's. A real Redis, the sandbox behind a
 * loopback proxy that answers chosen requests itself, two workers in this process.
 */
import { Redis } from 'ioredis';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Harness, person } from '../support/harness.js';
import { REDIS_URL, cleanRedis, inProcessWorkers, queueYaml, randomPrefix } from '../support/distributed.js';
import { HTML_404, proxyFor, usersGone, type HostileProxy } from '../support/hostile-proxy.js';

let h: Harness;
let p: HostileProxy;
let prefix: string;
let redis: Redis;
let workers: Awaited<ReturnType<typeof inProcessWorkers>>[] = [];
const twenty = Array.from({ length: 20 }, (_, i) => person(i + 1));

beforeEach(async () => {
  prefix = randomPrefix();
  h = await Harness.start({ top: queueYaml(prefix), target: '    retries: 2' });
  h.writePeople(twenty);
  p = await proxyFor(h);
  redis = new Redis(REDIS_URL);
  workers = [await inProcessWorkers(h.configFile, 'w1'), await inProcessWorkers(h.configFile, 'w2')];
  const first = await h.run('--wait');
  expect(first.code, first.out + first.err).toBe(0);
  p.seen.length = 0;
});
afterEach(async () => {
  for (const w of workers) await w.close();
  await p.close();
  redis.disconnect();
  await h.close();
  await cleanRedis(prefix);
});

const account = (n: number) => h.sandbox.store.findUserByUserName(`user${n}@example.com`)!;

it('accounts found gone by a write and a read are made again by the workers only within the limit, counted across them', async () => {
  p.hook = usersGone();
  h.writePeople(twenty.map((x, i) => (i < 10 ? { ...x, title: 'Staff Engineer' } : x)));
  const r = await h.run('--wait');
  expect(r.code, r.out + r.err).toBe(1);
  expect(p.seen.filter((s) => s.method === 'POST' && s.path === '/Users')).toHaveLength(3);
  expect(r.out).toContain('app: updated 0, re-created 3 whose accounts were gone (7 failed)');
  expect(r.out).toContain('but is not created again: this apply may re-create at most 3 accounts');
  // The refused keep their links.
  expect(Object.keys(await redis.hgetall(`${prefix}:state:links:app:user`))).toHaveLength(20);
});

it('a deactivation answered 404 for a live account fails on the worker, keeps its link, and the leaver is deactivated once the server answers right', async () => {
  const leaver = account(1);
  h.writePeople(twenty.slice(1));
  p.hook = (req) => (req.method === 'PATCH' && req.path.startsWith('/Users/') ? HTML_404 : undefined);
  const r = await h.run('--wait');
  expect(r.code, r.out + r.err).toBe(1);
  expect(r.out).toContain(`deprovisionUser user1@example.com (E1001): [TRANSIENT] PATCH /Users/${String(leaver['id'])} answered not found (HTTP 404): <html><body>Cannot PATCH</body></html>, but reading Users/${String(leaver['id'])} finds it: not taken as gone; its link is kept`);
  expect(JSON.parse((await redis.hget(`${prefix}:state:links:app:user`, 'E1001'))!)).toMatchObject({ id: leaver['id'] });
  expect(account(1)['active']).toBe(true);

  p.hook = () => undefined;
  const again = await h.run('--wait');
  expect(again.code, again.out + again.err).toBe(0);
  expect(account(1)['active']).toBe(false);
});

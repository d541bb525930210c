/**
 * `serve` in distributed mode (real Redis, an in-process worker standing for another machine): full
 * cycles go to the workers under per-target locks; change-driven batches run in the service at once;
 * and a cycle planned before a change and executed by a worker after it does not undo the change
 * (the worker reads the person's clock in Redis); a full cycle the safety check stopped holds the
 * batches as embedded.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Harness, person } from '../support/harness.js';
import { cleanRedis, inProcessWorkers, queueYaml, randomPrefix, waitUntil } from '../support/distributed.js';
import { serviceWithWithdrawnNewcomer, startTestService, type RunningService } from '../support/service.js';

let h: Harness;
let prefix: string;
let other: string;
let worker: Awaited<ReturnType<typeof inProcessWorkers>> | null = null;
let s: RunningService | undefined;

const people = Array.from({ length: 20 }, (_, i) => person(i + 1));
const userOf = (n: number) => h.sandbox.store.findUserByUserName(`user${n}@example.com`);
/** The worker's provisioning log (its machine's state directory). */
const workerAudit = (): Record<string, unknown>[] => {
  const file = join(h.dir, 'state-other', 'audit.jsonl');
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
};

beforeEach(async () => {
  prefix = randomPrefix();
  h = await Harness.start({ top: queueYaml(prefix) });
  other = join(h.dir, 'other.yaml');
  writeFileSync(other, readFileSync(h.configFile, 'utf8').replace('\n  dir: state\n', '\n  dir: state-other\n'));
  h.writePeople(people);
  worker = await inProcessWorkers(other);
  const first = await h.run('--wait');
  expect(first.code, first.err + first.out).toBe(0);
  h.sandbox.clearRequests();
});
afterEach(async () => {
  await s?.stop();
  s = undefined;
  await worker?.close();
  worker = null;
  await h.close();
  await cleanRedis(prefix);
});

it('enqueues its cycles for the workers and syncs a leaver itself, at once', async () => {
  s = await startTestService(h);
  expect((await s.firstCycle)?.result?.kind).toBe('enqueued');
  h.writePeople(people.map((p) => (p.id === 'E1006' ? { ...p, status: 'terminated' } : p)));
  const outcome = await s.fast.sync({ keys: ['E1006'], initiator: 'event', by: 'test' });
  expect(outcome.report, String(outcome.error)).toBeDefined();
  expect(userOf(6)?.['active']).toBe(false);
  expect(h.writes().map((w) => `${w.method} ${w.path}`)).toEqual([`PATCH /Users/${String(userOf(6)!['id'])}`]);
});

it("a worker skips a cycle's operation that a newer change-driven sync superseded", async () => {
  const newcomer = person(30);
  s = await serviceWithWithdrawnNewcomer(h, people, newcomer);
  expect((await s.firstCycle)?.result?.kind).toBe('enqueued');
  await waitUntil(() => workerAudit().some((r) => r['action'] === 'createUser' && r['externalId'] === newcomer.id), 'the worker to take the create');
  expect(workerAudit().find((r) => r['action'] === 'createUser' && r['externalId'] === newcomer.id)).toMatchObject({
    outcome: 'skipped',
    note: expect.stringMatching(/^superseded: E1030 was synced from a newer read/),
  });
  expect(userOf(30)).toBeUndefined();
});

it("a full cycle stopped by the safety check: the service's change-driven batch writes nothing but a leaver's deprovision", async () => {
  // The mapping points title at an empty column: the start-up cycle would clear every title.
  writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('title: title', 'title: manager_id'));
  s = await startTestService(h);
  expect((await s.firstCycle)?.result?.kind).toBe('stopped');
  h.writePeople(people.map((p) => (p.id === 'E1002' ? { ...p, last: 'Renamed2' } : p.id === 'E1003' ? { ...p, status: 'terminated' } : p)));
  const outcome = await s.fast.sync({ keys: ['E1002', 'E1003'], initiator: 'event', by: 'test' });
  expect(outcome.report?.targets[0]?.held).toMatch(/^1 operation held: the last full cycle/);
  expect(h.writes().map((w) => `${w.method} ${w.path}`)).toEqual([`PATCH /Users/${String(userOf(3)!['id'])}`]);
  expect(userOf(3)?.['active']).toBe(false);
  expect(userOf(2)?.['title']).toBe('Engineer');
  expect((userOf(2)?.['name'] as { familyName: string }).familyName).toBe('Last2');
}, 60_000);

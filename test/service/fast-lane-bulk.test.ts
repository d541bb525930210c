/**
 * A change-driven request naming more people than serve.maxBatch is a full reconcile's, not the
 * fast lane's: judged whole by the safety check (in parts, leavers were applied until the running
 * total crossed the limit the whole request crosses), run on the reconcile lane while the fast lane
 * goes on with the small requests, and tried again by whoever asked when it did not reach every
 * target (an event's people are kept as due changes).
 */
import { createHmac } from 'node:crypto';
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { Harness, person } from '../support/harness.js';
import { startTestService, type RunningService } from '../support/service.js';
import { notApplied } from '../../src/service/fast-lane.js';

let h: Harness;
let s: RunningService | undefined;
afterEach(async () => {
  await s?.stop();
  s = undefined;
  await h?.close();
});

const people = Array.from({ length: 100 }, (_, i) => person(i + 1));
const activeOf = (n: number) => h.sandbox.store.findUserByUserName(`user${n}@example.com`)?.['active'];
const deactivated = () => people.filter((_, i) => activeOf(i + 1) === false).length;

it('twelve leavers of 100 named in one request over maxBatch are stopped as a whole: nobody is deactivated', async () => {
  // maxDeactivatePercent 10 (the harness's) of 100 managed users: 12 leavers are 12%.
  h = await Harness.synced(people, { top: 'serve:\n  maxBatch: 5\n  reconcileOnStart: false\n', safety: '  alwaysAllowDeactivations: 0' });
  s = await startTestService(h);
  h.writePeople(people.map((p, i) => (i < 12 ? { ...p, status: 'terminated' } : p)));
  const outcome = await s.fast.sync({ keys: people.slice(0, 12).map((p) => p.id), initiator: 'event', by: 'feed source' });
  expect(deactivated()).toBe(0);
  expect(h.writes()).toEqual([]);
  expect(outcome.stopped?.reasons.join('; ')).toMatch(/target app: 12 of 100 managed users/);
  expect(outcome.fullCycle).toBe(true);
  expect(notApplied(outcome)).toBeUndefined();
  expect(s.lines.join('\n')).toContain('change-driven sync from feed source: 12 people, more than serve.maxBatch (5): a full reconcile syncs them');
});

it('a small request is applied by the fast lane while the full reconcile of a large one is under way', async () => {
  h = await Harness.synced(people, { top: 'serve:\n  maxBatch: 5\n  reconcileOnStart: false\n' });
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let planned!: () => void;
  const cyclePlanned = new Promise<void>((resolve) => (planned = resolve));
  s = await startTestService(h, {
    // The reconcile's apply waits here until the small request is done.
    onCyclePlan: async () => {
      planned();
      await held;
    },
  });
  h.writePeople(people.map((p) => (p.id === 'E1050' ? { ...p, status: 'terminated' } : p)));
  const big = s.fast.sync({ keys: people.slice(0, 20).map((p) => p.id), initiator: 'event', by: 'bulk import' });
  await cyclePlanned;
  const small = await s.fast.sync({ keys: ['E1050'], initiator: 'event', by: 'leaver event' });
  expect(small.fullCycle).toBeUndefined();
  expect(notApplied(small)).toBeUndefined();
  expect(activeOf(50)).toBe(false);
  release();
  const outcome = await big;
  expect(outcome.fullCycle).toBe(true);
  expect(notApplied(outcome)).toBeUndefined();
});

it('a delivery over maxEventKeys whose full reconcile failed keeps its people as due changes, to try again', async () => {
  const key = 'bamboo-key-3c1f0e9d7a';
  process.env['TEST_BAMBOO_KEY'] = key;
  const twenty = people.slice(0, 20);
  h = await Harness.synced(twenty, { top: 'events:\n  bamboo: { format: bamboohr, secret: "${env:TEST_BAMBOO_KEY}" }\nserve:\n  maxBatch: 5\n  maxEventKeys: 10\n  reconcileOnStart: false\n' });
  s = await startTestService(h);
  h.writePeople(twenty.map((p) => (p.id === 'E1004' ? { ...p, status: 'terminated' } : p)));
  // The export away for a moment: the full reconcile cannot read it.
  renameSync(h.csv, `${h.csv}.away`);
  const employees = twenty.slice(0, 12).map((p) => ({ id: p.id, action: 'Updated', changedFields: ['status'], fields: { status: 'x' } }));
  const body = JSON.stringify({ employees });
  const ts = String(Math.floor(Date.now() / 1000));
  const answer = await s.post('/events/bamboo', body, { 'X-BambooHR-Timestamp': ts, 'X-BambooHR-Signature': createHmac('sha256', key).update(body + ts).digest('hex') });
  expect(answer.status, answer.body).toBe(202);
  await expect.poll(() => s!.reconcile.last?.error, { timeout: 20_000 }).toBeDefined();
  await expect.poll(() => s!.lines.find((l) => /not applied, kept to try again: the full reconcile did not reach every target/.test(l)), { timeout: 20_000 }).toBeDefined();
  const due = readFileSync(join(h.dir, 'state', 'due-changes.json'), 'utf8');
  for (const p of twenty.slice(0, 12)) expect(due).toContain(`"${p.id}"`);
  expect(due).toContain('#retry');
  expect(JSON.parse(answer.body)).toMatchObject({ fullReconcile: 'the delivery names 12 people to sync now, more than serve.maxEventKeys (10): synced as one request, by a full reconcile' });
  expect(activeOf(4)).toBe(true);
  renameSync(`${h.csv}.away`, h.csv);
});

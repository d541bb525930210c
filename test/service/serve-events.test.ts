/**
 * Inbound HR webhooks through the service's HTTP endpoint: a good signature syncs the person named
 * (re-read from the source), a bad one is 401 with nothing done, a replay is answered as a
 * duplicate and does nothing more, and a future-dated termination is synced at its instant.
 */
import { createHmac } from 'node:crypto';
import { appendFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { addTarget, Harness, person, TOKEN } from '../support/harness.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { FileQuarantineStore } from '../../src/state/quarantine-store.js';
import { Batches, startTestService, type RunningService } from '../support/service.js';
import type { BatchOutcome } from '../../src/service/fast-lane.js';

const BAMBOO_KEY = 'bamboo-key-3c1f0e9d7a';
const CE_KEY = 'cloudevents-key-8e2d4b6a';

let h: Harness;
let s: RunningService | undefined;
afterEach(async () => {
  await s?.stop();
  s = undefined;
  await h?.close();
});

const people = Array.from({ length: 20 }, (_, i) => person(i + 1));
const userOf = (n: number) => h.sandbox.store.findUserByUserName(`user${n}@example.com`);
const terminated = (...ids: string[]) => h.writePeople(people.map((p) => (ids.includes(p.id) ? { ...p, status: 'terminated' } : p)));

async function serve(batches: Batches, safety = ''): Promise<RunningService> {
  process.env['TEST_BAMBOO_KEY'] = BAMBOO_KEY;
  process.env['TEST_CE_KEY'] = CE_KEY;
  h = await Harness.synced(people, {
    top: `events:\n  bamboo: { format: bamboohr, secret: "\${env:TEST_BAMBOO_KEY}" }\n  hr: { format: cloudevents, secret: "\${env:TEST_CE_KEY}" }\n`,
    safety,
  });
  const service = await startTestService(h, { onBatch: batches.listener });
  await service.firstCycle;
  h.sandbox.clearRequests();
  return service;
}

function bamboo(body: string, key = BAMBOO_KEY): Record<string, string> {
  const ts = String(Math.floor(Date.now() / 1000));
  return { 'X-BambooHR-Timestamp': ts, 'X-BambooHR-Signature': createHmac('sha256', key).update(body + ts).digest('hex') };
}

it('a signed BambooHR webhook syncs the person it names; a replay is a duplicate; a bad signature is 401', async () => {
  const batches = new Batches();
  s = await serve(batches);
  terminated('E1004');
  const body = JSON.stringify({ type: 'employee.updated', timestamp: new Date().toISOString(), data: { companyId: '1', employeeId: 'E1004', changedFields: ['status'] } });
  const headers = bamboo(body);
  const next = batches.next();
  const accepted = await s.post('/events/bamboo', body, headers);
  expect(accepted.status, accepted.body).toBe(202);
  expect((await next).keys).toEqual(['E1004']);
  expect(userOf(4)?.['active']).toBe(false);

  const replay = await s.post('/events/bamboo', body, headers);
  expect(replay.status).toBe(200);
  expect(JSON.parse(replay.body)).toMatchObject({ duplicate: true });

  terminated('E1004', 'E1005');
  const forged = JSON.stringify({ type: 'employee.updated', timestamp: new Date().toISOString(), data: { companyId: '1', employeeId: 'E1005', changedFields: ['status'] } });
  const refused = await s.post('/events/bamboo', forged, bamboo(forged, 'not-the-key-0000'));
  expect(refused.status).toBe(401);
  expect(refused.body).not.toContain(BAMBOO_KEY);
  await s.fast.idle();
  expect(batches.seen).toHaveLength(1);
  expect(userOf(5)?.['active']).toBe(true);
  expect(h.writes()).toHaveLength(1);
  expect((await s.post('/events/nobody', body, headers)).status).toBe(404);
});

it('batches one after another ask the target for its discovery documents once, not before each (a round trip on the way to each leaver)', async () => {
  const batches = new Batches();
  s = await serve(batches);
  const discovery = () => h.sandbox.requests.filter((r) => r.method === 'GET' && ['/ServiceProviderConfig', '/ResourceTypes/User', '/Schemas'].includes(r.path)).map((r) => r.path);
  for (const id of ['E1004', 'E1005', 'E1006']) {
    terminated(...['E1004', 'E1005', 'E1006'].slice(0, Number(id.slice(-1)) - 3));
    const body = JSON.stringify({ type: 'employee.updated', timestamp: new Date().toISOString(), data: { companyId: '1', employeeId: id, changedFields: ['status'] } });
    const next = batches.next();
    expect((await s.post('/events/bamboo', body, bamboo(body))).status).toBe(202);
    expect((await next).keys).toEqual([id]);
  }
  expect([4, 5, 6].map((n) => userOf(n)?.['active'])).toEqual([false, false, false]);
  expect(discovery().sort()).toEqual(['/ResourceTypes/User', '/Schemas', '/ServiceProviderConfig']);
});

it('an event naming someone missing from a half-written or empty export deactivates no one: the read is judged as a full cycle would', async () => {
  const batches = new Batches();
  s = await serve(batches);
  const event = (id: string) => JSON.stringify({ type: 'employee.updated', timestamp: new Date().toISOString(), data: { companyId: '1', employeeId: id, changedFields: ['jobTitle'] } });
  for (const [rows, id] of [[people.slice(0, 10), 'E1015'], [[], 'E1011']] as const) {
    // The export is being written: the first ten rows, or only the header.
    h.writePeople(rows);
    const next = batches.next();
    const body = event(id);
    expect((await s.post('/events/bamboo', body, bamboo(body))).status).toBe(202);
    const outcome = await next;
    expect(outcome.stopped?.reasons.join('; ')).toMatch(/read as an incomplete export, not as these people leaving/);
  }
  expect(h.writes()).toEqual([]);
  expect(userOf(15)?.['active']).toBe(true);
  expect(userOf(11)?.['active']).toBe(true);
});

it('an accepted event whose write fails for a passing reason (5xx) is kept to try again too, under its own id (a future-dated change of the same delivery keeps its date); one the server refuses (400) is not retried every minute', async () => {
  const batches = new Batches();
  s = await serve(batches);
  terminated('E1005');
  h.sandbox.addFault({ method: 'PATCH', path: '/Users/', times: 1, action: { type: 'status', status: 400, detail: 'this value is refused' } });
  const refusedBody = JSON.stringify({ type: 'employee.updated', timestamp: new Date().toISOString(), data: { companyId: '1', employeeId: 'E1005', changedFields: ['status'] } });
  const refused = batches.next();
  expect((await s.post('/events/bamboo', refusedBody, bamboo(refusedBody))).status).toBe(202);
  expect((await refused).report?.targets[0]?.failures.map((f) => f.code)).toEqual(['BAD_REQUEST']);
  terminated('E1004', 'E1005');
  h.sandbox.addFault({ method: 'PATCH', path: '/Users/', times: Infinity, action: { type: 'status', status: 503, detail: 'down for a moment' } });
  const body = JSON.stringify({ type: 'employee.updated', timestamp: new Date().toISOString(), data: { companyId: '1', employeeId: 'E1004', changedFields: ['status'] } });
  const next = batches.next();
  expect((await s.post('/events/bamboo', body, bamboo(body))).status).toBe(202);
  const outcome = await next;
  expect(outcome.error).toBeUndefined();
  expect(outcome.report?.targets[0]?.failures).toHaveLength(1);
  await expect.poll(() => s!.lines.some((l) => l.includes('not applied, kept to try again: target app:')), { timeout: 10_000 }).toBe(true);
  const kept = JSON.stringify(JSON.parse(readFileSync(join(h.dir, 'state', 'due-changes.json'), 'utf8')));
  expect(kept).toContain('E1004');
  expect(kept).not.toContain('E1005');
  expect(kept).toMatch(/"eventId":"[^"]+#retry"/);
  expect(userOf(4)?.['active']).toBe(true);
});

it('an event while one of two targets is in quarantine is applied to the other, logged as not applied to the quarantined one, and kept to try again', async () => {
  process.env['TEST_BAMBOO_KEY'] = BAMBOO_KEY;
  h = await Harness.start({ top: `events:\n  bamboo: { format: bamboohr, secret: "\${env:TEST_BAMBOO_KEY}" }\nserve:\n  reconcileOnStart: false\n` });
  const crm: Sandbox = await startSandbox({ token: TOKEN });
  try {
    addTarget(h, 'crm', crm);
    h.writePeople(people);
    const first = await h.run();
    expect(first.code, first.err + first.out).toBe(0);
    const now = Date.now();
    await new FileQuarantineStore(join(h.dir, 'state')).set({ target: 'crm', since: new Date(now).toISOString(), reason: 'the credential was refused', attempts: 1, nextTry: new Date(now + 3_600_000).toISOString() });
    const batches = new Batches();
    s = await startTestService(h, { onBatch: batches.listener });
    crm.clearRequests();
    terminated('E1004');
    const body = JSON.stringify({ type: 'employee.updated', timestamp: new Date().toISOString(), data: { companyId: '1', employeeId: 'E1004', changedFields: ['status'] } });
    const next = batches.next();
    const accepted = await s.post('/events/bamboo', body, bamboo(body));
    expect(accepted.status, accepted.body).toBe(202);
    const outcome = await next;
    await expect.poll(() => s!.lines.find((l) => l.includes('not applied, kept to try again')), { timeout: 10_000 }).toMatch(/^event bamboo \S+: not applied, kept to try again: target crm skipped: quarantined since .*: the credential was refused; next try at /);
    expect(outcome.leftOut?.map((l) => l.target)).toEqual(['crm']);
    expect(s.lines.join('\n')).toMatch(/change-driven sync of E1004: not applied to target crm, skipped: quarantined since /);
    expect(JSON.parse(readFileSync(join(h.dir, 'state', 'due-changes.json'), 'utf8'))).toMatchObject({ changes: [{ endpoint: 'bamboo', key: 'E1004', eventId: expect.stringMatching(/#retry$/) }] });
    expect(userOf(4)?.['active']).toBe(false);
    expect(crm.store.findUserByUserName('user4@example.com')?.['active']).toBe(true);
    expect(crm.requests).toEqual([]);
  } finally {
    await s?.stop();
    s = undefined;
    await crm.close();
  }
});

it('a deprovision that keeps failing does not fill the safety window: the next leaver is not stopped for it', async () => {
  const batches = new Batches();
  s = await serve(batches, '  maxDeactivateCount: 1');
  const id4 = String(userOf(4)!['id']);
  h.sandbox.addFault({ method: 'PATCH', path: `/Users/${id4}`, times: Infinity, action: { type: 'status', status: 503, detail: 'down for a moment' } });
  const post = async (id: string) => {
    const body = JSON.stringify({ type: 'employee.updated', timestamp: new Date().toISOString(), data: { companyId: '1', employeeId: id, changedFields: ['status'] } });
    const next = batches.next();
    expect((await s!.post('/events/bamboo', body, bamboo(body))).status).toBe(202);
    return next;
  };
  terminated('E1004');
  expect((await post('E1004')).report?.targets[0]?.failures.map((f) => f.code)).toEqual(['TRANSIENT']);
  terminated('E1004', 'E1005');
  const second = await post('E1005');
  expect(second.stopped).toBeUndefined();
  expect(userOf(5)?.['active']).toBe(false);
});

it('an event tried again for hours without applying is left to the full cycles, said so, not tried every minute for ever', async () => {
  const batches = new Batches();
  s = await serve(batches);
  await s.stop();
  const old = new Date(Date.now() - 7 * 3_600_000).toISOString();
  writeFileSync(join(h.dir, 'state', 'due-changes.json'), `${JSON.stringify({ version: 1, changes: [{ endpoint: 'bamboo', eventId: 'evt-9#retry', key: 'E1009', effectiveAt: old }] })}\n`);
  s = await startTestService(h, { onBatch: batches.listener });
  await s.firstCycle;
  await expect.poll(() => s!.lines.some((l) => l.includes('tried again for 6 hours without applying, left to the full cycles: E1009')), { timeout: 10_000 }).toBe(true);
  expect(JSON.parse(readFileSync(join(h.dir, 'state', 'due-changes.json'), 'utf8'))).toMatchObject({ changes: [] });
});

/** A service restarted after a full run, without a cycle of its own at start (its full cycles run from cron). */
async function restartedService(batches: Batches, forgetRuns = false): Promise<RunningService> {
  process.env['TEST_BAMBOO_KEY'] = BAMBOO_KEY;
  h = await Harness.synced(people, { top: `events:\n  bamboo: { format: bamboohr, secret: "\${env:TEST_BAMBOO_KEY}" }\nserve:\n  reconcileOnStart: false\n` });
  // A provisioning log that remembers no full run (a new install, a log moved aside).
  if (forgetRuns) renameSync(join(h.dir, 'state', 'audit.jsonl'), join(h.dir, 'state', 'audit.old'));
  return startTestService(h, { onBatch: batches.listener });
}

async function bambooEvent(id: string, batches: Batches): Promise<BatchOutcome> {
  const body = JSON.stringify({ type: 'employee.updated', timestamp: new Date().toISOString(), data: { companyId: '1', employeeId: id, changedFields: ['status'] } });
  const next = batches.next();
  expect((await s!.post('/events/bamboo', body, bamboo(body))).status).toBe(202);
  return next;
}

it('a restarted service judges a half-written export by the last full run its provisioning log remembers, before any cycle of its own', async () => {
  const batches = new Batches();
  s = await restartedService(batches);
  h.writePeople(people.slice(0, 10));
  const outcome = await bambooEvent('E1015', batches);
  expect(outcome.stopped?.reasons.join('; ')).toMatch(/the source read has 10 people where the last full cycle read 20 .*incomplete export/);
  expect(h.writes()).toEqual([]);
  expect(userOf(15)?.['active']).toBe(true);
});

it('with no full run to judge a whole read by, a person missing from it is held, not deactivated; a leaver the export shows terminated still is', async () => {
  const batches = new Batches();
  s = await restartedService(batches, true);
  h.writePeople(people.slice(0, 10));
  const missing = await bambooEvent('E1015', batches);
  expect(missing.stopped).toBeUndefined();
  expect(missing.plan?.targets[0]?.held?.reason).toMatch(/no full cycle has been applied yet/);
  expect(userOf(15)?.['active']).toBe(true);
  expect(h.audit().some((r) => r['action'] === 'deprovisionUser' && r['outcome'] === 'held' && r['externalId'] === 'E1015')).toBe(true);
  terminated('E1004');
  const leaver = await bambooEvent('E1004', batches);
  expect(leaver.report?.targets[0]?.failures).toEqual([]);
  expect(userOf(4)?.['active']).toBe(false);
  expect(h.writes()).toHaveLength(1);
});

it('a full run recorded in the provisioning log after the service started (another machine, cron) is what the next batch judges by', async () => {
  const batches = new Batches();
  s = await restartedService(batches, true);
  // As a run elsewhere writing the same log records it.
  appendFileSync(join(h.dir, 'state', 'audit.jsonl'), `${JSON.stringify({ time: new Date().toISOString(), planId: 'plan-elsewhere', target: '*', action: 'apply.start', outcome: 'info', sourcePeople: 20 })}\n`);
  h.writePeople(people.slice(0, 10));
  const outcome = await bambooEvent('E1015', batches);
  expect(outcome.stopped?.reasons.join('; ')).toMatch(/the source read has 10 people where the last full cycle read 20/);
  expect(userOf(15)?.['active']).toBe(true);
});

it('a company with many past leavers (their accounts deactivated, still linked) has its events synced: the read is compared with the last full read, not with the accounts', async () => {
  const batches = new Batches();
  process.env['TEST_BAMBOO_KEY'] = BAMBOO_KEY;
  process.env['TEST_CE_KEY'] = CE_KEY;
  h = await Harness.synced(people, { top: `events:\n  bamboo: { format: bamboohr, secret: "\${env:TEST_BAMBOO_KEY}" }\n` });
  // Eight left long ago: deactivated in the app by a run that allowed it, their links kept.
  h.writePeople(people.slice(0, 12));
  expect((await h.run('--override-safety')).code).toBe(0);
  s = await startTestService(h, { onBatch: batches.listener });
  await s.firstCycle;
  h.writePeople(people.slice(0, 12).map((p) => (p.id === 'E1001' ? { ...p, title: 'Director' } : p)));
  const body = JSON.stringify({ type: 'employee.updated', timestamp: new Date().toISOString(), data: { companyId: '1', employeeId: 'E1001', changedFields: ['jobTitle'] } });
  const next = batches.next();
  expect((await s.post('/events/bamboo', body, bamboo(body))).status).toBe(202);
  const outcome = await next;
  expect(outcome.stopped).toBeUndefined();
  expect(userOf(1)?.['title']).toBe('Director');
});

it('an accepted event whose sync fails is kept as a change due now, to be tried again, not lost', async () => {
  const batches = new Batches();
  s = await serve(batches);
  terminated('E1004');
  // The export is away for a moment (being replaced): the sync of the accepted event fails.
  renameSync(h.csv, `${h.csv}.away`);
  const body = JSON.stringify({ type: 'employee.updated', timestamp: new Date().toISOString(), data: { companyId: '1', employeeId: 'E1004', changedFields: ['status'] } });
  const next = batches.next();
  expect((await s.post('/events/bamboo', body, bamboo(body))).status).toBe(202);
  expect((await next).error).toBeDefined();
  await expect.poll(() => s!.lines.some((l) => l.includes('not applied, kept to try again')), { timeout: 10_000 }).toBe(true);
  const due = JSON.parse(readFileSync(join(h.dir, 'state', 'due-changes.json'), 'utf8')) as unknown;
  expect(JSON.stringify(due)).toContain('E1004');
  // The file is back: the change, due already, is synced without the sender's help.
  renameSync(`${h.csv}.away`, h.csv);
  const retried = batches.next();
  await s.stop();
  s = await startTestService(h, { onBatch: batches.listener });
  await s.firstCycle;
  await retried;
  expect(userOf(4)?.['active']).toBe(false);
});

it('a restart does not empty the safety window: leavers arriving one event at a time still count together', async () => {
  const batches = new Batches();
  s = await serve(batches, '  maxDeactivateCount: 2');
  const leave = async (...ids: string[]) => {
    terminated(...ids);
    const id = ids.at(-1)!;
    const body = JSON.stringify({ type: 'employee.updated', timestamp: new Date().toISOString(), data: { companyId: '1', employeeId: id, changedFields: ['status'] } });
    const next = batches.next();
    expect((await s!.post('/events/bamboo', body, bamboo(body))).status).toBe(202);
    return next;
  };
  expect((await leave('E1002')).report).toBeDefined();
  expect((await leave('E1002', 'E1003')).report).toBeDefined();
  expect([userOf(2)?.['active'], userOf(3)?.['active']]).toEqual([false, false]);
  await s.stop();
  s = await startTestService(h, { onBatch: batches.listener });
  await s.firstCycle;
  const third = await leave('E1002', 'E1003', 'E1004');
  expect(third.stopped?.reasons.join('; ')).toMatch(/3 deprovisions \(with 2 already deprovisioned in the last 60 minutes\) exceed maxDeactivateCount 2/);
  expect(userOf(4)?.['active']).toBe(true);
});

it('a damaged due-changes file is a problem /readyz names, not a silent ready', async () => {
  const batches = new Batches();
  s = await serve(batches);
  await s.stop();
  writeFileSync(join(h.dir, 'state', 'due-changes.json'), '{"version":1,"changes":[{"endpoint":"bamboo","eve');
  s = await startTestService(h, { onBatch: batches.listener });
  await s.firstCycle;
  await expect.poll(async () => (await s!.get('/readyz')).body, { timeout: 10_000 }).toContain('future-dated changes:');
  expect((await s.get('/readyz')).status).toBe(503);
});

it('a future-dated termination waits for its instant, then syncs the person', async () => {
  const batches = new Batches();
  s = await serve(batches);
  terminated('E1009');
  const effectiveAt = new Date(Date.now() + 1500);
  const body = JSON.stringify({ specversion: '1.0', id: 'ev-1', source: 'urn:test:hr', type: 'employee.terminated', subject: 'E1009', data: { effectiveAt: effectiveAt.toISOString() } });
  const next = batches.next();
  const answer = await s.post('/events/hr', body, cloudEvent(body));
  expect(answer.status, answer.body).toBe(202);
  expect(userOf(9)?.['active']).toBe(true);
  const batch = await next;
  expect(Date.now()).toBeGreaterThanOrEqual(effectiveAt.getTime());
  expect(batch.keys).toEqual(['E1009']);
  expect(userOf(9)?.['active']).toBe(false);
});

/** The signature header of a CloudEvents delivery of `body`, made now. */
function cloudEvent(body: string): Record<string, string> {
  const t = String(Math.floor(Date.now() / 1000));
  return { 'X-Scim-Sync-Signature': `t=${t},v1=${createHmac('sha256', CE_KEY).update(`${t}.${body}`).digest('hex')}` };
}

/** A raw POST through node:http: `chunks` are written one by one without a content-length (chunked). */
function rawPost(url: string, chunks: readonly Buffer[], headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, timeout: 10_000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 10 s')));
    // The server may answer 413 and stop reading before the last chunk: that ends the request, not the test.
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error)));
    const writeNext = (i: number): void => {
      if (i === chunks.length) return void req.end();
      if (req.destroyed) return;
      if (req.write(chunks[i]!)) writeNext(i + 1);
      else req.once('drain', () => writeNext(i + 1));
    };
    writeNext(0);
  });
}

function bambooBytes(body: Buffer): Record<string, string> {
  const ts = String(Math.floor(Date.now() / 1000));
  const mac = createHmac('sha256', BAMBOO_KEY).update(Buffer.concat([body, Buffer.from(ts)])).digest('hex');
  return { 'X-BambooHR-Timestamp': ts, 'X-BambooHR-Signature': mac };
}

it('an empty body, bytes that are not UTF-8, and a chunked body past the limit: a clear answer each, nothing synced, the service goes on', async () => {
  const batches = new Batches();
  s = await serve(batches);
  const events = `${s.url}/events/bamboo`;

  const empty = await rawPost(events, [], bambooBytes(Buffer.alloc(0)));
  expect(empty.status).toBe(400);
  expect(JSON.parse(empty.body).error).toMatch(/not valid JSON/);

  const latin1 = Buffer.from('{"type":"employee.updated","data":{"employeeId":"E1004","name":"Jos\xe9"}}', 'latin1');
  const notUtf8 = await rawPost(events, [latin1], bambooBytes(latin1));
  expect(notUtf8.status).toBe(400);
  expect(JSON.parse(notUtf8.body).error).toBe('the body is not UTF-8 text');

  // 2 MiB in 64 KiB pieces, no content-length: the limit is found while reading, not from a header.
  const piece = Buffer.alloc(64 * 1024, 0x20);
  const huge = await rawPost(events, Array.from({ length: 32 }, () => piece), bambooBytes(Buffer.alloc(0)));
  expect(huge.status).toBe(413);

  terminated('E1004');
  const body = JSON.stringify({ type: 'employee.updated', timestamp: new Date().toISOString(), data: { companyId: '1', employeeId: 'E1004', changedFields: ['status'] } });
  const next = batches.next();
  expect((await s.post('/events/bamboo', body, bamboo(body))).status).toBe(202);
  expect((await next).keys).toEqual(['E1004']);
  expect(batches.seen).toHaveLength(1);
  expect(h.writes()).toHaveLength(1);
  expect(userOf(4)?.['active']).toBe(false);
});

it('an event naming someone whose deprovision an operator rejected leaves them be, as a full cycle does; the source changing since lifts that', async () => {
  const batches = new Batches();
  s = await serve(batches);
  // As `scim-sync reject` leaves it for a person gone from the source: their record's digest is null.
  await s.state.rejections.add([{ target: 'app', key: 'E1006', entry: { digest: null, stagedId: 'st-0000abcd', at: new Date().toISOString(), by: 'test' } }]);
  h.writePeople(people.filter((p) => p.id !== 'E1006' && p.id !== 'E1007'));
  const event = (id: string) => JSON.stringify({ specversion: '1.0', id: `ev-${id}`, source: 'hr', type: 'com.example.employee.changed', subject: id });
  const next = batches.next();
  const body = event('E1006');
  const accepted = await s.post('/events/hr', body, cloudEvent(body));
  expect(accepted.status, accepted.body).toBe(202);
  await next;
  await s.fast.idle();
  expect(userOf(6)?.['active']).toBe(true);
  expect(h.writes()).toEqual([]);
  // The plan's word for it reaches the service's log.
  expect(s.lines.join('\n')).toMatch(/change-driven sync, target app: 1 deprovision not planned: rejected \(scim-sync reject st-0000abcd\) and the source record is unchanged since: user6@example\.com \(E1006\)/);
  // Someone else gone, without a rejection: deactivated as before.
  const other = event('E1007');
  const second = batches.next();
  expect((await s.post('/events/hr', other, cloudEvent(other))).status).toBe(202);
  await second;
  await s.fast.idle();
  expect(userOf(7)?.['active']).toBe(false);
});

it('a delivery naming more people to sync now than serve.maxEventKeys is accepted and synced by a full reconcile, not person by person', async () => {
  const batches = new Batches();
  s = await serve(batches);
  terminated('E1004');
  // A bulk import in the HR system: 1,001 employees in one field-based delivery, one of them a leaver.
  const employees = ['E1004', ...Array.from({ length: 1000 }, (_, i) => `E${5000 + i}`)].map((id) => ({ id, action: 'Updated', changedFields: ['jobTitle'], fields: { jobTitle: 'x' } }));
  const body = JSON.stringify({ employees });
  const answer = await s.post('/events/bamboo', body, bamboo(body));
  expect(answer.status, answer.body).toBe(202);
  expect(JSON.parse(answer.body)).toMatchObject({ keys: 1001, fullReconcile: 'the delivery names 1001 people to sync now, more than serve.maxEventKeys (1000): synced as one request, by a full reconcile' });
  const done = await batches.next();
  expect(s.reconcile.last?.reason).toMatch(/^event bamboo bamboohr[^ ]*: 1001 people$/);
  expect(s.reconcile.last?.result?.kind).toBe('applied');
  expect(userOf(4)?.['active']).toBe(false);
  // One outcome, the full cycle's, for the whole delivery.
  expect(done).toMatchObject({ fullCycle: true });
  expect(done.keys).toHaveLength(1001);
  await s.fast.idle();
  expect(batches.seen).toHaveLength(1);
  // Listed once, not looked up one by one.
  expect(h.sandbox.requests.filter((r) => r.method === 'GET' && /^\/Users\/./.test(r.path))).toEqual([]);
});

it('a leaver named by an event loses every account carrying their key, not only the linked one, with one request for them; each counts for the safety check', async () => {
  const batches = new Batches();
  s = await serve(batches, '  maxDeactivateCount: 2');
  // App admins copy E1004's and E1005's keys onto second accounts.
  for (const n of [4, 5]) {
    const made = await fetch(`${h.sandbox.url}/Users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `user${n}.admin@example.com`, externalId: `E100${n}`, active: true }),
    });
    expect(made.status).toBe(201);
  }
  const admin = (n: number) => h.sandbox.store.findUserByUserName(`user${n}.admin@example.com`);
  const leave = async (...ids: string[]) => {
    terminated(...ids);
    const body = JSON.stringify({ type: 'employee.updated', timestamp: new Date().toISOString(), data: { companyId: '1', employeeId: ids.at(-1)!, changedFields: ['status'] } });
    const next = batches.next();
    expect((await s!.post('/events/bamboo', body, bamboo(body))).status).toBe(202);
    return next;
  };
  h.sandbox.clearRequests();
  expect((await leave('E1004')).report).toBeDefined();
  expect([userOf(4)?.['active'], admin(4)?.['active']]).toEqual([false, false]);
  expect(h.writes().map((w) => `${w.method} ${w.path}`).sort()).toEqual([`PATCH /Users/${String(userOf(4)!['id'])}`, `PATCH /Users/${String(admin(4)!['id'])}`].sort());
  const reads = h.sandbox.requests.filter((q) => q.method === 'GET' && q.path.startsWith('/Users'));
  expect(reads.map((q) => `${q.path} ${new URLSearchParams(q.query).get('filter') ?? ''}`)).toEqual(['/Users externalId eq "E1004"']);
  // Two more would make four in the window: over maxDeactivateCount, stopped, nothing written.
  h.sandbox.clearRequests();
  const second = await leave('E1004', 'E1005');
  expect(second.stopped?.reasons.join('; ')).toMatch(/4 deprovisions \(with 2 already deprovisioned in the last 60 minutes\) exceed maxDeactivateCount 2/);
  expect(h.writes()).toEqual([]);
  expect([userOf(5)?.['active'], admin(5)?.['active']]).toEqual([true, true]);
});

/** A delivery whose head and first `sent` bytes of an announced `length` go out, the rest never: what the server answered, or '' when it closed without an answer. */
function partial(url: string, path: string, headers: Record<string, string>, length: number, sent: number): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(length), ...headers }, timeout: 10_000 }, (res) => {
      res.resume();
      resolve(String(res.statusCode));
      req.destroy();
    });
    req.on('error', (error) => (req.destroyed ? resolve('') : reject(error)));
    req.on('timeout', () => reject(new Error('no answer within 10 s')));
    req.write('x'.repeat(sent));
  });
}

it('a delivery without its signature header is refused from its headers, its body unread; refusals are counted, and logged one line a window', async () => {
  process.env['TEST_BAMBOO_KEY'] = BAMBOO_KEY;
  process.env['TEST_BOB_KEY'] = 'bob-key-5e7a9c1d3f';
  h = await Harness.synced(people, { top: `events:\n  bamboo: { format: bamboohr, secret: "\${env:TEST_BAMBOO_KEY}" }\n  bob: { format: hibob, secret: "\${env:TEST_BOB_KEY}" }\n` });
  s = await startTestService(h, {}, { refusalLogMs: 1000 });
  await s.firstCycle;
  // Not a delivery at all: neither read nor counted as refused.
  expect((await s.get('/events/bamboo')).status).toBe(405);
  // Announced, never sent whole: answered all the same, no slot held for a minute.
  expect(await partial(s.url, '/events/bamboo', {}, 100_000, 10)).toBe('401');
  for (let i = 0; i < 29; i++) expect((await s.post('/events/bamboo', '{}', {})).status).toBe(401);
  // Bob's unsigned connection test is still answered; an unsigned body longer than one is not read whole, nor parsed.
  expect((await s.post('/events/bob', '{"text":"Ping test"}', {})).status).toBe(200);
  expect((await s.post('/events/bob', `{"text":"Ping test"${' '.repeat(300)}}`, {})).status).toBe(401);
  expect(await partial(s.url, '/events/bob', {}, 1024 * 1024, 4096)).toBe('401');
  expect((await s.get('/metrics')).body).toMatch(/scimsync_inbound_events_total\{endpoint="bamboo",status="401"\} 30/);
  // Each line says one refusal, or how many more its window had.
  const said = (endpoint: string) => {
    const lines = s!.lines.filter((l) => l.startsWith(`event ${endpoint}: `) && /^event \w+: (401 |\d+ more deliver)/.test(l));
    return { lines, refusals: lines.reduce((n, l) => n + (/^event \w+: (\d+) more/.exec(l) ? Number(/^event \w+: (\d+) more/.exec(l)![1]) : 1), 0) };
  };
  await expect.poll(() => [said('bamboo').refusals, said('bob').refusals], { timeout: 10_000, interval: 20 }).toEqual([30, 2]);
  expect(said('bamboo').lines.length).toBeLessThanOrEqual(6);
  expect(said('bamboo').lines[0]).toBe('event bamboo: 401 events.bamboo: refused (signature header missing)');
  expect(said('bamboo').lines[1]).toMatch(/^event bamboo: \d+ more deliveries refused \(401\) in 1 s; the last: event bamboo: 401 events\.bamboo: refused \(signature header missing\)$/);
  expect(said('bob').lines).toEqual([
    'event bob: 401 events.bob: refused (signature header missing; no connection test: over 256 bytes)',
    'event bob: 1 more delivery refused (401) in 1 s; the last: event bob: 401 events.bob: refused (signature header missing; no connection test: over 256 bytes)',
  ]);
});

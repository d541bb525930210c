/**
 * The service against the sandbox: its endpoints, the change-driven path (same decisions as a
 * cycle, recorded as event-initiated), the safety window over bursts, and no race between a cycle
 * planned before a change and applied after it; with the CSV feed, a file replaced by rename syncs
 * just the people it changed, and a file cut mid-write never deactivates anyone.
 */
import { appendFileSync, renameSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createChangeFeed } from '../../src/sources/create-change-feed.js';
import { FileFeedTokenStore } from '../../src/state/feed-tokens.js';
import { addTarget, Harness, memberNames, peopleCsv, person, TOKEN } from '../support/harness.js';
import { serveCommand } from '../../src/cli/serve-command.js';
import { Batches, FullReconcileFeed, serveWithCsvFeed, serviceWithWithdrawnNewcomer, startTestService, type RunningService } from '../support/service.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { FileQuarantineStore } from '../../src/state/quarantine-store.js';
import type { ChangeFeed } from '../../src/sources/change-feed.js';
import { runFeed, type FeedStatus } from '../../src/service/feed-loop.js';

let h: Harness;
let s: RunningService | undefined;
afterEach(async () => {
  await s?.stop();
  s = undefined;
  await h.close();
});

const people = Array.from({ length: 20 }, (_, i) => person(i + 1));
const userOf = (n: number) => h.sandbox.store.findUserByUserName(`user${n}@example.com`);

describe('serve', () => {
  it('answers /healthz at once, /readyz once the first cycle is done, and /metrics with the cycle counted', async () => {
    h = await Harness.start();
    h.writePeople(people);
    s = await startTestService(h);
    expect((await s.get('/healthz')).status).toBe(200);
    const first = await s.firstCycle;
    expect(first?.result?.kind).toBe('applied');
    expect(userOf(20)?.['active']).toBe(true);
    const ready = await s.get('/readyz');
    expect(ready.status, ready.body).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({ status: 'ready', lastCycle: { reason: 'start-up', result: 'applied' } });
    const metrics = await s.get('/metrics');
    expect(metrics.body).toMatch(/^scimsync_cycles_total\{result="applied"\} 1$/m);
    expect(metrics.body).toMatch(/^scimsync_operations_total\{target="app",kind="createUser",outcome="ok"\} 20$/m);
    expect((await s.get('/nothing')).status).toBe(404);
  });

  it('holds serve.maxConnectionsPerAddress connections of one client: an idle flood from one address leaves /healthz answered', async () => {
    h = await Harness.start({ top: 'serve:\n  maxConnectionsPerAddress: 3\n' });
    h.writePeople(people);
    s = await startTestService(h);
    const { port } = new URL(s.url);
    // Each connection asks /healthz: the server answers those it keeps, and closes those past the share unanswered.
    const flood: Socket[] = [];
    const answered: boolean[] = [];
    for (let i = 0; i < 10; i++) {
      const socket = connect({ port: Number(port), host: '127.0.0.1', localAddress: '127.0.0.2' });
      flood.push(socket);
      socket.on('error', () => undefined);
      socket.write(`GET /healthz HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n\r\n`);
      answered.push(await new Promise<boolean>((resolve) => {
        socket.once('data', () => resolve(true));
        socket.once('close', () => resolve(false));
      }));
    }
    expect(answered).toEqual([true, true, true, false, false, false, false, false, false, false]);
    expect((await s.get('/healthz')).status).toBe(200);
    for (const socket of flood) socket.destroy();
  });

  it('is not ready while the first cycle fails, and says why', async () => {
    h = await Harness.start();
    h.writePeople(people);
    await h.sandbox.close();
    s = await startTestService(h);
    await s.firstCycle;
    const ready = await s.get('/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body).problems.join(' ')).toMatch(/app/);
  });
});

describe('a state that cannot be written', () => {
  it('stops the service with exit 1, saying why, instead of serving "ready" while it syncs no one', async () => {
    // /dev/full opens, then answers every write with ENOSPC, as a full disk does.
    h = await Harness.start({ top: 'audit: { file: /dev/full }\n' });
    h.writePeople([person(1), person(2)]);
    const lines: string[] = [];
    const io = { out: (l: string) => void lines.push(l), err: (l: string) => void lines.push(l) };
    process.env['TEST_SCIM_TOKEN'] = TOKEN;
    // Never stopped from outside: only the failed write ends it.
    const code = await serveCommand({ config: h.configFile, listen: '127.0.0.1:0' }, io, new Promise<void>(() => undefined));
    expect(code, lines.join('\n')).toBe(1);
    expect(lines.join('\n')).toMatch(/stopping: the state could not be written: .*cannot write the audit log \/dev\/full: ENOSPC.*nothing more is written to the apps until the service is started again/);
  });
});

describe('change-driven sync', () => {
  it('deactivates a leaver named by a change, through the same planner, recorded as an event', async () => {
    h = await Harness.synced(people);
    s = await startTestService(h, {});
    await s.firstCycle;
    h.sandbox.clearRequests();
    h.writePeople(people.map((p) => (p.id === 'E1003' ? { ...p, status: 'terminated' } : p)));
    const outcome = await s.fast.sync({ keys: ['E1003'], initiator: 'event', by: 'test' });
    expect(outcome.report, String(outcome.error)).toBeDefined();
    expect(userOf(3)?.['active']).toBe(false);
    // Only that person's account was written.
    expect(h.writes().map((w) => `${w.method} ${w.path}`)).toEqual([`PATCH /Users/${userOf(3)!['id']}`]);
    s.state.audit.flush();
    const records = h.audit().filter((r) => r['action'] === 'deprovisionUser');
    expect(records).toEqual([expect.objectContaining({ externalId: 'E1003', outcome: 'ok', initiator: 'event', by: 'test' })]);
  });

  it('leaves a quarantined target alone until its backoff is over, and says why', async () => {
    h = await Harness.synced(people);
    s = await startTestService(h);
    await s.firstCycle;
    h.sandbox.clearRequests();
    const now = Date.now();
    await s.state.quarantine.set({ target: 'app', since: new Date(now).toISOString(), reason: 'the credential was refused', attempts: 1, nextTry: new Date(now + 3_600_000).toISOString() });
    h.writePeople(people.map((p) => (p.id === 'E1003' ? { ...p, status: 'terminated' } : p)));
    const outcome = await s.fast.sync({ keys: ['E1003'], initiator: 'event', by: 'test' });
    expect(String(outcome.error)).toMatch(/every target is in quarantine \(app\)/);
    expect(h.sandbox.requests).toEqual([]);
    expect(userOf(3)?.['active']).toBe(true);
  });

  it('judges a burst of leavers over the window: the batch that crosses the threshold is stopped and staged', async () => {
    h = await Harness.synced(people);
    s = await startTestService(h);
    await s.firstCycle;
    // 10% of 20 managed users is 2, and one more is allowed by alwaysAllowDeactivations' default only when it is above.
    const leave = (ids: string[]) => h.writePeople(people.map((p) => (ids.includes(p.id) ? { ...p, status: 'terminated' } : p)));
    leave(['E1001']);
    expect((await s.fast.sync({ keys: ['E1001'], initiator: 'event', by: 'test' })).report).toBeDefined();
    leave(['E1001', 'E1002']);
    expect((await s.fast.sync({ keys: ['E1002'], initiator: 'event', by: 'test' })).report).toBeDefined();
    leave(['E1001', 'E1002', 'E1004', 'E1005', 'E1006']);
    const third = await s.fast.sync({ keys: ['E1004', 'E1005', 'E1006'], initiator: 'event', by: 'test' });
    expect(third.stopped?.reasons.join(' ')).toMatch(/5 of 20 managed users would be deprovisioned \(with 2 already deprovisioned in the last 60 minutes\)/);
    expect([4, 5, 6].map((n) => userOf(n)?.['active'])).toEqual([true, true, true]);
    expect([1, 2].map((n) => userOf(n)?.['active'])).toEqual([false, false]);
  });

  it('a cycle planned before a change and applied after it does not undo the change', async () => {
    h = await Harness.synced(people);
    const newcomer = person(30);
    s = await serviceWithWithdrawnNewcomer(h, people, newcomer);
    const cycle = await s.firstCycle;
    expect(cycle?.result?.kind).toBe('applied');
    expect(userOf(30)).toBeUndefined();
    s.state.audit.flush();
    const skipped = h.audit().find((r) => r['action'] === 'createUser' && r['externalId'] === newcomer.id);
    expect(skipped).toMatchObject({ outcome: 'skipped', note: expect.stringMatching(/^superseded: E1030 was synced from a newer read/) });
  });
});

describe('a change-driven batch still applying when a cycle applies', () => {
  it('its people are already marked: the cycle does not create a withdrawn hire the batch read as terminated', async () => {
    // Each request takes a while: the batch is still applying others when the cycle goes on.
    h = await Harness.synced(people, { sandbox: { behaviour: { latencyMs: 100 } } });
    const newcomer = person(30);
    h.writePeople([...people, newcomer]);
    let service: RunningService | undefined;
    let batch: Promise<unknown> | undefined;
    service = await startTestService(h, {
      onCyclePlan: async () => {
        // Between the cycle's read and its apply: the offer is withdrawn, and someone leaves (the
        // batch's only write before the start-up cycle is judged: a deprovision).
        h.writePeople([...people.map((p, i) => (i === 1 ? { ...p, status: 'terminated' } : p)), { ...newcomer, status: 'terminated' }]);
        h.sandbox.clearRequests();
        batch = service!.fast.sync({ keys: [newcomer.id, ...people.map((p) => p.id)], initiator: 'event', by: 'test' });
        // The batch has read the source and started writing: its deprovision is at the server.
        await expect.poll(() => h.sandbox.requests.some((r) => r.method === 'PATCH'), { timeout: 20_000 }).toBe(true);
      },
    });
    s = service;
    expect((await s.firstCycle)?.result?.kind).toBe('applied');
    await batch;
    expect(userOf(30)).toBeUndefined();
    expect(h.sandbox.requests.filter((r) => r.method === 'POST' && r.path === '/Users')).toEqual([]);
  });
});

it('stops at once while a feed is still in its poll (a source waiting out a backoff of minutes)', async () => {
  h = await Harness.synced(people);
  let polled!: () => void;
  const polling = new Promise<void>((resolve) => (polled = resolve));
  // A poll that never ends by itself, as one waiting out Google's Retry-After would for minutes.
  const stuck = { description: 'stuck feed', poll: () => (polled(), new Promise<never>(() => undefined)), close: async () => undefined };
  s = await startTestService(h, { feeds: [{ name: 'stuck', feed: stuck }] });
  await s.firstCycle;
  await polling;
  await s.stop();
  s = undefined;
}, 20_000);

describe('a full reconcile a feed asked for', () => {
  let crm: Sandbox | undefined;
  afterEach(async () => {
    await crm?.close();
    crm = undefined;
  });

  it('which could not read a target, is asked for again rather than committed past', async () => {
    h = await Harness.synced(people);
    h.top = 'serve:\n  pollIntervalMs: 500\n  reconcileOnStart: false\n';
    h.writeConfig();
    const feed = new FullReconcileFeed();
    h.sandbox.addFault({ method: 'GET', path: '/Users', times: Infinity, action: { type: 'status', status: 503, detail: 'down' } });
    s = await startTestService(h, { feeds: [{ name: 'groups', feed }] });
    await expect.poll(() => s!.lines.some((l) => l.includes('did not reach every target, asked again in 1 s: target app could not be read')), { timeout: 20_000 }).toBe(true);
    expect(feed.committed).toBe(0);
    h.sandbox.clearFaults();
    await expect.poll(() => feed.committed, { timeout: 20_000 }).toBe(1);
    expect(feed.polls).toBeGreaterThan(1);
  }, 40_000);

  it('which left one of two targets out in quarantine, is asked for again and reaches it once the quarantine is lifted', async () => {
    const admins = people.map((p, i) => (i < 3 ? { ...p, groups: ['admins'] } : p));
    h = await Harness.start({ top: 'serve:\n  pollIntervalMs: 500\n  reconcileOnStart: false\n' });
    crm = await startSandbox({ token: TOKEN });
    addTarget(h, 'crm', crm);
    h.writePeople(admins);
    const first = await h.run();
    expect(first.code, first.err + first.out).toBe(0);
    const before = ['user1@example.com', 'user2@example.com', 'user3@example.com'];
    expect(memberNames(crm, 'admins')).toEqual(before);
    crm.clearRequests();
    // crm is quarantined for an hour; then user1 leaves admins, and the feed asks for a full reconcile.
    const now = Date.now();
    await new FileQuarantineStore(join(h.dir, 'state')).set({ target: 'crm', since: new Date(now).toISOString(), reason: 'the credential was refused', attempts: 1, nextTry: new Date(now + 3_600_000).toISOString() });
    h.writePeople(admins.map((p) => (p.id === 'E1001' ? { ...p, groups: [] } : p)));
    const feed = new FullReconcileFeed();
    s = await startTestService(h, { feeds: [{ name: 'groups', feed }] });
    // A second poll: the first one's full reconcile has run and been judged.
    await expect.poll(() => feed.polls, { timeout: 20_000 }).toBeGreaterThan(1);
    expect(memberNames(h.sandbox, 'admins')).toEqual(before.slice(1));
    expect(memberNames(crm, 'admins')).toEqual(before);
    expect(feed.committed).toBe(0);
    expect(s.lines.join('\n')).toMatch(/feed groups: the full reconcile it asked for did not reach every target, asked again in 1 s: target crm skipped: quarantined since .*the credential was refused/);
    expect(crm.requests).toEqual([]);

    await s.state.quarantine.lift('crm');
    await expect.poll(() => feed.committed, { timeout: 20_000 }).toBe(1);
    expect(memberNames(crm, 'admins')).toEqual(before.slice(1));
  }, 40_000);
});

describe('with the source change feed', () => {
  it('a CSV replaced by rename: only the leaver and the changed person are synced', async () => {
    h = await Harness.synced(people);
    const batches = new Batches();
    s = await serveWithCsvFeed(h, batches);
    h.sandbox.clearRequests();
    const changed = people.map((p) => (p.id === 'E1007' ? { ...p, status: 'terminated' } : p.id === 'E1008' ? { ...p, title: 'Director' } : p));
    const next = batches.next();
    writeFileSync(`${h.csv}.new`, peopleCsv(changed));
    renameSync(`${h.csv}.new`, h.csv);
    const batch = await next.catch((e) => { console.log(s!.lines); throw e; });
    expect([...batch.keys].sort()).toEqual(['E1007', 'E1008']);
    expect(userOf(7)?.['active']).toBe(false);
    expect(userOf(8)?.['title']).toBe('Director');
    expect(h.writes().map((w) => `${w.method} ${w.path}`).sort()).toEqual([`PATCH /Users/${userOf(7)!['id']}`, `PATCH /Users/${userOf(8)!['id']}`].sort());
  });

  it('a leaver whose deactivation meets a 503 is handed out again by the next poll, not committed past', async () => {
    h = await Harness.synced(people);
    h.top = 'serve:\n  pollIntervalMs: 500\n';
    const batches = new Batches();
    s = await serveWithCsvFeed(h, batches);
    h.sandbox.addFault({ method: 'PATCH', path: '/Users/', times: Infinity, action: { type: 'status', status: 503, detail: 'down for a moment' } });
    const first = batches.next();
    writeFileSync(`${h.csv}.new`, peopleCsv(people.map((p) => (p.id === 'E1007' ? { ...p, status: 'terminated' } : p))));
    renameSync(`${h.csv}.new`, h.csv);
    const failed = await first;
    expect(failed.report?.targets[0]?.failures.map((f) => f.code)).toEqual(['TRANSIENT']);
    expect(userOf(7)?.['active']).toBe(true);
    // The app is back before the next poll: the same leaver comes round again.
    const again = batches.next();
    h.sandbox.clearFaults();
    const retried = await again;
    expect(retried.keys).toEqual(['E1007']);
    expect(retried.report?.targets[0]?.failures).toEqual([]);
    expect(userOf(7)?.['active']).toBe(false);
    expect(s.lines.some((l) => l.includes('not applied, handed out again and tried in 1 s: target app:'))).toBe(true);
  });

  it('a CSV cut mid-write never deactivates anyone; the whole file, once written, is synced', async () => {
    h = await Harness.synced(people);
    const batches = new Batches();
    s = await serveWithCsvFeed(h, batches);
    h.sandbox.clearRequests();
    const text = peopleCsv(people.map((p) => (p.id === 'E1002' ? { ...p, status: 'terminated' } : p)));
    // Half the rows, cut inside a row, written in place as a slow exporter would.
    const cut = text.slice(0, Math.floor(text.length / 2));
    writeFileSync(h.csv, cut);
    const next = batches.next();
    // A cycle reading the half file meanwhile is the safety net's job; the feed must name nobody.
    appendFileSync(h.csv, text.slice(cut.length));
    const batch = await next;
    expect(batch.keys).toEqual(['E1002']);
    expect(userOf(2)?.['active']).toBe(false);
    expect(people.filter((p) => p.id !== 'E1002').every((p) => userOf(Number(p.id.slice(1)) - 1000)?.['active'] === true)).toBe(true);
    expect(h.writes().map((w) => w.method)).toEqual(['PATCH']);
  });

});

/** The feed, with its polls and the commits of its position counted. */
function counted(inner: ChangeFeed): { feed: ChangeFeed; counts: { polls: number; committed: number } } {
  const counts = { polls: 0, committed: 0 };
  const feed: ChangeFeed = {
    description: inner.description,
    poll: async (signal) => {
      counts.polls++;
      const b = await inner.poll(signal);
      if (!b) return null;
      return { keys: b.keys, description: b.description, ...(b.full !== undefined ? { full: b.full } : {}), commit: async () => (await b.commit(), void counts.committed++) };
    },
    ...(inner.changed ? { changed: (signal: AbortSignal) => inner.changed!(signal) } : {}),
    close: () => inner.close(),
  };
  return { feed, counts };
}

describe('a change-driven batch with one of two targets in quarantine', () => {
  let crm: Sandbox | undefined;
  afterEach(async () => {
    await crm?.close();
    crm = undefined;
  });
  const crmUserOf = (n: number) => crm!.store.findUserByUserName(`user${n}@example.com`);

  /**
   * app and crm both synced, crm then quarantined for an hour, the CSV feed at its baseline, and the
   * service without a cycle at start; the feed run by the service unless `ownLoop` (the test runs it).
   */
  async function serveTwo(batches: Batches, ownLoop = false): Promise<{ feed: ChangeFeed; counts: { polls: number; committed: number } }> {
    h = await Harness.start({ top: 'serve:\n  pollIntervalMs: 500\n  reconcileOnStart: false\n' });
    h.writeConfig('', '', '  changes: { settleMs: 50 }');
    crm = await startSandbox({ token: TOKEN });
    addTarget(h, 'crm', crm);
    h.writePeople(people);
    const first = await h.run();
    expect(first.code, first.err + first.out).toBe(0);
    expect(crmUserOf(7)?.['active']).toBe(true);
    const now = Date.now();
    await new FileQuarantineStore(join(h.dir, 'state')).set({ target: 'crm', since: new Date(now).toISOString(), reason: 'the credential was refused', attempts: 1, nextTry: new Date(now + 3_600_000).toISOString() });
    const loaded = loadConfig(h.configFile, { TEST_SCIM_TOKEN: 'x'.repeat(8) });
    const source = createChangeFeed(loaded.config.source, loaded.config.safety, new FileFeedTokenStore(loaded.stateDir))!;
    const baseline = await source.feed.poll();
    await baseline!.commit();
    const { feed, counts } = counted(source.feed);
    s = await startTestService(h, { feeds: ownLoop ? [] : [{ name: source.name, feed }], onBatch: batches.listener });
    h.sandbox.clearRequests();
    crm.clearRequests();
    return { feed, counts };
  }

  function leaves(id: string): void {
    writeFileSync(`${h.csv}.new`, peopleCsv(people.map((p) => (p.id === id ? { ...p, status: 'terminated' } : p))));
    renameSync(`${h.csv}.new`, h.csv);
  }

  it('is applied to the healthy target, the feed keeps its position and offers the person again, and the person reaches the other target once the quarantine is lifted', async () => {
    const batches = new Batches();
    const { counts } = await serveTwo(batches);
    const first = batches.next();
    leaves('E1007');
    const outcome = await first;
    const polled = counts.polls;
    // The feed is past that batch (polling again) without having committed it.
    await expect.poll(() => counts.polls, { timeout: 10_000 }).toBeGreaterThan(polled);
    expect(counts.committed).toBe(0);
    expect(outcome.keys).toEqual(['E1007']);
    expect(outcome.leftOut).toEqual([{ target: 'crm', why: expect.stringMatching(/^skipped: quarantined since .*: the credential was refused; next try at /) }]);
    expect(userOf(7)?.['active']).toBe(false);
    expect(crmUserOf(7)?.['active']).toBe(true);
    expect(crm!.requests).toEqual([]);
    expect(s!.lines.join('\n')).toMatch(/change-driven sync of E1007: not applied to target crm, skipped: quarantined since /);
    expect(s!.lines.join('\n')).toMatch(/feed source: not applied, handed out again and tried in 1 s: target crm skipped: quarantined since .*the credential was refused/);

    // Offered again: the same person, still left out of crm, still not committed.
    const again = await batches.next();
    expect(again.keys).toEqual(['E1007']);
    expect(again.leftOut?.map((l) => l.target)).toEqual(['crm']);
    expect(counts.committed).toBe(0);
    // Counted as incomplete, not as applied.
    expect((await s!.get('/metrics')).body).toMatch(/^scimsync_change_batches_total\{result="incomplete"\} [1-9]/m);
    expect((await s!.get('/metrics')).body).not.toMatch(/^scimsync_change_batches_total\{result="applied"\}/m);

    await s!.state.quarantine.lift('crm');
    await expect.poll(() => counts.committed, { timeout: 20_000 }).toBe(1);
    expect(crmUserOf(7)?.['active']).toBe(false);
    expect(userOf(7)?.['active']).toBe(false);
    expect(batches.seen.at(-1)?.leftOut).toBeUndefined();
  }, 40_000);

  it('is not run again at every poll while the quarantine lasts: the wait doubles', async () => {
    const batches = new Batches();
    const { feed, counts } = await serveTwo(batches, true);
    // The service's own feed loop, polling every 20 ms (the config's floor is 500 ms): the same people
    // every poll would be a batch every 20 ms for as long as the quarantine lasts.
    const stop = new AbortController();
    const status: FeedStatus = { name: 'source', description: feed.description };
    const lines: string[] = [];
    const loop = runFeed('source', feed, status, { fast: s!.fast, reconcile: s!.reconcile, metrics: s!.metrics, intervalMs: 20, log: (l) => lines.push(l) }, stop.signal);
    try {
      const first = batches.next();
      leaves('E1007');
      await first;
      const from = counts.polls;
      // 40 polls of 20 ms: the waits 20, 40, 80, 160, 320, 640 ms allow about 7 batches in that time.
      await expect.poll(() => counts.polls - from, { timeout: 20_000, interval: 10 }).toBeGreaterThanOrEqual(40);
      expect(counts.committed).toBe(0);
      const runs = batches.seen.length;
      expect(runs).toBeGreaterThanOrEqual(2);
      expect(runs).toBeLessThan((counts.polls - from) / 4);
      expect(batches.seen.every((b) => b.keys.join() === 'E1007' && b.leftOut?.[0]?.target === 'crm')).toBe(true);
      expect(lines.filter((l) => l.includes('feed source: not applied, handed out again and tried in'))).toHaveLength(runs);
      expect(crm!.requests).toEqual([]);
      expect(userOf(7)?.['active']).toBe(false);
    } finally {
      stop.abort();
      await loop;
    }
  }, 40_000);
});

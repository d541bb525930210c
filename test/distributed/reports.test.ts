/**
 * Truthful reports in distributed mode (real Redis, the sandbox, a worker in this process): an
 * operation that needs an account whose create failed on a worker is skipped because of it, in the
 * report, the audit log and `status`; a target that cannot be read is a failed target.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness, person, type Person } from '../support/harness.js';
import { cleanRedis, inProcessWorkers, queueYaml, randomPrefix } from '../support/distributed.js';

let h: Harness;
let prefix: string;
let worker: Awaited<ReturnType<typeof inProcessWorkers>> | null;

beforeEach(async () => {
  prefix = randomPrefix();
  h = await Harness.start({ top: queueYaml(prefix) });
  worker = null;
});
afterEach(async () => {
  await worker?.close();
  await h.close();
  await cleanRedis(prefix);
});

describe('distributed reports', () => {
  it('a create refused on a worker: the manager reference and the membership additions that need it are skipped because of it', async () => {
    writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('concurrency: 4', 'concurrency: 1'));
    const base: Person[] = [person(1, { groups: ['g1'] }), person(2, { groups: ['g1'], manager: 'E1001' })];
    const jdoe = person(100, { email: 'jdoe@example.com', groups: ['g1', 'g2'], manager: 'E1001' });
    const because = 'depends on failed createUser for jdoe@example.com';
    h.writePeople(base);
    worker = await inProcessWorkers(h.configFile);
    expect((await h.run('--wait')).code).toBe(0);

    h.writePeople([...base, jdoe]);
    h.sandbox.clearRequests();
    h.sandbox.addFault({ method: 'POST', path: '/Users', times: 1, action: { type: 'status', status: 400, detail: 'jdoe is refused by policy' } });
    const r = await h.run('--wait');
    expect(r.code).toBe(1);
    // g2 is created empty; nothing is sent for g1, g2 or jdoe's manager.
    expect(h.writes().map((w) => `${w.method} ${w.path} ${w.status}`)).toEqual(['POST /Users 400', 'POST /Groups 201']);
    expect(r.out).toContain(`- setManager jdoe@example.com (E1100): skipped: ${because}`);
    expect(r.out).toContain(`- patchGroupMembers g1 (g1): skipped: ${because}`);
    expect(r.out).toContain(`- patchGroupMembers g2 (g2): skipped: ${because}`);
    expect(r.out).toContain('Total: 1 ok, 1 failed, 3 skipped');
    const skipped = h.audit().filter((a) => a['outcome'] === 'skipped');
    expect(skipped.map((a) => `${String(a['action'])} ${String(a['externalId'])}: ${String(a['note'])}`).sort()).toEqual(
      [`patchGroupMembers g1: ${because}`, `patchGroupMembers g2: ${because}`, `setManager E1100: ${because}`].sort(),
    );
    const status = await h.cli('status', '--config', h.configFile);
    expect(status.out).toContain(`- setManager jdoe@example.com (E1100): skipped: ${because}`);
  });

  it('a create answered 409 that finds the account is its own counts as adopted, as in embedded mode', async () => {
    h.writePeople([person(1), person(2)]);
    worker = await inProcessWorkers(h.configFile);
    // The first create is committed, then answered 409 (a gateway that replayed it): the worker finds the account is its own.
    h.sandbox.addFault({ method: 'POST', path: '/Users', when: 'after', times: 1, action: { type: 'status', status: 409, detail: 'uniqueness' } });
    const r = await h.run('--wait', '--json');
    expect(r.code, r.err).toBe(0);
    const { report } = JSON.parse(r.out) as { report: { targets: { counts: Record<string, { ok: number }>; adopted?: Record<string, number> }[] } };
    expect(report.targets[0]!.counts['createUser']!.ok).toBe(2);
    expect(report.targets[0]!.adopted).toEqual({ createUser: 1 });
    expect(h.sandbox.store.users()).toHaveLength(2);
  });

  it('a target that cannot be read: FAILED in the report and the audit, exit 1, nothing enqueued for it', async () => {
    writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('${env:TEST_SCIM_TOKEN}', '${env:WRONG_TOKEN}'));
    process.env['WRONG_TOKEN'] = 'not-the-sandbox-token-7c1e';
    h.writePeople([person(1)]);
    const r = await h.run('--wait');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/target app: FAILED — could not be read: \[AUTH\] credential rejected \(HTTP 401\)[^\n]* \(nothing was written to it\)/);
    expect(r.out).toContain('1 target failed: app');
    expect(h.audit().filter((a) => a['action'] === 'target.failed')).toEqual([expect.objectContaining({ target: 'app', outcome: 'failed' })]);
    expect(h.writes()).toEqual([]);
  });
});

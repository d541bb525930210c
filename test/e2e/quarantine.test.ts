/**
 * Quarantine over real HTTP: a target whose credential is refused, or most of whose operations
 * fail, is quarantined (report, quarantine.json, audit); later runs skip it without a request until
 * its next try; a try that fails keeps it for longer, one that succeeds lifts it; `unquarantine`
 * lifts it at once. Backoff expiry is reached by moving the stored next try into the past: no sleep.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { Harness, person, TOKEN } from '../support/harness.js';

const H = 3_600_000;
const WRONG = 'not-the-crm-token-91f3c2';
let h: Harness;
let crm: Sandbox;
const people = Array.from({ length: 10 }, (_, i) => person(i + 1));

beforeEach(async () => {
  // Creates fail on purpose here, and each run creates what the one before left: not the create check's business.
  h = await Harness.start({ safety: '  alwaysAllowCreates: 100' });
  h.writePeople(people);
  crm = await startSandbox({ token: TOKEN });
  // A second target on its own sandbox, so the requests it receives (or not) are its own.
  writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('targets:\n', `targets:\n  crm:\n    url: ${crm.url}\n    auth: { type: bearer, token: "\${env:CRM_TOKEN}" }\n`));
  process.env['CRM_TOKEN'] = WRONG;
});
afterEach(async () => {
  await crm.close();
  await h.close();
});

const file = () => join(h.dir, 'state', 'quarantine.json');
type Entry = { target: string; since: string; reason: string; attempts: number; nextTry: string };
const entries = (): Record<string, Entry> => (JSON.parse(readFileSync(file(), 'utf8')) as { targets: Record<string, Entry> }).targets;

/** The stored next try moved into the past: the backoff is over. */
function backoffOver(target: string): void {
  const doc = JSON.parse(readFileSync(file(), 'utf8')) as { targets: Record<string, Entry> };
  doc.targets[target]!.nextTry = new Date(Date.now() - 1000).toISOString();
  writeFileSync(file(), JSON.stringify(doc));
}

const near = (iso: string, ms: number) => Math.abs(Date.parse(iso) - (Date.now() + ms)) < 60_000;

describe('quarantine', () => {
  it('a refused credential quarantines the target; the next run skips it without a request; a failed retry waits longer; a successful one lifts it', async () => {
    const first = await h.run();
    expect(first.code, first.err).toBe(1);
    expect(crm.requests.map((r) => r.status)).toContain(401);
    expect(first.out).toMatch(/target crm: FAILED — could not be read: \[AUTH\] credential rejected \(HTTP 401\)/);
    expect(first.out).toMatch(/⛔ quarantined: credential refused: \[AUTH\] credential rejected \(HTTP 401\)[^\n]*; next try at \d{4}-/);
    expect(first.out).toContain('app: created 10');
    const entry = entries()['crm']!;
    expect(entry).toMatchObject({ target: 'crm', attempts: 1, reason: expect.stringMatching(/^credential refused: \[AUTH\] credential rejected \(HTTP 401\)/) });
    expect(near(entry.nextTry, 6 * H)).toBe(true);
    expect(statSync(file()).mode & 0o777).toBe(0o600);
    expect(Object.keys(entries())).toEqual(['crm']);
    expect(h.audit().filter((a) => a['action'] === 'quarantine.enter')).toEqual([expect.objectContaining({ target: 'crm', outcome: 'info' })]);
    expect(readFileSync(file(), 'utf8') + first.out + first.err).not.toContain(WRONG);

    crm.clearRequests();
    const second = await h.run();
    expect(second.code).toBe(1);
    expect(crm.requests).toEqual([]);
    const status = `quarantined since ${entry.since}: ${entry.reason}; next try at ${entry.nextTry}`;
    expect(second.out).toContain(`target crm: SKIPPED — ${status} (lift it now with scim-sync unquarantine --target crm) (nothing was sent to it)`);
    expect(second.err).toContain(`target crm skipped: ${status}`);
    expect(second.out).toContain('Total: 0 ok, 0 failed, 0 skipped; 1 target quarantined: crm');
    expect(entries()['crm']).toEqual(entry);
    // `plan` reads it (it writes nothing) and says that run will leave it out.
    const plan = await h.cli('plan', '--config', h.configFile);
    expect(plan.err).toContain(`note: target crm is ${status} (lift it now with scim-sync unquarantine --target crm); run leaves it out until then`);
    crm.clearRequests();

    backoffOver('crm');
    const retry = await h.run();
    expect(retry.code).toBe(1);
    expect(crm.requests.map((r) => r.status)).toContain(401);
    expect(retry.out).toMatch(/⛔ still quarantined after try 2: credential refused/);
    const again = entries()['crm']!;
    expect(again).toMatchObject({ since: entry.since, attempts: 2 });
    expect(near(again.nextTry, 12 * H)).toBe(true);

    process.env['CRM_TOKEN'] = TOKEN;
    backoffOver('crm');
    crm.clearRequests();
    const healed = await h.run();
    expect(healed.code, healed.out).toBe(0);
    expect(healed.out).toContain('crm: created 10');
    expect(healed.out).toMatch(/⛔ out of quarantine: this cycle succeeded \(quarantined since /);
    expect(crm.store.users()).toHaveLength(10);
    expect(entries()).toEqual({});
    expect(h.audit().filter((a) => a['action'] === 'quarantine.exit')).toEqual([expect.objectContaining({ target: 'crm' })]);
  });

  it('unquarantine lifts it at once: the next run sends to the target again', async () => {
    await h.run();
    expect(Object.keys(entries())).toEqual(['crm']);
    const r = await h.cli('unquarantine', '--config', h.configFile, '--target', 'crm');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^target crm: quarantine lifted \(it was quarantined since [^)]*: credential refused: \[AUTH\] credential rejected \(HTTP 401\)/);
    expect(entries()).toEqual({});
    expect(h.audit().filter((a) => a['action'] === 'quarantine.exit')).toEqual([
      expect.objectContaining({ target: 'crm', note: expect.stringMatching(/^quarantine lifted by scim-sync unquarantine/) }),
    ]);

    process.env['CRM_TOKEN'] = TOKEN;
    crm.clearRequests();
    const next = await h.run();
    expect(next.code).toBe(0);
    expect(crm.store.users()).toHaveLength(10);

    const again = await h.cli('unquarantine', '--config', h.configFile, '--target', 'crm');
    expect([again.code, again.out]).toEqual([0, 'target crm is not quarantined']);
    const unknown = await h.cli('unquarantine', '--config', h.configFile, '--target', 'nosuch');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('no target named nosuch');
  });

  it('more than 40% of its operations failing quarantines a target; 40% does not', async () => {
    process.env['CRM_TOKEN'] = TOKEN;
    h.sandbox.addFault({ method: 'POST', path: '/Users', times: 4, action: { type: 'status', status: 400, detail: 'rejected by test' } });
    const forty = await h.run('--target', 'app');
    expect(forty.code).toBe(1);
    expect(forty.out).toContain('app: created 6 (4 failed)');
    expect(forty.out).not.toContain('quarantine');
    expect(() => entries()).toThrow();

    h.writePeople(Array.from({ length: 14 }, (_, i) => person(i + 1)));
    h.sandbox.addFault({ method: 'POST', path: '/Users', times: 3, action: { type: 'status', status: 400, detail: 'rejected by test' } });
    // The 4 left from the first run and 4 new: 3 of 8 fail, below the 10 that count.
    const few = await h.run('--target', 'app');
    expect(few.code).toBe(1);
    expect(few.out).not.toContain('quarantine');

    h.writePeople(Array.from({ length: 24 }, (_, i) => person(i + 1)));
    h.sandbox.addFault({ method: 'POST', path: '/Users', times: 7, action: { type: 'status', status: 400, detail: 'rejected by test' } });
    // 3 left + 10 new = 13 creates, 7 failing: 54%.
    const most = await h.run('--target', 'app');
    expect(most.code).toBe(1);
    expect(most.out).toContain('created 6 (7 failed)');
    expect(most.out).toContain('⛔ quarantined: 7 of 13 operations failed (more than 40%)');
    expect(entries()['app']).toMatchObject({ attempts: 1, reason: '7 of 13 operations failed (more than 40%)' });
  });
});

/**
 * A stop that doubts the source (minSourceUsers, maxInvalidRecordsPercent) is no set of leavers to
 * approve: it stages nothing and says to fix the source. And an approve, from the CLI or the
 * console, checks the source as it reads now by the same rules: a set staged for a real mass
 * departure is not approved against an export that came out empty meanwhile.
 */
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ConsoleClient, OPERATOR_TOKEN, consoleYaml, field } from '../support/console.js';
import { Harness, peopleCsv, person } from '../support/harness.js';
import { startTestService, type RunningService } from '../support/service.js';

let h: Harness;
let s: RunningService | undefined;
afterEach(async () => {
  await s?.stop();
  s = undefined;
  await h.close();
});

const team = Array.from({ length: 20 }, (_, i) => person(i + 1));
const actives = () => team.map((_, i) => h.sandbox.store.findUserByUserName(`user${i + 1}@example.com`)?.['active']);
const writes = () => h.writes().map((w) => `${w.method} ${w.path}`);
const stagedIds = async () => (JSON.parse((await h.cli('staged', '--config', h.configFile, '--json')).out) as { staged: { id: string }[] }).staged.map((x) => x.id);
/** The export as a failed job leaves it: the header and no one. */
const headerOnly = () => writeFileSync(h.csv, peopleCsv([]));

describe('a stop because the source is in doubt', () => {
  it('stages nothing to approve and says to fix the source; an override is named only as a deliberate choice', async () => {
    h = await Harness.synced(team);
    headerOnly();
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(3);
    expect(r.err).toContain('the source returned 0 users (minimum 1): treated as a source outage, not as everyone leaving');
    expect(r.err).toContain('Nothing was staged to approve: the source read itself is in doubt, not the number of deprovisions. Fix the source');
    expect(r.err).not.toMatch(/staged as st-|rerun with --override-safety to apply it anyway/);
    expect(await stagedIds()).toEqual([]);
    expect(h.audit().filter((x) => x['action'] === 'staged.create')).toEqual([]);
    expect(h.audit().filter((x) => x['action'] === 'safety.stop')).toHaveLength(1);
    expect(writes()).toEqual([]);
    expect(actives()).toEqual(Array(20).fill(true));

    // --json says so too.
    const json = JSON.parse((await h.run('--json')).out) as { safety: Record<string, unknown> };
    expect(json.safety).toMatchObject({ stopped: true, sourceInDoubt: true });
    expect(json.safety['staged']).toBeUndefined();
  });

  it('a stop on deprovisions alone still stages them (the leavers are the question there)', async () => {
    h = await Harness.synced(team);
    h.writePeople(team.slice(0, 15));
    const r = await h.run();
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/staged as st-[0-9a-f]{8}/);
    expect(r.err).toContain('rerun with --override-safety to apply it anyway');
    expect(await stagedIds()).toHaveLength(1);
  });
});

describe('approving a staged set while the source is in doubt', () => {
  it('refuses (exit 3), deactivates no one and keeps the set; approved once the source reads whole again', async () => {
    h = await Harness.synced(team);
    // Five really leave: stopped (5 of 20, limit 10%) and staged.
    h.writePeople(team.slice(0, 15));
    const stop = await h.run();
    const id = /staged as (st-[0-9a-f]{8})/.exec(stop.err)![1]!;
    // The next export comes out empty.
    headerOnly();
    h.sandbox.clearRequests();
    const refused = await h.cli('approve', id, '--config', h.configFile);
    expect(refused.code, refused.err + refused.out).toBe(3);
    expect(refused.err).toContain('the source returned 0 users (minimum 1)');
    expect(refused.err).toContain(`Staged set ${id} was not approved and stays staged: the source as it reads now is in doubt`);
    expect(writes()).toEqual([]);
    expect(actives()).toEqual(Array(20).fill(true));
    expect(await stagedIds()).toEqual([id]);
    expect(h.audit().filter((x) => x['action'] === 'staged.approve')).toEqual([]);
    expect(h.audit().filter((x) => x['action'] === 'safety.stop').at(-1)).toMatchObject({ note: expect.stringContaining(`staged set ${id} not approved: the source returned 0 users`) });

    // Too many broken rows (4 of 19, limit 5%) is the source in doubt too.
    writeFileSync(h.csv, peopleCsv(team.slice(0, 15)) + 'E2001,x\nE2002,x\nE2003,x\nE2004,x\n');
    const broken = await h.cli('approve', id, '--config', h.configFile);
    expect(broken.code).toBe(3);
    expect(broken.err).toContain('4 of 19 source records are invalid');
    expect(writes()).toEqual([]);

    h.writePeople(team.slice(0, 15));
    const approved = await h.cli('approve', id, '--config', h.configFile);
    expect(approved.code, approved.err + approved.out).toBe(0);
    expect(writes()).toHaveLength(5);
    expect(actives()).toEqual([...Array(15).fill(true), ...Array(5).fill(false)]);
    expect(await stagedIds()).toEqual([]);
  });

  it('from the console: refused with the reason, nothing written, the set still staged', async () => {
    h = await Harness.synced(team, { top: consoleYaml() });
    h.writePeople(team.map((p, i) => (i < 5 ? { ...p, status: 'terminated' } : p)));
    s = await startTestService(h);
    expect((await s.firstCycle)?.result?.kind).toBe('stopped');
    const operator = new ConsoleClient(s.url);
    await operator.signIn(OPERATOR_TOKEN);
    const id = /href="\/ui\/staged\/(st-[0-9a-f]{8})"/.exec((await operator.get('/ui/staged')).body)![1]!;
    const csrf = field((await operator.get(`/ui/staged/${id}`)).body, 'csrf');
    headerOnly();
    h.sandbox.clearRequests();
    const refused = await operator.post('/ui/staged/approve', { id, csrf });
    expect(refused.status, refused.body).toBe(409);
    expect(refused.body).toContain('the source returned 0 users (minimum 1)');
    expect(refused.body).toContain(`Staged set ${id} was not approved and stays staged`);
    expect(writes()).toEqual([]);
    expect(actives()).toEqual(Array(20).fill(true));
    expect((await operator.get('/ui/staged')).body).toContain(`/ui/staged/${id}`);
  });
});

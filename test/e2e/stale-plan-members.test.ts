/**
 * A saved plan's membership changes are checked against the people they add or remove and against
 * the group as the target holds it now: a person back in the source since the plan keeps their
 * groups, and a plan applied twice takes nobody out twice. The CLI against the sandbox over HTTP.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, memberNames, person } from '../support/harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const team = Array.from({ length: 5 }, (_, i) => person(i + 1, { groups: ['eng'] }));
const everyone = team.map((p) => p.email!).sort();
const planFile = () => join(h.dir, 'plan.json');
const writes = () => h.writes().map((w) => `${w.method} ${w.path}`);

/** E1003 marked terminated, a plan saved for review (membership change and deactivation), then HR takes it back. */
async function planWhileTerminated(): Promise<void> {
  h.writePeople(team.map((p) => (p.id === 'E1003' ? { ...p, status: 'terminated' } : p)));
  const r = await h.cli('plan', '--config', h.configFile, '--out', planFile());
  expect(r.code, r.err + r.out).toBe(0);
  expect(r.out).toMatch(/members +eng: .*-1/);
}

const apply = () => h.cli('apply', planFile(), '--config', h.configFile);

describe.each([
  { method: 'patch', kind: 'patchGroupMembers' },
  { method: 'put', kind: 'replaceGroup' },
])('a stale saved plan (updateMethod: $method)', ({ method, kind }) => {
  it('a person back in the source since the plan keeps their groups: the membership change is stale, not applied', async () => {
    h = await Harness.synced(team, { target: `    updateMethod: ${method}` });
    await planWhileTerminated();
    h.writePeople(team);
    const cron = await h.run();
    expect(cron.code, cron.err + cron.out).toBe(0);
    h.sandbox.clearRequests();

    const r = await apply();
    expect(r.code, r.err + r.out).toBe(1);
    expect(writes()).toEqual([]);
    expect(memberNames(h.sandbox, 'eng')).toEqual(everyone);
    expect(r.out).toMatch(new RegExp(`${kind} eng \\(eng\\): skipped: stale: the source record of user3@example\\.com \\(E1003\\), whom it removes, changed since the plan was made`));
    expect(h.audit().find((a) => a['action'] === kind && a['planId'] !== undefined && a['outcome'] === 'skipped')).toMatchObject({ note: expect.stringContaining('stale') });
  });

  it('a plan applied twice takes nobody out twice, also after a run put the person back', async () => {
    h = await Harness.synced(team, { target: `    updateMethod: ${method}` });
    await planWhileTerminated();
    const first = await apply();
    expect(first.code, first.err + first.out).toBe(0);
    expect(memberNames(h.sandbox, 'eng')).toEqual(everyone.filter((n) => n !== 'user3@example.com'));

    // Nothing changed since: everything is in place, nothing is written.
    h.sandbox.clearRequests();
    const again = await apply();
    expect(again.code, again.err + again.out).toBe(0);
    expect(writes()).toEqual([]);
    expect(again.out).toMatch(new RegExp(`${kind} eng \\(eng\\): unchanged: already in place`));

    // HR takes the termination back; a run gives the account and the membership back.
    h.writePeople(team);
    const cron = await h.run();
    expect(cron.code, cron.err + cron.out).toBe(0);
    expect(memberNames(h.sandbox, 'eng')).toEqual(everyone);
    h.sandbox.clearRequests();
    const third = await apply();
    expect(third.code, third.err + third.out).toBe(1);
    expect(writes()).toEqual([]);
    expect(memberNames(h.sandbox, 'eng')).toEqual(everyone);
    expect(third.out).toMatch(new RegExp(`${kind} eng \\(eng\\): skipped: stale: the source record of user3@example\\.com \\(E1003\\)`));
  });
});

/**
 * A plan saved from a clean read deprovisions E1020 (gone from the source) and takes them out of
 * eng; at apply the read is dirty (a new row the source rejects). A plan made now would hold the
 * deprovision and keep E1020 in eng: apply holds both, says why, and applies the rest.
 */
describe.each([
  { method: 'patch', kind: 'patchGroupMembers' },
  { method: 'put', kind: 'replaceGroup' },
])('a saved plan applied on a dirty read (updateMethod: $method)', ({ method, kind }) => {
  const twenty = Array.from({ length: 20 }, (_, i) => person(i + 1, { groups: ['eng'] }));
  const stayers = twenty.slice(0, 19).map((p) => (p.id === 'E1002' ? { ...p, title: 'Lead' } : p));
  const names = (people: readonly { email?: string }[]) => people.map((p) => p.email!).sort();

  it("holds the membership removal of a person whose deprovision the read holds, and applies the rest", async () => {
    h = await Harness.synced(twenty, { target: `    updateMethod: ${method}`, safety: '  maxInvalidRecordsPercent: 50' });
    h.writePeople(stayers);
    const planned = await h.cli('plan', '--config', h.configFile, '--out', planFile());
    expect(planned.code, planned.err + planned.out).toBe(0);
    const leaver = h.sandbox.store.findUserByUserName('user20@example.com')!.id as string;

    // The export at apply time: the same people, and a new row the source rejects (a control character).
    h.writePeople([...stayers, person(21, { first: 'Ann\u0007' })]);
    h.sandbox.clearRequests();
    const r = await apply();
    expect(r.code, r.err + r.out).toBe(1);
    expect(writes()).toEqual([`${method.toUpperCase()} /Users/${h.sandbox.store.findUserByUserName('user2@example.com')!.id as string}`]);
    expect(h.sandbox.store.findUserByUserName('user2@example.com')).toMatchObject({ title: 'Lead' });
    expect(h.sandbox.store.getUser(leaver)).toMatchObject({ active: true });
    expect(memberNames(h.sandbox, 'eng')).toEqual(names(twenty));
    expect(r.out).toMatch(
      new RegExp(`${kind} eng \\(eng\\): skipped: held: it removes user20@example\\.com \\(E1020\\), whose deprovision is held: the source read reported 1 invalid record`),
    );
    expect(h.audit().find((a) => a['action'] === kind && a['outcome'] === 'skipped')).toMatchObject({ note: expect.stringContaining('whose deprovision is held') });

    // A clean read again: the plan's held part is applied.
    h.writePeople(stayers);
    h.sandbox.clearRequests();
    const clean = await apply();
    expect(clean.code, clean.err + clean.out).toBe(0);
    expect(h.sandbox.store.getUser(leaver)).toMatchObject({ active: false });
    expect(memberNames(h.sandbox, 'eng')).toEqual(names(stayers));
  });
});

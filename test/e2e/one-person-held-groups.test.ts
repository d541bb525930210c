/**
 * One person's commands and a group the source holds: a group named only on a row the source
 * rejects is held by a cycle (not deleted, its members left as they are), and `provision`,
 * `deprovision` and the plan behind them (planPerson) hold it the same, although they read the
 * source narrowed to one person (narrowSnapshot). Before, the narrowed read dropped the group's
 * held key: the plan planned the group's delete, and only the one-person cut of the operations
 * (which never sends a group delete on one person's behalf) kept it from being sent.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness, person, TOKEN, type Person } from '../support/harness.js';
import { loadConfig } from '../../src/config/load.js';
import { planPerson } from '../../src/engine/one-person.js';
import { openState } from '../../src/engine/state.js';

let h: Harness;
beforeEach(async () => {
  // Groups gone from the source are deleted: only the hold keeps sales. A third of the rows is
  // invalid here, over the default limit, and the one-person commands must get past it to write.
  h = await Harness.start({ target: '    groups: { deprovision: delete }', safety: '  maxInvalidRecordsPercent: 50' });
});
afterEach(async () => {
  await h.close();
});

const team: Person[] = [person(1, { groups: ['engineering'] }), person(2, { groups: ['engineering', 'sales'] }), person(3, { department: 'Sales', groups: ['sales'] })];
/** E1002 leaves sales; E1003's row is rejected (E1001's userName), so sales is named on no valid row: held. */
const broken: Person[] = [team[0]!, person(2, { groups: ['engineering'], title: 'Lead' }), person(3, { department: 'Sales', email: 'user1@example.com', groups: ['sales'] })];

const idOf = (n: number) => String(h.sandbox.store.findUserByUserName(`user${n}@example.com`)!['id']);
const membersOf = (name: string) => ((h.sandbox.store.findGroupByDisplayName(name)?.['members'] as { value: string }[] | undefined) ?? []).map((m) => m.value).sort();
/** Requests as "METHOD /Type/id". */
const writes = () => h.writes().map((w) => `${w.method} /${w.path.replace(/^\//, '')}`);

describe('one person and a group the source holds', () => {
  it('provision and deprovision leave a held group and its members as they are, as a cycle does', async () => {
    h.writePeople(team);
    expect((await h.run()).code).toBe(0);
    const [u1, u2, u3] = [idOf(1), idOf(2), idOf(3)];
    const sales = String(h.sandbox.store.findGroupByDisplayName('sales')!['id']);
    const engineering = String(h.sandbox.store.findGroupByDisplayName('engineering')!['id']);
    expect(membersOf('sales')).toEqual([u2, u3].sort());

    h.writePeople(broken);
    // What a cycle would do: sales held, neither deleted nor changed (E1002 stays in it).
    const cycle = await h.cli('plan', '--config', h.configFile);
    expect(cycle.out).toContain('held group  sales (sales): not deleted');
    expect(cycle.out).not.toContain('members     sales');

    // The plan behind the one-person commands holds it too, rather than planning its delete.
    const loaded = loadConfig(h.configFile, { ...process.env, TEST_SCIM_TOKEN: TOKEN });
    const state = await openState(loaded, { lock: false, audit: false, readOnly: true });
    try {
      const planned = await planPerson(loaded, state, 'E1002');
      const target = planned.plan.targets[0]!;
      expect(target.heldGroups?.map((g) => g.externalId)).toEqual(['sales']);
      const all = [...target.phases.flatMap((p) => p.operations), ...(target.held?.operations ?? [])];
      expect(all.filter((op) => op.externalId === 'sales')).toEqual([]);
    } finally {
      await state.close();
    }

    h.sandbox.clearRequests();
    const provision = await h.cli('provision', '--config', h.configFile, '--user', 'E1002');
    // Exit 1: a read with an invalid record is not a clean run, though it holds nothing of E1002's.
    expect(provision.code, provision.err + provision.out).toBe(1);
    expect(provision.out).toContain('deprovisioning held (none planned)');
    // sales is named only where the rejected record is listed (why the read is dirty), in no action.
    expect(provision.out.split('\n').filter((l) => l.includes('sales'))).toEqual([expect.stringMatching(/^ {2}read source: 1 invalid record: .*held, not deleted: sales/)]);
    // E1002's title, and nothing of sales.
    expect(writes()).toEqual([`PATCH /Users/${u2}`]);
    expect(membersOf('sales')).toEqual([u2, u3].sort());

    h.sandbox.clearRequests();
    const deprovision = await h.cli('deprovision', '--config', h.configFile, '--user', 'E1002', '--reason', 'laptop stolen');
    expect(deprovision.code, deprovision.err + deprovision.out).toBe(0);
    // Out of engineering and deactivated; sales, held, keeps its members (E1002's account is off all the same).
    expect(writes()).toEqual([`PATCH /Groups/${engineering}`, `PATCH /Users/${u2}`]);
    expect(h.writes()[0]!.body).toMatchObject({ Operations: [{ op: 'remove', path: `members[value eq "${u2}"]` }] });
    expect(h.sandbox.store.getUser(u2)!['active']).toBe(false);
    expect(membersOf('engineering')).toEqual([u1]);
    expect(membersOf('sales')).toEqual([u2, u3].sort());
    expect(h.sandbox.store.findGroupByDisplayName('sales')!['id']).toBe(sales);
  });
});

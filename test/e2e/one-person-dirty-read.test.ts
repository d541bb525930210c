/**
 * One person's commands and a control character in another person's row: the read is dirty, for a
 * cycle (that row rejected and its person held, deprovisioning held) and for one person's read
 * alike (narrowSnapshot: a dirty read is dirty for everyone). Before, the screen of source values
 * (control-characters.ts) ran on the CSV's one-person read after it had been narrowed to that
 * person, never saw the other row, and found the read clean: `provision` deactivated a leaver a
 * cycle on the same file holds.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness, person, TOKEN, type Person } from '../support/harness.js';
import { loadConfig } from '../../src/config/load.js';
import { planPerson } from '../../src/engine/one-person.js';
import { openState } from '../../src/engine/state.js';

let h: Harness;
beforeEach(async () => {
  // A third of the rows is invalid: over the default limit, which is not what this is about.
  h = await Harness.start({ safety: '  maxInvalidRecordsPercent: 50' });
});
afterEach(async () => {
  await h.close();
});

const team: Person[] = [person(1), person(2), person(3)];
/** E1002 leaves; E1003's first name carries an ANSI escape (ESC, U+001B): that row is rejected. */
const dirty: Person[] = [team[0]!, person(2, { status: 'terminated' }), person(3, { first: 'First3\u001b[31m' })];

const idOf = (n: number) => String(h.sandbox.store.findUserByUserName(`user${n}@example.com`)!['id']);
/** Requests as "METHOD /Type/id". */
const writes = () => h.writes().map((w) => `${w.method} /${w.path.replace(/^\//, '')}`);

describe("one person's read and a control character in another person's row", () => {
  it('is as dirty as a cycle\'s: the issue is reported and the leaver\'s deactivation held', async () => {
    h.writePeople(team);
    expect((await h.run()).code).toBe(0);
    const u2 = idOf(2);

    h.writePeople(dirty);
    // What a cycle does with this file: E1003 rejected and held, deprovisioning (E1002's) held.
    const cycle = await h.cli('plan', '--config', h.configFile);
    expect(cycle.out).toContain('control character U+001B');
    expect(cycle.out).toContain('held, not applied: 1 to deprovision: the source read reported 1 invalid record');

    // The plan behind the one-person commands (and a one-person batch of serve's fast lane).
    const loaded = loadConfig(h.configFile, { ...process.env, TEST_SCIM_TOKEN: TOKEN });
    const state = await openState(loaded, { lock: false, audit: false, readOnly: true });
    try {
      const planned = await planPerson(loaded, state, 'E1002');
      expect(planned.plan.source.invalidRecords).toBe(1);
      expect(planned.plan.source.issues).toEqual([expect.stringContaining('control character U+001B')]);
      const target = planned.plan.targets[0]!;
      // E1002's deprovision is held, as in the cycle, not planned to be sent.
      expect(target.phases.flatMap((p) => p.operations)).toEqual([]);
      expect(target.held?.reason).toContain('1 invalid record');
      expect(target.held?.operations.map((op) => [op.kind, op.externalId])).toEqual([['deprovisionUser', 'E1002']]);
    } finally {
      await state.close();
    }

    h.sandbox.clearRequests();
    const provision = await h.cli('provision', '--config', h.configFile, '--user', 'E1002');
    expect(provision.code, provision.err + provision.out).toBe(1);
    expect(provision.out).toContain('1 deprovisioning operation held: the source read reported 1 invalid record');
    // Its steps say what is held and which record holds it, not "nothing to do" and "done".
    expect(provision.out).toMatch(/read source: 1 invalid record: .*people\.csv:4: .*control character U\+001B/);
    expect(provision.out).toContain('app: held, not applied: ');
    expect(provision.out).toMatch(/app: result: held: 1 deprovisioning operation held/);
    expect(provision.out).not.toContain('app: action: nothing to do');
    expect(provision.out).not.toContain('app: result: done');
    // Nothing sent: E1002 stays active, as after a cycle on this file.
    expect(writes()).toEqual([]);
    expect(h.sandbox.store.getUser(u2)!['active']).toBe(true);

    const cycleRun = await h.run();
    expect(cycleRun.code, cycleRun.err + cycleRun.out).toBe(1);
    expect(writes()).toEqual([]);
    expect(h.sandbox.store.getUser(u2)!['active']).toBe(true);
  });
});

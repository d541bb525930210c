/**
 * quirks.userNameCaseExact: a server that tells "Ann.Lee" from "ann.lee" gets a rename by case
 * alone; any other is not sent one (RFC 7643: userName is not case-exact), or every run would
 * rewrite names the server stores in its own case.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness, person } from '../support/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await Harness.start();
});
afterEach(async () => {
  await h.close();
});

async function renameByCase(target: string): Promise<void> {
  h.writeConfig(target);
  h.writePeople([person(1, { email: 'Ann.Lee@example.com' }), person(2)]);
  expect((await h.run()).code).toBe(0);
  h.writePeople([person(1, { email: 'ann.lee@example.com' }), person(2)]);
  h.sandbox.clearRequests();
  const r = await h.run();
  expect(r.code, r.out + r.err).toBe(0);
}

describe('a userName changed by case alone', () => {
  it('reaches a target whose userName is case-exact', async () => {
    await renameByCase('    quirks: { userNameCaseExact: true }');
    expect(h.writes().map((w) => w.method)).toEqual(['PATCH']);
    expect(h.sandbox.store.users().find((u) => u['externalId'] === 'E1001')!['userName']).toBe('ann.lee@example.com');
  });

  it('is no change for any other target', async () => {
    await renameByCase('');
    expect(h.writes()).toEqual([]);
  });
});

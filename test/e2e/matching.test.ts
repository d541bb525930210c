/**
 * Matching rules against the sandbox (issue #16): an account made by hand is found by the work
 * email and adopted because the target says so; two accounts that share the value are reported
 * and neither is touched.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, person } from '../support/harness.js';

let h: Harness;
afterEach(async () => {
  await h.close();
});

const MATCH = `    mapping:
      userName: '=ToLower(givenName & "." & familyName)'
    match:
      on: [userName, 'emails[type eq "work"].value']
      adopt: ['emails[type eq "work"].value']
`;
const handmade = (userName: string, email: string) =>
  h.sandbox.store.createUser({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, active: true, title: 'Handmade', emails: [{ type: 'work', value: email, primary: true }] });
const byName = (userName: string) => h.sandbox.store.findUserByUserName(userName);

describe('matching rules', () => {
  it('adopts an account made by hand through the attribute configured to adopt, then keeps it', async () => {
    h = await Harness.start({ target: MATCH });
    h.writePeople([person(1), person(2)]);
    const made = handmade('jd-handmade', 'USER1@example.com');
    const r = await h.run();
    expect(r.code, r.err).toBe(0);
    expect(h.sandbox.store.users()).toHaveLength(2);
    const adopted = h.sandbox.store.users().find((u) => u['id'] === made['id'])!;
    expect(adopted).toMatchObject({ externalId: 'E1001', userName: 'first1.last1', title: 'Engineer' });
    expect(byName('first2.last2')!['externalId']).toBe('E1002');
    expect(h.audit().some((a) => a['externalId'] === 'E1001' && JSON.stringify(a).includes('unlinked account with the same work email, adopted'))).toBe(true);

    h.sandbox.clearRequests();
    expect((await h.run()).code).toBe(0);
    expect(h.writes()).toEqual([]);
  });

  it('reports two accounts that share the matching value and touches neither', async () => {
    h = await Harness.start({ target: MATCH });
    h.writePeople([person(1), person(2)]);
    handmade('copy-a', 'user2@example.com');
    handmade('copy-b', 'user2@example.com');
    const r = await h.run();
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/work email "user2@example\.com" \(E1002\) matches 2 accounts \(ids [^)]+\): neither is touched, and nobody is created/);
    expect(h.writes().map((w) => w.method)).toEqual(['POST']);
    expect(byName('copy-a')).toMatchObject({ title: 'Handmade' });
    expect(byName('copy-a')!['externalId']).toBeUndefined();
    expect(byName('copy-b')!['externalId']).toBeUndefined();
    expect(byName('first2.last2')).toBeUndefined();
  });
});

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

describe('two people the mapping gives one userName', () => {
  const SAME_NAME = `    mapping:
      userName: '=ToLower(givenName & "." & familyName)'
    adopt: userName
`;

  it('the first in source order is created, the other is reported and never takes its account, on any run', async () => {
    h = await Harness.start({ target: SAME_NAME });
    h.writePeople([person(1, { first: 'Jo', last: 'Doe' }), person(2, { first: 'Jo', last: 'Doe' }), person(3)]);
    const first = await h.run();
    expect(first.out).toContain('E1002 is not created: the mapping gives it userName "jo.doe", as it does E1001, created in this plan');
    expect(h.writes().filter((w) => w.method === 'POST').map((w) => (w.body as { externalId: string }).externalId)).toEqual(['E1001', 'E1003']);
    expect(byName('jo.doe')).toMatchObject({ externalId: 'E1001', emails: [{ type: 'work', value: 'user1@example.com', primary: true }] });

    h.sandbox.clearRequests();
    const second = await h.run();
    expect(second.out).toMatch(/userName "jo\.doe" \(E1002\) is held by an account scim-sync manages for another person/);
    expect(h.writes()).toEqual([]);
    expect(byName('jo.doe')).toMatchObject({ externalId: 'E1001', emails: [{ type: 'work', value: 'user1@example.com', primary: true }] });
  });

  it('an account keyed to another identity that appears after planning is not adopted on the conflict (saved plan, adopt: userName)', async () => {
    h = await Harness.start({ target: SAME_NAME });
    h.writePeople([person(1, { first: 'Jo', last: 'Doe' })]);
    const planFile = `${h.dir}/plan.json`;
    expect((await h.cli('plan', '--config', h.configFile, '--out', planFile)).code).toBe(0);
    // Made by someone else meanwhile, with the same userName, keyed to another identity.
    h.sandbox.store.createUser({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'jo.doe', externalId: 'OTHER-7', active: true, title: 'Theirs' });
    const applied = await h.cli('apply', planFile, '--config', h.configFile);
    expect(applied.code).not.toBe(0);
    expect(`${applied.out}\n${applied.err}`).toContain('userName "jo.doe" belongs to an account keyed to another identity');
    expect(h.writes().map((w) => w.method)).toEqual(['POST']);
    expect(byName('jo.doe')).toMatchObject({ externalId: 'OTHER-7', title: 'Theirs' });
  });
});

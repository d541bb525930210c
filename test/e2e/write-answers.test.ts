/**
 * What the executor believes of the answers to its writes, against a server that answers wrongly
 * or a target that changed under it. `adopt: email` takes no account by its userName alone.
 */
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { Harness, person, withoutPreconditions } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const records = (action: string) => h!.audit().filter((a) => a['action'] === action);

it("adopt: email takes, after a 409, no account by its userName alone: a contractor's account with another work email is left alone", async () => {
  const people = Array.from({ length: 5 }, (_, i) => person(i + 1));
  h = await Harness.synced(people);
  h.writeConfig('    adopt: email');
  h.writePeople([...people, person(100, { email: 'newhire@example.com' })]);
  const plan = join(h.dir, 'plan.json');
  expect((await h.cli('plan', '--config', h.configFile, '--out', plan)).code).toBe(0);
  withoutPreconditions(plan);
  // Made by hand after the plan: a contractor who got that userName, with their own mailbox.
  const { id } = h.sandbox.store.createUser({ userName: 'newhire@example.com', name: { givenName: 'Con', familyName: 'Tractor' }, emails: [{ value: 'contractor@vendor.example', type: 'work', primary: true }], title: 'Contractor' });
  h.sandbox.clearRequests();
  const r = await h.cli('apply', plan, '--config', h.configFile);
  expect(r.code, r.out + r.err).toBe(1);
  expect(h.writes().map((w) => `${w.method} ${w.status}`)).toEqual(['POST 409']);
  const other = String(id);
  expect(h.sandbox.store.getUser(other)).toMatchObject({ title: 'Contractor', emails: [{ value: 'contractor@vendor.example', type: 'work', primary: true }] });
  expect(h.sandbox.store.getUser(other)!['externalId']).toBeUndefined();
  const rec = records('createUser').find((a) => a['externalId'] === 'E1100');
  expect(rec).toMatchObject({
    outcome: 'failed',
    error: { code: 'CONFLICT', message: `userName "newhire@example.com" belongs to an account (id ${other}) that does not have newhire@example.com's work email; adopt: email takes over only that one: left alone` },
  });
});

/**
 * A target without the enterprise extension (many SaaS SCIM servers are core-only, and refuse a
 * whole write that carries it): scim-sync reads /ResourceTypes/User, leaves the enterprise
 * attributes and the manager reference out with a warning, and everything else converges.
 */
import { afterEach, expect, it } from 'vitest';
import { SCHEMA_ENTERPRISE_USER } from '../../src/model/scim.js';
import { Harness, person } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

it('a core-only target gets every user, without the enterprise attributes and the manager, and a warning says so', async () => {
  h = await Harness.start({ sandbox: { behaviour: { enterpriseExtension: false } } });
  h.writePeople([person(1, { department: 'Eng' }), person(2, { department: 'Sales', manager: 'E1001' })]);
  const r = await h.run();
  expect(r.code, r.err + r.out).toBe(0);
  expect(r.out).toContain(`the server lists no ${SCHEMA_ENTERPRISE_USER} extension for Users: department is not sent`);
  expect(r.out).toContain(`the server lists no ${SCHEMA_ENTERPRISE_USER} extension for Users: the manager reference is not set`);
  const users = h.sandbox.store.users();
  expect(users.map((u) => u['userName']).sort()).toEqual(['user1@example.com', 'user2@example.com']);
  expect(users.some((u) => SCHEMA_ENTERPRISE_USER in u)).toBe(false);
  expect(h.sandbox.requests.filter((q) => q.status >= 400)).toEqual([]);

  // Converged: the next run writes nothing, and does not try the manager again.
  h.sandbox.clearRequests();
  const again = await h.run();
  expect(again.code, again.err + again.out).toBe(0);
  expect(h.writes()).toEqual([]);

  // `check` says so before anything is written.
  const check = await h.cli('check', '--config', h.configFile);
  expect(check.out).toContain('no enterprise extension for Users (/ResourceTypes/User): enterprise attributes (department, employeeNumber, manager...) are not sent');
});

it('the same people on a server with the extension get the department and the manager (the warning is about the server)', async () => {
  h = await Harness.start();
  h.writePeople([person(1, { department: 'Eng' }), person(2, { department: 'Sales', manager: 'E1001' })]);
  const r = await h.run();
  expect(r.code, r.err + r.out).toBe(0);
  expect(r.out).not.toContain('extension for Users');
  const two = h.sandbox.store.users().find((u) => u['userName'] === 'user2@example.com')!;
  expect(two[SCHEMA_ENTERPRISE_USER]).toMatchObject({ department: 'Sales', manager: { value: expect.any(String) } });
});

/**
 * What a clean secondary lends a person it has no record of is unknown, not empty, whatever SCIM
 * attribute it lands in: roles and entitlements (a set that the primary's values fill too), the
 * typed entries of emails and addresses (beside entries the primary fills), the enterprise
 * extension, and the manager reference a secondary names. Against the sandbox, two CSV sources
 * joined, with PATCH and with PUT: the partial person keeps every lent value while the primary's
 * own changes reach them, and a person the secondary does know, with those cells empty, is cleared.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness } from '../support/harness.js';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
let h: Harness;

beforeEach(async () => {
  h = await Harness.start();
});
afterEach(async () => {
  await h.close();
});

function config(method: 'patch' | 'put', hrManager: boolean, scope = ''): void {
  writeFileSync(
    h.configFile,
    `version: 1
state: { dir: state }
sources:
  hr:
    type: csv
    path: hr.csv
    key: employee_id
${hrManager ? '    manager: manager_id\n' : ''}    columns: { userName: login, email: work_email, givenName: first_name, familyName: last_name, title: title, country: country, division: division, level: level }
  dir:
    type: csv
    path: dir.csv
    key: uid
    manager: mgr
    columns: { department: dept, phone: phone, city: city, costCenter: cc, jobRole: role, license: lic, homeEmail: home }
    groups: { column: groups, separator: ";" }
join: { primary: hr, secondaries: { dir: { on: [employee_id, empno] } }, groups: [dir] }
targets:
  app:
    url: ${h.sandbox.url}
    auth: { type: bearer, token: "\${env:TEST_SCIM_TOKEN}" }
    updateMethod: ${method}
    mapping:
      'emails[type eq "home"].value': '{homeEmail}'
    roles:
      - { value: "{level}", type: level }
      - { value: "{jobRole}", type: job }
      - { value: eng-member, whenMemberOf: eng }
    entitlements:
      - { value: "{license}" }
${scope}
`,
  );
}

// J1 and J2 report to J3, J3 to J4 (the directory says so; HR's manager column, when read, is
// empty); J1, J2 and J3 are in the directory's group eng.
const hr = (changed: boolean) =>
  'employee_id,login,work_email,first_name,last_name,title,country,division,level,manager_id\n' +
  'J1,j1@example.com,j1@example.com,Ann,Lee,Engineer,US,R&D,L2,\n' +
  'J2,j2@example.com,j2@example.com,Bo,Ray,Engineer,US,R&D,L2,\n' +
  (changed ? 'J3,j3@example.com,cy.dee@example.com,Cy,Dee,Senior Clerk,CA,Ops,L4,\n' : 'J3,j3@example.com,j3@example.com,Cy,Dee,Clerk,US,R&D,L3,\n') +
  'J4,j4@example.com,j4@example.com,Di,Fox,Director,US,R&D,L5,\n';
const dir = (j3: boolean, j2Empty = false) =>
  'uid,empno,mgr,dept,phone,city,cc,role,lic,home,groups\n' +
  'u1,J1,u3,Sales,+1 555 1,Austin,CC1,seller,basic,ann@home.example,eng\n' +
  (j2Empty ? 'u2,J2,,,,,,,,,eng\n' : 'u2,J2,u3,Sales,+1 555 2,Austin,CC1,seller,basic,bo@home.example,eng\n') +
  (j3 ? 'u3,J3,u4,Engineering,+1 555 3,Boston,CC3,buyer,premium,cy@home.example,eng\n' : '') +
  'u4,J4,,Board,+1 555 4,Boston,CC4,buyer,,,\n';

const user = (n: number) => h.sandbox.store.findUserByUserName(`j${n}@example.com`)!;
const managerOf = (n: number) => (user(n)[ENTERPRISE] as { manager?: { value: string } } | undefined)?.manager?.value;
const values = (n: number, attribute: string) => ((user(n)[attribute] ?? []) as { value: string; type?: string }[]).map((e) => `${e.type ?? ''}:${e.value}`).sort();
const typed = (n: number, attribute: string, type: string) => ((user(n)[attribute] ?? []) as Record<string, unknown>[]).find((e) => e['type'] === type);

describe.each([
  ['patch', false],
  ['put', false],
  ['patch', true],
] as const)('a partial person\'s lent values (%s, manager column in HR too: %s)', (method, hrManager) => {
  async function syncThenLoseJ3(scope = ''): Promise<{ out: string }> {
    config(method, hrManager, scope);
    writeFileSync(join(h.dir, 'hr.csv'), hr(false));
    writeFileSync(join(h.dir, 'dir.csv'), dir(true));
    const first = await h.run();
    expect(first.code, first.out + first.err).toBe(0);
    expect(values(3, 'roles')).toEqual([':eng-member', 'job:buyer', 'level:L3']);
    expect(values(3, 'entitlements')).toEqual([':premium']);
    expect(typed(3, 'emails', 'home')).toMatchObject({ value: 'cy@home.example' });
    expect(typed(3, 'addresses', 'work')).toMatchObject({ locality: 'Boston', country: 'US' });
    expect(user(3)[ENTERPRISE]).toMatchObject({ costCenter: 'CC3', division: 'R&D', department: 'Engineering' });
    expect(managerOf(1)).toBe(String(user(3)['id']));
    expect(managerOf(3)).toBe(String(user(4)['id']));
    // J3's directory row is gone (a truncated export), and HR changes J3's title, work email, country, division and level.
    writeFileSync(join(h.dir, 'hr.csv'), hr(true));
    writeFileSync(join(h.dir, 'dir.csv'), dir(false));
    h.sandbox.clearRequests();
    const second = await h.run();
    expect(second.code, second.out + second.err).toBe(0);
    expect(second.out).toContain('dir: 1 of 4 people of hr have no record here');
    return second;
  }

  it('keeps what the secondary lent in roles, entitlements, emails, addresses and the extension; takes the primary\'s changes', async () => {
    await syncThenLoseJ3();
    const cy = user(3);
    expect.soft(cy).toMatchObject({ active: true, title: 'Senior Clerk' });
    // Which of the account's roles the directory gave (its column, its group) is unknown: none is
    // removed, as none of J3's memberships is, and the primary's new one is added.
    expect.soft(values(3, 'roles')).toEqual([':eng-member', 'job:buyer', 'level:L3', 'level:L4']);
    expect.soft(values(3, 'entitlements')).toEqual([':premium']);
    expect.soft(typed(3, 'emails', 'work')).toMatchObject({ value: 'cy.dee@example.com' });
    expect.soft(typed(3, 'emails', 'home')).toMatchObject({ value: 'cy@home.example' });
    expect.soft(typed(3, 'addresses', 'work')).toMatchObject({ locality: 'Boston', country: 'CA' });
    expect.soft(typed(3, 'phoneNumbers', 'work')).toMatchObject({ value: '+1 555 3' });
    expect.soft(cy[ENTERPRISE]).toMatchObject({ costCenter: 'CC3', division: 'Ops', department: 'Engineering' });
    // The directory names J3 as J1's manager by a record it no longer has: the reference stays.
    expect.soft(managerOf(1)).toBe(String(cy['id']));
    expect.soft(managerOf(2)).toBe(String(cy['id']));
    // J3's own manager is the directory's to say, and it says nothing of J3 now: the reference stays.
    expect.soft(managerOf(3)).toBe(String(user(4)['id']));
  });

  it('is not deprovisioned by a scope on a lent value that feeds a role', async () => {
    const second = await syncThenLoseJ3('    scope: [{ jobRole: { in: [seller, buyer] } }]');
    expect(user(3)).toMatchObject({ active: true, title: 'Clerk' });
    expect(values(3, 'roles')).toEqual([':eng-member', 'job:buyer', 'level:L3']);
    expect(second.out).toContain('J3 is held: out of scope without the values a joined source did not give');
  });

  it('clears those values of a person the secondary has, with the cells empty', async () => {
    config(method, hrManager);
    writeFileSync(join(h.dir, 'hr.csv'), hr(false));
    writeFileSync(join(h.dir, 'dir.csv'), dir(true));
    const first = await h.run();
    expect(first.code, first.out + first.err).toBe(0);
    expect(managerOf(2)).toBe(String(user(3)['id']));
    writeFileSync(join(h.dir, 'dir.csv'), dir(true, true));
    const second = await h.run();
    expect(second.code, second.out + second.err).toBe(0);
    expect(second.out).not.toContain('have no record here');
    expect(values(2, 'roles')).toEqual([':eng-member', 'level:L2']);
    expect(values(2, 'entitlements')).toEqual([]);
    expect(typed(2, 'emails', 'home')).toBeUndefined();
    expect(typed(2, 'emails', 'work')).toMatchObject({ value: 'j2@example.com' });
    expect(typed(2, 'addresses', 'work')).toMatchObject({ country: 'US' });
    expect(typed(2, 'addresses', 'work')?.['locality']).toBeUndefined();
    expect(typed(2, 'phoneNumbers', 'work')).toBeUndefined();
    const ext = (user(2)[ENTERPRISE] ?? {}) as Record<string, unknown>;
    expect(ext['costCenter']).toBeUndefined();
    expect(ext['department']).toBeUndefined();
    expect(ext['division']).toBe('R&D');
    // Without a manager column in HR, the join reads an empty manager cell of a secondary as saying
    // nothing (an LDAP source gives the same null for a manager outside its read): not asserted here.
    if (hrManager) expect(managerOf(2)).toBeUndefined();
  });
});

/**
 * A person a clean secondary has no record of (a truncated export, a directory entry removed): what
 * it lent them is unknown, not empty. Against the sandbox, two CSV sources joined: their account
 * keeps the lent values, a scope on those values does not deprovision them, and the primary's own
 * changes still reach them.
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

function config(scope = ''): void {
  writeFileSync(
    h.configFile,
    `version: 1
state: { dir: state }
sources:
  hr: { type: csv, path: hr.csv, key: employee_id, manager: manager_id, columns: { userName: email, email: email, givenName: first_name, familyName: last_name, title: title } }
  dir: { type: csv, path: dir.csv, key: uid, columns: { department: dept, phone: phone }, groups: { column: groups, separator: ";" } }
join: { primary: hr, secondaries: { dir: { on: [employee_id, empno] } }, groups: [dir] }
targets:
  app:
    url: ${h.sandbox.url}
    auth: { type: bearer, token: "\${env:TEST_SCIM_TOKEN}" }
${scope}
`,
  );
}

// J1 and J2 report to J3; all three are in the directory's group eng.
const hr = (title3 = 'Clerk') =>
  `employee_id,first_name,last_name,email,title,manager_id\nJ1,Ann,Lee,j1@example.com,Engineer,J3\nJ2,Bo,Ray,j2@example.com,Engineer,J3\nJ3,Cy,Dee,j3@example.com,${title3},\n`;
const dir = (withJ3: boolean) =>
  `uid,empno,dept,phone,groups\nu1,J1,Sales,+1 555 1,eng\nu2,J2,Sales,+1 555 2,eng\n${withJ3 ? 'u3,J3,Engineering,+1 555 3,eng\n' : ''}`;
const eng = () => ((h.sandbox.store.findGroupByDisplayName('eng')!['members'] ?? []) as { value: string }[]).map((m) => m.value);
const managerOf = (n: number) => (h.sandbox.store.findUserByUserName(`j${n}@example.com`)![ENTERPRISE] as { manager?: { value: string } } | undefined)?.manager?.value;

describe('a person missing from a clean secondary', () => {
  async function syncThenLoseJ3(scope = ''): Promise<{ out: string }> {
    config(scope);
    writeFileSync(join(h.dir, 'hr.csv'), hr());
    writeFileSync(join(h.dir, 'dir.csv'), dir(true));
    const first = await h.run();
    expect(first.code, first.out + first.err).toBe(0);
    expect(cy()).toMatchObject({ active: true, [ENTERPRISE]: expect.objectContaining({ department: 'Engineering' }) });
    // J3's directory row is gone (a truncated export), and HR changes J3's title.
    writeFileSync(join(h.dir, 'hr.csv'), hr('Senior Clerk'));
    writeFileSync(join(h.dir, 'dir.csv'), dir(false));
    h.sandbox.clearRequests();
    const second = await h.run();
    expect(second.code, second.out + second.err).toBe(0);
    expect(second.out).toContain("dir: 1 of 3 people of hr have no record here (hr.employee_id = dir.empno); they have the other sources' values");
    return second;
  }
  const cy = () => h.sandbox.store.findUserByUserName('j3@example.com')!;

  it('keeps the values it lent, and still gets the primary\'s changes', async () => {
    await syncThenLoseJ3();
    expect(cy()).toMatchObject({ active: true, title: 'Senior Clerk', [ENTERPRISE]: expect.objectContaining({ department: 'Engineering' }) });
    expect(cy()['phoneNumbers']).toEqual([expect.objectContaining({ value: '+1 555 3' })]);
    // The membership the directory lent stays, and so does the manager reference of J3's reports.
    expect(eng()).toContain(String(cy()['id']));
    expect(managerOf(1)).toBe(String(cy()['id']));
    expect(h.writes().map((w) => `${w.method} ${String((w.body as { Operations?: { path?: string }[] }).Operations?.map((o) => o.path))}`)).toEqual(['PATCH title']);
  });

  it('is not deprovisioned by a scope on the values it lent: whether they are in scope is unknown, and their account stays as it is', async () => {
    const second = await syncThenLoseJ3('    scope: [{ department: { in: [Sales, Engineering] } }]');
    expect(cy()).toMatchObject({ active: true, title: 'Clerk', [ENTERPRISE]: expect.objectContaining({ department: 'Engineering' }) });
    expect(eng()).toContain(String(cy()['id']));
    expect(managerOf(1)).toBe(String(cy()['id']));
    expect(second.out).toContain('J3 is held: out of scope without the values a joined source did not give');
    expect(h.writes()).toEqual([]);
  });

  it('someone new whom the secondary does not know yet is created from the primary\'s values', async () => {
    config();
    writeFileSync(join(h.dir, 'hr.csv'), hr());
    writeFileSync(join(h.dir, 'dir.csv'), dir(false));
    expect((await h.run()).code).toBe(0);
    expect(cy()).toMatchObject({ active: true, title: 'Clerk' });
  });
});

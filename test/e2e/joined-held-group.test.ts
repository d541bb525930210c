/**
 * A group that only a rejected record of a joined secondary names is held, as that source holds it
 * on its own: a bad row in the directory export must not delete the group from every app. The run
 * does not hold every deletion on an invalid record (holdDeprovisionsOnInvalidRecords: false), so
 * what holds the group is the key alone.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness } from '../support/harness.js';

let h: Harness;

beforeEach(async () => {
  h = await Harness.start();
});
afterEach(async () => {
  await h.close();
});

const CONFIG = (url: string) => `version: 1
state: { dir: state }
sources:
  hr: { type: csv, path: hr.csv, key: employee_id, columns: { userName: email, email: email, givenName: first_name, familyName: last_name } }
  dir: { type: csv, path: dir.csv, key: uid, columns: { phone: phone }, groups: { column: groups, separator: ";" } }
join: { primary: hr, secondaries: { dir: { on: [employee_id, empno] } }, groups: [dir] }
safety: { maxInvalidRecordsPercent: 50, holdDeprovisionsOnInvalidRecords: false }
targets:
  app:
    url: ${url}
    auth: { type: bearer, token: "\${env:TEST_SCIM_TOKEN}" }
`;

const HR = 'employee_id,first_name,last_name,email\nJ1,Ann,Lee,j1@example.com\nJ2,Bo,Ray,j2@example.com\nJ3,Cy,Dee,j3@example.com\n';
// J3 alone is in ops; in the second export J3's directory row has lost its key.
const dir = (uid3: string) => `uid,empno,phone,groups\nu1,J1,+1 555 1,eng\nu2,J2,+1 555 2,eng\n${uid3},J3,+1 555 3,ops\n`;

describe('a group named only by a rejected record of a joined secondary', () => {
  it('is held: neither deleted nor emptied while the record is rejected', async () => {
    writeFileSync(h.configFile, CONFIG(h.sandbox.url));
    writeFileSync(join(h.dir, 'hr.csv'), HR);
    writeFileSync(join(h.dir, 'dir.csv'), dir('u3'));
    const first = await h.run();
    expect(first.code, first.out + first.err).toBe(0);
    const ops = h.sandbox.store.findGroupByDisplayName('ops');
    expect(ops?.['members']).toHaveLength(1);

    writeFileSync(join(h.dir, 'dir.csv'), dir(''));
    h.sandbox.clearRequests();
    const second = await h.run();
    expect(second.out + second.err).toContain('dir.csv:4: empty key column "uid"; the group named on this row and on no valid one is held, not deleted: ops');
    expect(h.writes().map((w) => `${w.method} ${w.path}`)).toEqual([]);
    expect(h.sandbox.store.findGroupByDisplayName('ops')?.['members']).toHaveLength(1);
  });
});

/**
 * Sources are validated, not trusted (issue #10, cases 1, 2 and 5): over real HTTP to the sandbox,
 * bad source data never reaches the app, and a template typo stops everything before any write (the
 * app's discovery and listing begin with the source read: reads only).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Plan } from '../../src/model/plan.js';
import { Harness, memberNames, peopleCsv, person, type Person } from '../support/harness.js';
import { financeStrayQuote, strayQuoteCsv } from '../support/stray-quote.js';

let h: Harness;
const people: Person[] = Array.from({ length: 6 }, (_, i) => person(i + 1));

beforeEach(async () => {
  h = await Harness.start();
});
afterEach(async () => {
  await h.close();
});

describe('encoding', () => {
  const withLea = people.map((p) => (p.id === 'E1003' ? { ...p, first: 'Léa' } : p));
  const latin1 = () => writeFileSync(h.csv, Buffer.from(peopleCsv(withLea), 'latin1'));

  it('a latin1 export read as utf-8 stops the run with file, line and byte offset; nothing reaches the app', async () => {
    latin1();
    h.writeConfig('', '', '  encoding: utf-8');
    const r = await h.run();
    expect(r.code).toBe(4);
    const offset = Buffer.from(peopleCsv(withLea), 'latin1').indexOf(0xe9);
    expect(r.err).toContain(`${h.csv}:4: byte offset ${offset}: byte 0xE9 is not valid UTF-8 (source.encoding utf-8)`);
    expect(r.err).toContain('Nothing was written.');
    expect(h.writes()).toEqual([]);
  });

  for (const encoding of ['auto (the default)', 'latin1']) {
    it(`read with ${encoding}, the right name reaches the app`, async () => {
      latin1();
      h.writeConfig('', '', encoding === 'latin1' ? '  encoding: latin1' : '');
      const r = await h.run();
      expect(r.code, r.err).toBe(0);
      expect(h.sandbox.store.findUserByUserName('user3@example.com')!['name']).toMatchObject({ givenName: 'Léa' });
      expect(JSON.stringify(h.sandbox.requests.map((q) => q.body))).not.toContain('\uFFFD');
    });
  }
});

describe('control characters', () => {
  // 40 people: one invalid record stays under safety.maxInvalidRecordsPercent (5%).
  const withNul = Array.from({ length: 40 }, (_, i) => person(i + 1, i === 3 ? { first: 'Gus\u0000' } : {}));

  it('a NUL in a value: that person is held and reported, no write carries it, the others are synced', async () => {
    h.writePeople(withNul);
    const r = await h.run();
    expect(r.out).toContain(`${h.csv}:5: column first_name holds the control character U+0000 at character 4; the record is skipped and this person held`);
    const writes = h.writes();
    expect(writes.map((w) => w.method)).toEqual(Array(39).fill('POST'));
    expect(writes.some((w) => JSON.stringify(w.body).includes('\\u0000'))).toBe(false);
    expect(h.sandbox.store.findUserByUserName('user4@example.com')).toBeUndefined();
  });

  it('a NUL appearing in a synced person: no update carries it and nobody is deactivated', async () => {
    h.writePeople(withNul.map((p) => (p.id === 'E1004' ? { ...p, first: 'Gus' } : p)));
    expect((await h.run()).code).toBe(0);
    h.sandbox.clearRequests();
    h.writePeople(withNul);
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(1);
    expect(r.out).toContain(`${h.csv}:5: column first_name holds the control character U+0000`);
    expect(h.writes()).toEqual([]);
    expect(h.sandbox.store.findUserByUserName('user4@example.com')).toMatchObject({ active: true, name: { givenName: 'Gus' } });
  });

  it('a blank email (the userName it maps to) in a synced person holds them: no update, and they stay in their groups', async () => {
    const inEng = people.map((p) => ({ ...p, groups: ['eng'] }));
    h.writePeople(inEng);
    expect((await h.run()).code).toBe(0);
    h.sandbox.clearRequests();
    h.writePeople(inEng.map((p) => (p.id === 'E1004' ? { ...p, email: '' } : p)));
    const r = await h.run();
    expect(memberNames(h.sandbox, 'eng')).toContain('user4@example.com');
    expect(h.writes()).toEqual([]);
    expect(r.out).toContain('E1004 is held: their userName is empty');
    expect(h.sandbox.store.findUserByUserName('user4@example.com')).toMatchObject({ active: true });
  });

  it('with controlCharacters: strip, the name arrives without it', async () => {
    h.writePeople(withNul);
    h.writeConfig('', '', '  controlCharacters: strip');
    const r = await h.run();
    expect(r.code, r.err).toBe(0);
    expect(h.sandbox.store.findUserByUserName('user4@example.com')!['name']).toMatchObject({ givenName: 'Gus' });
    expect(h.writes().some((w) => JSON.stringify(w.body).includes('\\u0000'))).toBe(false);
  });
});

describe('control characters in identities', () => {
  it('under strip, a key that differs from another only by an invisible character is rejected, not stripped onto that person', async () => {
    h.writeConfig('', '', '  controlCharacters: strip');
    h.writePeople(people);
    expect((await h.run()).code).toBe(0);
    const before = h.sandbox.store.findUserByUserName('user2@example.com');
    h.sandbox.clearRequests();
    // A row pasted from a spreadsheet: E1002 and a trailing U+202C (POP DIRECTIONAL FORMATTING).
    h.writePeople([...people, person(66, { id: 'E1002\u202c', first: 'Mallory', email: 'mallory@example.com' })]);
    const r = await h.run();
    expect(r.out).toContain(
      `${h.csv}:8: key holds the control character U+202C at character 6; the record is skipped and this person held (source.controlCharacters: strip never makes one key another's: stripped it would be E1002, another record's, which is held too)`,
    );
    expect(h.writes()).toEqual([]);
    expect(h.sandbox.store.findUserByUserName('user2@example.com')).toEqual(before);
    expect(h.sandbox.store.findUserByUserName('mallory@example.com')).toBeUndefined();
  });

  it('under strip, a key with an invisible character that is no one else\'s is stripped and synced as before', async () => {
    h.writeConfig('', '', '  controlCharacters: strip');
    h.writePeople(people);
    expect((await h.run()).code).toBe(0);
    h.sandbox.clearRequests();
    h.writePeople(people.map((p) => (p.id === 'E1002' ? { ...p, id: 'E1002\u202c', title: 'Lead' } : p)));
    const r = await h.run();
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('control characters stripped (source.controlCharacters: strip) from 1 record');
    expect(h.writes().map((w) => w.method)).toEqual(['PATCH']);
    expect(h.sandbox.store.findUserByUserName('user2@example.com')).toMatchObject({ externalId: 'E1002', title: 'Lead', active: true });
  });

  it('under strip, a userName that stripping makes another person\'s (case and Unicode form aside) is rejected', async () => {
    h.writeConfig('', '', '  controlCharacters: strip');
    // Enough people that one invalid record stays under safety.maxInvalidPercent.
    const many = Array.from({ length: 30 }, (_, i) => person(i + 1));
    h.writePeople([...many, person(31, { email: 'jos\u00e9@example.com' }), person(32, { email: 'JOSE\u0301@example.com\u0000' })]);
    const r = await h.run();
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain(`${h.csv}:33: userName "JOSE\u0301@example.com", its control characters stripped, is another person's; the record is skipped and this person held`);
    expect(h.sandbox.store.findUserByUserName('jos\u00e9@example.com')).toMatchObject({ externalId: 'E1031' });
    expect(h.writes().filter((w) => w.method === 'POST').map((w) => (w.body as { externalId: string }).externalId)).not.toContain('E1032');
  });
});

describe('stray quotes', () => {
  it('a quote that swallows 51 lines of a 1,000-row export deprovisions nobody and names the lines', async () => {
    // 51 of 1,000 is under the 10% deactivation threshold: the safety check alone would let it through.
    const fixture = strayQuoteCsv({ rows: 1000, open: 203, close: 253, closeStyle: 'quoted' });
    h.writePeople(fixture.people);
    expect((await h.run()).code).toBe(0);
    h.sandbox.clearRequests();
    writeFileSync(h.csv, fixture.text);
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(1);
    expect(h.writes()).toEqual([]);
    expect(r.out).toContain(`${h.csv}: lines 203\u2013253: a quoted field in column title spans 51 lines`);
    expect(r.out).toMatch(/held, not applied: .*the source read reported 1 invalid record/);
    expect(h.sandbox.store.users().filter((u) => u['active'] === false)).toEqual([]);
  }, 60_000);

  it('in the memberships file: the rows a quote swallows take nobody out of a group, and make no group of their text', async () => {
    const memberships = join(h.dir, 'memberships.csv');
    const rows = ['group,member', ...[1, 2, 3, 4, 5].map((n) => `eng,E100${n}`), 'ops,E1006'];
    writeFileSync(memberships, `${rows.join('\n')}\n`);
    // One invalid record of ten is over the default 5% of maxInvalidRecordsPercent.
    h.writeConfig('', '  maxInvalidRecordsPercent: 50', '  memberships: { path: memberships.csv, group: group, member: member }');
    h.writePeople(people);
    expect((await h.run()).code).toBe(0);
    h.sandbox.clearRequests();
    // A quote opened before eng on line 3 and closed after eng on line 5: csv-parse reads lines 3 to 5 as one row.
    rows[2] = `"${rows[2]!}`;
    rows[4] = rows[4]!.replace('eng,', 'eng",');
    writeFileSync(memberships, `${rows.join('\n')}\n`);
    const r = await h.run();
    expect(h.writes()).toEqual([]);
    expect(memberNames(h.sandbox, 'eng')).toEqual([1, 2, 3, 4, 5].map((n) => `user${n}@example.com`));
    expect(h.sandbox.store.groups().map((g) => g['displayName']).sort()).toEqual(['eng', 'ops']);
    expect(r.out).toContain(`${memberships}: lines 3\u20135: a quoted field in column group spans 3 lines (a stray quote on line 3?); members E1002, E1003, E1004 are held`);
    expect(r.code, r.err + r.out).toBe(1);
  });

  describe('with safety.holdDeprovisionsOnInvalidRecords: false', () => {
    // Small files: one invalid record is over the default 5% of maxInvalidRecordsPercent.
    const noHold = () => h.writeConfig('', '  holdDeprovisionsOnInvalidRecords: false\n  maxInvalidRecordsPercent: 50');

    for (const where of ['key', 'title'] as const) {
      it(`a quote in the ${where} column deactivates none of the people it swallows and deletes no group they alone are in`, async () => {
        const fixture = financeStrayQuote(where);
        noHold();
        h.writePeople(fixture.people);
        expect((await h.run()).code).toBe(0);
        h.sandbox.clearRequests();
        writeFileSync(h.csv, fixture.text);
        const r = await h.run();
        expect(h.sandbox.store.users().filter((u) => u['active'] === false)).toEqual([]);
        expect(memberNames(h.sandbox, 'finance')).toEqual(['user10@example.com', 'user11@example.com']);
        expect(h.writes()).toEqual([]);
        expect(r.code, r.err + r.out).toBe(0);
        expect(r.out).toContain(`${h.csv}: lines 9\u201312: a quoted field in column ${where === 'key' ? 'employee_id' : 'title'} spans 4 lines`);
        expect(r.out).toContain('the 4 people these lines name are held: E1008, E1009, E1010, E1011; so is the group named only on these lines, not deleted: finance');
        expect(r.out).toContain(`  ⏸ held group  finance (finance): not deleted: the source names it only on a record it rejected (${h.csv}:9)`);
      });
    }

    describe('a group named only on a row the source rejects is held, not deleted', () => {
      // E1011 is finance's only member; then their row (line 12) breaks, on one line.
      const team = Array.from({ length: 12 }, (_, i) => person(i + 1, { groups: [i === 10 ? 'finance' : 'staff'] }));
      const breakings: { name: string; breaks: (line: string) => string; issue: RegExp }[] = [
        { name: 'a userName another row has', breaks: (l) => l.replace('user11@example.com', 'user1@example.com'), issue: /:12: userName "user1@example\.com" already used by key "E1001"/ },
        { name: 'a quote inside a field', breaks: (l) => l.replace(',Engineer,', ',Sr "Lead" Engineer,'), issue: /:12: Invalid Opening Quote: .*; employee_id E1011 is held/ },
        { name: 'a field too many', breaks: (l) => `${l},extra`, issue: /:12: Invalid Record Length: .*; employee_id E1011 is held/ },
      ];
      for (const { name, breaks, issue } of breakings) {
        it(`${name}: nothing is written, and the row's person keeps their group`, async () => {
          noHold();
          h.writePeople(team);
          expect((await h.run()).code).toBe(0);
          const finance = h.sandbox.store.findGroupByDisplayName('finance')!['id'];
          h.sandbox.clearRequests();
          const lines = peopleCsv(team).split('\n');
          lines[11] = breaks(lines[11]!);
          writeFileSync(h.csv, lines.join('\n'));
          const r = await h.run();
          expect(h.writes()).toEqual([]);
          expect(h.sandbox.store.findGroupByDisplayName('finance')!['id']).toBe(finance);
          expect(memberNames(h.sandbox, 'finance')).toEqual(['user11@example.com']);
          expect(r.out).toMatch(issue);
          expect(r.out).toContain('the group named on this row and on no valid one is held, not deleted: finance');
          expect(r.code, r.err + r.out).toBe(0);
        });
      }

      it('plan shows the held group with the groups, saying why, and its JSON names it', async () => {
        noHold();
        h.writePeople(team);
        expect((await h.run()).code).toBe(0);
        const finance = h.sandbox.store.findGroupByDisplayName('finance')!['id'] as string;
        h.sandbox.clearRequests();
        const lines = peopleCsv(team).split('\n');
        lines[11] = lines[11]!.replace('user11@example.com', 'user1@example.com');
        writeFileSync(h.csv, lines.join('\n'));
        const plan = await h.cli('plan', '--config', h.configFile);
        expect(plan.code, plan.err + plan.out).toBe(0);
        expect(plan.out).toContain(`\n  ⏸ held group  finance (finance): not deleted: the source names it only on a record it rejected (${h.csv}:12)\n`);
        const json = await h.cli('plan', '--config', h.configFile, '--json');
        const [target] = (JSON.parse(json.out) as Plan).targets;
        expect(target!.heldGroups).toEqual([{ externalId: 'finance', label: 'finance', scimId: finance, reason: `the source names it only on a record it rejected (${h.csv}:12)` }]);
        expect(h.writes()).toEqual([]);
      });

      it('an empty key: the person is read as gone and deactivated (the hold is off), but their group is kept, and nobody new is added to it', async () => {
        noHold();
        h.writePeople(team);
        expect((await h.run()).code).toBe(0);
        h.sandbox.clearRequests();
        const lines = peopleCsv([...team, person(13, { groups: ['finance'] })]).split('\n');
        lines[11] = lines[11]!.replace(/^E1011,/, ',');
        lines[13] = lines[13]!.replace('user13@example.com', 'user1@example.com');
        writeFileSync(h.csv, lines.join('\n'));
        const r = await h.run();
        const eleven = h.sandbox.store.findUserByUserName('user11@example.com')!;
        expect(h.writes().map((w) => `${w.method} ${w.path}`)).toEqual([`PATCH /Users/${eleven['id'] as string}`]);
        expect(eleven['active']).toBe(false);
        expect(memberNames(h.sandbox, 'finance')).toEqual(['user11@example.com']);
        expect(h.sandbox.store.findUserByUserName('user13@example.com')).toBeUndefined();
        expect(r.out).toContain(`${h.csv}:12: empty key column "employee_id"; the group named on this row and on no valid one is held, not deleted: finance`);
      });
    });

    it('lines whose keys do not read hold every deprovision, a real leaver\'s too, and the run says why', async () => {
      // The key column last: a title over two lines leaves both lines too short to reach it.
      const keyLast = (people: readonly Person[]) =>
        peopleCsv(people)
          .trimEnd()
          .split('\n')
          .map((line) => line.replace(/^([^,]*),(.*)$/, '$2,$1'))
          .join('\n');
      noHold();
      writeFileSync(h.csv, keyLast(people));
      expect((await h.run()).code).toBe(0);
      h.sandbox.clearRequests();
      const lines = keyLast(people.filter((p) => p.id !== 'E1006')).split('\n');
      lines[3] = lines[3]!.replace(',Engineer,', ',"Senior\nStaff",');
      writeFileSync(h.csv, `${lines.join('\n')}\n`);
      const r = await h.run();
      expect(h.sandbox.store.findUserByUserName('user6@example.com')).toMatchObject({ active: true });
      expect(h.writes()).toEqual([]);
      expect(r.code, r.err + r.out).toBe(1);
      expect(r.out).toContain('lines 4, 5 may hold people whose keys cannot be read: nobody is deprovisioned and no group deleted as gone from this read');
      expect(r.out).toMatch(/held, not applied: .*may hide people it cannot name/);
    });
  });
});

describe('templates against the source', () => {
  const typo = () => {
    writeFileSync(h.csv, 'employee_id,email,first_name,last_name,job_title\nE1,ann@example.com,Ann,Lee,Engineer\n');
    writeFileSync(
      h.configFile,
      `source: { type: csv, path: people.csv, key: employee_id, columns: { userName: email, email: email, givenName: first_name, familyName: last_name } }
state: { dir: state }
targets:
  app:
    url: ${h.sandbox.url}
    auth: { type: bearer, token: "\${env:TEST_SCIM_TOKEN}" }
    mapping:
      title: "{jobtitle}"
`,
    );
  };
  const message = `targets.app.mapping.title: "{jobtitle}" names attribute jobtitle, which the source (csv:${'PATH'}) does not have; did you mean job_title?`;

  it('validate names the template, the unknown attribute and the nearest column (exit 2)', async () => {
    typo();
    const r = await h.cli('validate', '--config', h.configFile);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message.replace('PATH', h.csv));
    expect(r.out).toBe('');
  });

  it('validate: a configured column the header lacks is a config problem with the nearest column (exit 2); run: a source failure (exit 4)', async () => {
    typo();
    writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('givenName: first_name', 'givenName: firstname').replace('title: "{jobtitle}"', 'title: "{job_title}"'));
    const v = await h.cli('validate', '--config', h.configFile);
    expect({ code: v.code, out: v.out }).toEqual({ code: 2, out: '' });
    expect(v.err).toContain(`the source does not have what the config names\n  - ${h.csv}:1: header lacks configured columns: source.columns.givenName names column "firstname" (did you mean "first_name"?)`);
    const r = await h.run();
    expect(r.code).toBe(4);
    expect(h.writes()).toEqual([]);
  });

  it('run refuses the same before any write to the app (exit 2)', async () => {
    typo();
    const r = await h.run();
    expect(r.code).toBe(2);
    expect(r.err).toContain(message.replace('PATH', h.csv));
    expect(h.writes()).toEqual([]);
  });

  it('a mapping that does not compile against the source fails that target with every problem at its config path (exit 1)', async () => {
    // No userName column, so the default userName rule drops out: only the plan, which knows the source, finds that.
    writeFileSync(h.csv, 'employee_id,email,first_name\nE1,ann@example.com,Ann\n');
    writeFileSync(
      h.configFile,
      `source: { type: csv, path: people.csv, key: employee_id, columns: { email: email, givenName: first_name } }
state: { dir: state }
targets:
  app:
    url: ${h.sandbox.url}
    auth: { type: bearer, token: "\${env:TEST_SCIM_TOKEN}" }
    roles: [{ value: "{givenName}" }]
`,
    );
    const r = await h.cli('plan', '--config', h.configFile);
    expect(r.code).toBe(1);
    expect(r.out).toContain('  ✗ cannot plan: [CONFIG] targets.app.mapping.userName: no rule yields a userName\n');
    // Discovery, and the listing begun with the source read: reads only.
    const asked = h.sandbox.requests.map((q) => `${q.method} ${q.path}`);
    expect(asked).toContain('GET /ServiceProviderConfig');
    expect(asked.filter((a) => !['GET /ServiceProviderConfig', 'GET /ResourceTypes/User', 'GET /Schemas', 'GET /Users'].includes(a))).toEqual([]);
  });
});

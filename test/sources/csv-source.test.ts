import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CsvSourceConfig } from '../../src/config/schema/index.js';
import { SourceError } from '../../src/errors.js';
import { CsvSource } from '../../src/sources/csv/csv-source.js';
import { createSource } from '../../src/sources/create-source.js';
import { csvFile } from '../support/csv-file.js';

function source(content: string | Buffer, over: Partial<CsvSourceConfig> = {}) {
  const { path, config } = csvFile(content, { inactive: { column: 'status', values: ['Terminated'] }, ...over });
  return { path, read: () => new CsvSource(config).read() };
}

describe('CSV source', () => {
  it('reads BOM, CRLF, quoted commas and newlines, and keeps line numbers right after them', async () => {
    const { read, path } = source(
      '\uFEFFid,first,mail,title,status\r\n' +
        '1,Zoë,zoe@x.com,"Engineer, Platform",active\r\n' +
        '2,Ann,ann@x.com,"two\r\nlines",active\r\n' +
        '\r\n' +
        '3,Bob,bob@x.com,x,TERMINATED\r\n' +
        ',NoKey,nokey@x.com,x,active\r\n',
      { multilineColumns: ['title'] },
    );
    const snap = await read();
    expect(snap.users.map((u) => u.key)).toEqual(['1', '2', '3']);
    expect(snap.users[0]!.attributes).toMatchObject({ userName: 'zoe@x.com', givenName: 'Zoë', title: 'Engineer, Platform' });
    expect(snap.users[1]!.attributes['title']).toBe('two\nlines');
    expect(snap.users[1]!.ref.line).toBe(3);
    expect(snap.users[2]!.active).toBe(false);
    expect(snap.users[2]!.ref.line).toBe(6);
    expect(snap.issues).toEqual([
      expect.objectContaining({ code: 'CSV_MISSING_KEY', message: `${path}:7: empty key column "id"` }),
    ]);
    expect(snap.recordsRead).toBe(4);
  });

  it('reports a duplicate key, a duplicate userName and a short row, and holds those people', async () => {
    const { read, path } = source(
      'id,first,mail,status\n1,A,a@x.com,active\n2,B,b@x.com,active\n1,A2,a2@x.com,active\n4,D,A@X.com,active\n5,E\n6,F,f@x.com,active\n',
    );
    const snap = await read();
    expect(snap.users.map((u) => u.key)).toEqual(['1', '2', '6']);
    expect(snap.issues.map((i) => i.message)).toEqual([
      `${path}:4: key "1" already used on line 2`,
      `${path}:5: userName "A@X.com" already used by key "1"`,
      expect.stringMatching(new RegExp(`^${path}:6: Invalid Record Length`)),
    ]);
    expect(new Set(snap.heldKeys)).toEqual(new Set(['1', '4', '5']));
  });

  it('a userName that differs from an earlier one only in Unicode form (é typed as e + U+0301) is a duplicate', async () => {
    const { read, path } = source('id,first,mail,status\n1,J,jos\u00e9@x.com,active\n2,K,JOSE\u0301@x.com,active\n3,L,l@x.com,active\n');
    const snap = await read();
    expect(snap.users.map((u) => u.key)).toEqual(['1', '3']);
    expect(snap.issues.map((i) => i.message)).toEqual([`${path}:3: userName "JOSE\u0301@x.com" already used by key "1"`]);
    expect(snap.heldKeys).toEqual(['2']);
  });

  it('fails the whole read on an unclosed quote, naming where it starts', async () => {
    const { read, path } = source('id,first,mail,status\n1,A,a@x.com,active\n2,"B,b@x.com,active\n3,C,c@x.com,active\n');
    await expect(read()).rejects.toThrow(new SourceError(`${path}:3: a quoted field opened at or after this line is never closed; the rest of the file cannot be read`));
  });

  it('fails on a missing configured column, naming the option', async () => {
    const { read } = source('id,first,status\n1,A,active\n');
    await expect(read()).rejects.toThrow(/source\.columns\.userName names column "mail"/);
  });

  it('reads UTF-16LE with BOM, a ; delimiter and multi-valued columns', async () => {
    const text = '\uFEFFid;first;mail;status;phones\r\n1;Jürgen;j@x.com;active;+1 1|+1 2\r\n';
    const { read } = source(Buffer.from(text, 'utf16le'), {
      encoding: 'utf-16le',
      delimiter: ';',
      multiValueSeparator: '|',
      multiValueColumns: ['phones'],
    });
    const snap = await read();
    expect(snap.users[0]!.attributes).toMatchObject({ givenName: 'Jürgen', phones: ['+1 1', '+1 2'] });
  });

  it('fails a read during which the file was written in place, naming the file: what it read may be neither version', async () => {
    const rows = Array.from({ length: 3000 }, (_, i) => `${i + 1},P${i + 1},p${i + 1}@x.com,active\n`);
    const { path, config } = csvFile(`id,first,mail,status\n${rows.join('')}`);
    const csv = new CsvSource(config);
    // The exporter truncates the file and writes its first page while the read is a third through.
    let written = false;
    const progress = { records: () => void (written ||= (writeFileSync(path, `id,first,mail,status\n${rows.slice(0, 2800).join('')}`), true)) };
    await expect(csv.read(progress)).rejects.toThrow(
      new SourceError(
        `${path} changed while being read (size, modification time or inode moved): an export still being written? Nothing is decided from this read; ` +
          'the next read tries again. Have the exporter write a temporary file and rename it over this one, or end the file with a trailer row (source.trailer)',
      ),
    );
    expect(written).toBe(true);
    // Read again once still: the first page, whole.
    expect((await csv.read()).users).toHaveLength(2800);
  });

  it('says which file it cannot open', async () => {
    await expect(new CsvSource({ type: 'csv', path: '/nonexistent/people.csv', delimiter: ',', encoding: 'utf-8', key: 'id', columns: {}, multiValueColumns: [], multilineColumns: [], controlCharacters: 'reject' }).read()).rejects.toThrow(
      'cannot read CSV /nonexistent/people.csv (ENOENT)',
    );
  });
});

describe('CSV source, one person (read whole, screened, narrowed: createSource)', () => {
  it('builds only that person, and still holds them for a duplicate key or userName elsewhere in the file', async () => {
    const { config } = csvFile('id,first,mail,status\n1,Ann,ann@x.com,active\n2,Bob,bob@x.com,active\n3,Cy,ANN@x.com,active\n2,Bobby,bobby@x.com,active\n', {});
    const csv = createSource(config);
    const one = await csv.readOne('1');
    expect(one.users.map((u) => [u.key, u.attributes['givenName']])).toEqual([['1', 'Ann']]);
    // The others held stay held, as in a full read (narrowSnapshot).
    expect([...one.heldKeys].sort()).toEqual(['2', '3']);
    expect(one.issues.map((i) => i.code)).toEqual(['CSV_DUPLICATE_USERNAME', 'CSV_DUPLICATE_KEY']);
    expect(one.recordsRead).toBe(4);
    for (const key of ['2', '3']) {
      const held = await csv.readOne(key);
      expect(held.users.map((u) => u.key)).toEqual(key === '2' ? ['2'] : []);
      expect([...held.heldKeys].sort()).toEqual(['2', '3']);
    }
    expect((await csv.readOne('nosuch')).users).toEqual([]);
  });

  it("keeps every row's groups as a full read does (plain and parsed): a group only others are in is one the person left", async () => {
    for (const eol of ['\n', '\r\n']) {
      const text = ['id,first,mail,status,groups', '1,Ann,ann@x.com,active,eng', '2,Bob,bob@x.com,active,admins;eng', '3,Cy,ANN@x.com,active,ghosts', '4,Di,di@x.com,Terminated,admins'].join(eol) + eol;
      const { config } = csvFile(text, { inactive: { column: 'status', values: ['Terminated'] }, groups: { column: 'groups', separator: ';' } });
      const csv = createSource(config);
      const whole = await csv.read();
      const one = await csv.readOne('1');
      expect(one.users.map((u) => u.key)).toEqual(['1']);
      expect(one.groups).toEqual(whole.groups);
      expect(one.groups.map((g) => [g.key, g.memberKeys])).toEqual([['eng', ['1', '2']], ['admins', ['2', '4']]]);
      // ghosts is named only on Cy's rejected row: held, as in the full read, or a one-person plan reads it as gone.
      expect(one.heldKeys).toContain('ghosts');
      expect([...one.heldKeys].sort()).toEqual([...whole.heldKeys].sort());
    }
  });
});

describe('CSV source, what spreadsheets leave in an export', () => {
  it('skips rows of only delimiters (or white space) below the last person: no invalid record, counted in one warning', async () => {
    // Read plain (LF, as wide as the header) and through csv-parse (CRLF, other widths): both skip them.
    for (const eol of ['\n', '\r\n']) {
      const { read, path } = source(['id,first,mail,status', '1,A,a@x.com,active', '2,B,b@x.com,active', ',,,', ' , ,\t, ', ',,,', eol === '\n' ? ',,,' : ',,,,,'].join(eol) + eol);
      const snap = await read();
      expect(snap.users.map((u) => u.key)).toEqual(['1', '2']);
      expect(snap.issues).toEqual([]);
      expect(snap.recordsRead).toBe(2);
      expect(snap.warnings?.map((w) => w.message)).toEqual([`${path}: 4 rows of only delimiters after the last person skipped (lines 4, 5, 6, 7)`]);
    }
  });

  it('a row of only delimiters between people is an invalid record: a person whose row came out empty is not read as gone', async () => {
    for (const eol of ['\n', '\r\n']) {
      const { read, path } = source(['id,first,mail,status', '1,A,a@x.com,active', ',,,', '2,B,b@x.com,active', ',,,'].join(eol) + eol);
      const snap = await read();
      expect(snap.users.map((u) => u.key)).toEqual(['1', '2']);
      expect(snap.issues.map((i) => i.message)).toEqual([`${path}:3: a row of only delimiters between people: a person's row that came out empty? (the key column "id" is empty)`]);
      expect(snap.recordsRead).toBe(3);
      expect(snap.warnings?.map((w) => w.message)).toEqual([`${path}: 1 row of only delimiters after the last person skipped (line 5)`]);
    }
  });

  it('ignores empty columns at the end of the header; a value in one is an invalid record naming its line', async () => {
    const { read, path } = source('id,first,mail,status,,\r\n1,A,a@x.com,active,,\r\n2,B,b@x.com,active,,x\r\n3,C,c@x.com,active, ,\r\n');
    const snap = await read();
    expect(snap.users.map((u) => u.key)).toEqual(['1', '3']);
    expect(Object.keys(snap.users[0]!.attributes).sort()).toEqual(['first', 'givenName', 'id', 'mail', 'status', 'userName']);
    expect(snap.issues.map((i) => i.message)).toEqual([`${path}:3: a value in column 6, which the header leaves unnamed (a row shifted by a stray delimiter?)`]);
    expect(snap.heldKeys).toEqual(['2']);
    const { config } = csvFile('id,first,mail,status,,\n1,A,a@x.com,active,,\n');
    expect([...(await new CsvSource(config).offeredAttributes())].sort()).toEqual(['first', 'givenName', 'id', 'mail', 'status', 'userName']);
  });

  it('names Excel\'s ="E1001" in the error and holds that person; the quoted form "=""E1001""" is read as E1001', async () => {
    const { read, path } = source('id,first,mail,status\r\n="E1001",A,a@x.com,active\r\nE2,="0042",b@x.com,active\r\n"=""E3""",C,c@x.com,active\r\n');
    const snap = await read();
    expect(snap.users.map((u) => u.key)).toEqual(['E3']);
    expect(snap.issues.map((i) => i.message)).toEqual([
      expect.stringMatching(new RegExp(`^${path}:2: Invalid Opening Quote: a quote is found on field "id".*Excel's formula to keep leading zeros.*have the export write the value itself.*; id E1001 is held$`)),
      expect.stringMatching(new RegExp(`^${path}:3: Invalid Opening Quote: a quote is found on field "first".*Excel's formula.*; id E2 is held$`)),
    ]);
    expect(new Set(snap.heldKeys)).toEqual(new Set(['E1001', 'E2']));
  });

  it('a repeated header row (two exports joined) is an invalid record, never a person', async () => {
    const { read, path } = source('id,first,mail,status\n1,A,a@x.com,active\nid,first,mail,status\n2,B,b@x.com,active\n');
    const snap = await read();
    expect(snap.users.map((u) => u.key)).toEqual(['1', '2']);
    expect(snap.issues.map((i) => [i.code, i.message])).toEqual([['CSV_REPEATED_HEADER', `${path}:3: the header repeats here (two exports joined into one?): the file is not one export`]]);
  });

  it('with inactive.activeValues, a status in neither list holds that person with a warning naming the value and line', async () => {
    const { read, path } = source('id,first,mail,status\n1,A,a@x.com,Active\n2,B,b@x.com,Terminated - Involuntary\n3,C,c@x.com,terminated\n4,D,d@x.com,\n', {
      inactive: { column: 'status', values: ['Terminated'], activeValues: ['active'] },
    });
    const snap = await read();
    expect(snap.users.map((u) => [u.key, u.active])).toEqual([['1', true], ['2', true], ['3', false], ['4', true]]);
    expect(snap.issues).toEqual([]);
    expect(new Set(snap.heldKeys)).toEqual(new Set(['2', '4']));
    expect(snap.warnings?.map((w) => w.message)).toEqual([
      `${path}:3: status "Terminated - Involuntary" is in neither source.inactive.values nor source.inactive.activeValues: 2 is held (neither updated nor deactivated) until the config lists it`,
      `${path}:5: status "" is in neither source.inactive.values nor source.inactive.activeValues: 4 is held (neither updated nor deactivated) until the config lists it`,
    ]);
    // Without activeValues, as before: what is not inactive is active, and nobody is held.
    const before = await source('id,first,mail,status\n2,B,b@x.com,Terminated - Involuntary\n').read();
    expect([before.users[0]!.active, before.heldKeys, before.warnings]).toEqual([true, [], undefined]);
  });
});

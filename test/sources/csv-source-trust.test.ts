/**
 * Sources are validated, not trusted (issue #10): bytes that do not decode, control characters
 * and stray quotes, at the source level (the e2e side is in test/e2e/source-trust.test.ts).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CsvSourceConfig } from '../../src/config/schema/index.js';
import { SourceError } from '../../src/errors.js';
import type { CanonicalUser } from '../../src/model/canonical.js';
import { controlAt, screenControlCharacters } from '../../src/sources/control-characters.js';
import { createSource } from '../../src/sources/create-source.js';
import { csvFile } from '../support/csv-file.js';
import { financeStrayQuote, strayQuoteCsv } from '../support/stray-quote.js';

function csvSource(content: string | Buffer, over: Partial<CsvSourceConfig> = {}) {
  const { path, config } = csvFile(content, { encoding: 'auto', ...over });
  const source = createSource(config);
  return { path, source, read: () => source.read() };
}

const latin1 = Buffer.from('id,first,mail\n1,Ann,ann@x.com\n2,Léa,lea@x.com\n3,Zoë,zoe@x.com\n', 'latin1');

describe('the header', () => {
  it('a quoted column name over two lines is the header, however many lines follow, and each later line is not parsed again', async () => {
    // 200,000 short lines after it: parsing the text so far at each line break would take minutes.
    const { source } = csvSource(`id,"first\nname",mail\n${'1,Ann,a@x.com\n'.repeat(200_000)}`, { columns: { givenName: 'first\nname' } });
    expect(await source.offeredAttributes()).toContain('givenName');
  });

  it('an empty file fails the read itself (no header line), not later, once it has been read as nobody', async () => {
    for (const text of ['', '\n\n']) await expect(csvSource(text).read()).rejects.toThrow(/people\.csv:1: no header line$/);
  });

  it('an empty first line is a header of one empty name, found at once', async () => {
    const { source } = csvSource(`\na"b\n${'1,Ann,a@x.com\n'.repeat(100_000)}`);
    await expect(source.offeredAttributes()).rejects.toThrow(/people\.csv:1: header lacks configured columns: source\.key names column "id"/);
  });
});

describe('configured columns the header lacks', () => {
  it('each is named with the nearest header name; a UTF-8 byte order mark read as Windows-1252 is said to be one', async () => {
    const { source } = csvSource('id,first_name,mail\n1,Ann,a@x.com\n', { columns: { givenName: 'firstname', email: 'mail' } });
    await expect(source.offeredAttributes()).rejects.toThrow(/header lacks configured columns: source\.columns\.givenName names column "firstname" \(did you mean "first_name"\?\)$/);
    const bom = csvSource(Buffer.from('\uFEFFemployee_id,mail\n1,a@x.com\n'), { key: 'employee_id', encoding: 'cp1252' });
    await expect(bom.source.offeredAttributes()).rejects.toThrow(
      /source\.key names column "employee_id" \(did you mean ".*employee_id"\?\);.*; the file starts with a UTF-8 byte order mark, read as cp1252: set source\.encoding to auto or utf-8/,
    );
  });
});

describe('encoding', () => {
  it('fails a latin1 file read as utf-8, naming file, line and byte offset', async () => {
    const { read, path } = csvSource(latin1, { encoding: 'utf-8' });
    const offset = latin1.indexOf(0xe9);
    await expect(read()).rejects.toThrow(
      new SourceError(
        `${path}:3: byte offset ${offset}: byte 0xE9 is not valid UTF-8 (source.encoding utf-8); if the file is in another encoding, set source.encoding to it (or to auto)`,
      ),
    );
  });

  it('reads the same file right with auto (the default), latin1 and cp1252', async () => {
    for (const encoding of ['auto', 'latin1', 'cp1252'] as const) {
      const snap = await csvSource(latin1, { encoding }).read();
      expect(snap.users.map((u) => u.attributes['givenName'])).toEqual(['Ann', 'Léa', 'Zoë']);
      expect(snap.issues).toEqual([]);
    }
  });

  it('auto reads Windows-1252 punctuation as such, where latin1 gives control characters that make the record invalid', async () => {
    const text = Buffer.concat([Buffer.from('id,first,mail\n1,O', 'latin1'), Buffer.from([0x92]), Buffer.from('Neil,o@x.com\n', 'latin1')]);
    expect((await csvSource(text).read()).users[0]!.attributes['givenName']).toBe('O\u2019Neil');
    const asLatin1 = await csvSource(text, { encoding: 'latin1' }).read();
    expect(asLatin1.users).toEqual([]);
    expect(asLatin1.issues.map((i) => i.code)).toEqual(['CONTROL_CHARACTER']);
  });

  it('auto chooses again when the file at the same path is replaced, in either direction', async () => {
    const utf8 = Buffer.from('id,first,mail\n1,Ann,ann@x.com\n2,Léa,lea@x.com\n', 'utf8');
    const { path, source } = csvSource(utf8);
    const names = async () => (await source.read()).users.map((u) => u.attributes['givenName']);
    expect(await source.offeredAttributes()).toContain('givenName');
    expect(await names()).toEqual(['Ann', 'Léa']);
    writeFileSync(path, latin1);
    expect(await names()).toEqual(['Ann', 'Léa', 'Zoë']);
    writeFileSync(path, Buffer.concat([utf8, Buffer.from('3,Zoë,zoe@x.com\n4,Noël,noel@x.com\n', 'utf8')]));
    expect(await names()).toEqual(['Ann', 'Léa', 'Zoë', 'Noël']);
  });

  it('auto refuses a UTF-8 file with a damaged byte rather than read it all as Windows-1252', async () => {
    const text = Buffer.concat([Buffer.from('id,first,mail\n1,Zoë,z@x.com\n2,L', 'utf8'), Buffer.from([0xe9]), Buffer.from('a,l@x.com\n', 'utf8')]);
    const { read, path } = csvSource(text);
    await expect(read()).rejects.toThrow(
      new SourceError(
        `${path}:3: byte offset ${text.indexOf(0xe9)}: this byte is not UTF-8, though the file holds UTF-8 elsewhere (a damaged UTF-8 file?); encoding auto does not guess here (source.encoding auto); set source.encoding to the file's encoding`,
      ),
    );
  });

  it('auto recognises UTF-16 by its byte order mark, and UTF-16LE without one', async () => {
    const text = 'id,first,mail\n1,Jürgen,j@x.com\n';
    const be = Buffer.from(`\uFEFF${text}`, 'utf16le').swap16();
    const le = Buffer.from(text, 'utf16le');
    for (const bytes of [be, le]) expect((await csvSource(bytes).read()).users[0]!.attributes['givenName']).toBe('Jürgen');
  });

  it('decodes characters cut by a chunk boundary, and names the line of a bad byte past the first chunk', async () => {
    // 64 KiB chunks: "é" (2 bytes) lands across the first boundary.
    const filler = 'x'.repeat(65536 - 'id,first,mail\n1,'.length - 1);
    const good = Buffer.from(`id,first,mail\n1,${filler}é,a@x.com\n2,Bob,b@x.com\n`, 'utf8');
    expect(good.subarray(65535, 65537)).toEqual(Buffer.from('é'));
    const snap = await csvSource(good, { encoding: 'utf-8' }).read();
    expect(snap.users.map((u) => u.key)).toEqual(['1', '2']);
    expect(snap.users[0]!.attributes['givenName']).toBe(`${filler}é`);

    const bad = Buffer.concat([good, Buffer.from('3,Bo', 'utf8'), Buffer.from([0xff]), Buffer.from(',c@x.com\n')]);
    const { read, path } = csvSource(bad, { encoding: 'utf-8' });
    await expect(read()).rejects.toThrow(`${path}:4: byte offset ${good.length + 4}: byte 0xFF is not valid UTF-8`);
  });

  it('fails an unpaired UTF-16 surrogate, and the memberships file too', async () => {
    const text = Buffer.concat([Buffer.from('\uFEFFid,first,mail\n1,A', 'utf16le'), Buffer.from([0x00, 0xd8]), Buffer.from('b,a@x.com\n', 'utf16le')]);
    const { read, path } = csvSource(text, { encoding: 'utf-16le' });
    await expect(read()).rejects.toThrow(`${path}:2: byte offset ${2 + 'id,first,mail\n1,A'.length * 2}: 0x00 0xD8 is not valid UTF-16 (an unpaired surrogate)`);

    const dir = mkdtempSync(join(tmpdir(), 'csv-trust-'));
    const memberships = join(dir, 'memberships.csv');
    writeFileSync(memberships, Buffer.concat([Buffer.from('group,member\nEng,1\nSal'), Buffer.from([0xe9]), Buffer.from('s,1\n')]));
    const withGroups = csvSource('id,first,mail\n1,Ann,a@x.com\n', { encoding: 'utf-8', memberships: { path: memberships, group: 'group', member: 'member' } });
    await expect(withGroups.read()).rejects.toThrow(`${memberships}:3: byte offset 22: byte 0xE9 is not valid UTF-8`);
  });
});

describe('control characters', () => {
  const withNul = 'id,first,mail,notes\n1,Ann,ann@x.com,\n2,Gus\u0000,gus@x.com,\n3,Eve,eve@x.com,"two\nlines"\n';

  it('make the record invalid, naming file, line and column, and hold the person', async () => {
    const { read, path } = csvSource(withNul, { multilineColumns: ['notes'] });
    const snap = await read();
    expect(snap.users.map((u) => u.key)).toEqual(['1', '3']);
    expect(snap.users[1]!.attributes['notes']).toBe('two\nlines');
    expect(snap.issues.map((i) => i.message)).toEqual([
      `${path}:3: column first holds the control character U+0000 at character 4; the record is skipped and this person held (source.controlCharacters: strip would remove such characters)`,
    ]);
    expect(snap.heldKeys).toEqual(['2']);
  });

  it('ESC and C1 count too; a line break only in a multi-line column', async () => {
    const { read } = csvSource('id,first,mail,notes\n1,A\u001b[2J,a@x.com,\n2,B\u009b,b@x.com,\n3,C,c@x.com,"tab\there"\n', { multilineColumns: ['notes'] });
    const snap = await read();
    expect(snap.users.map((u) => u.key)).toEqual(['3']);
    expect(snap.issues.map((i) => i.message.split(';')[0]!.replace(/^.*:\d+: /, ''))).toEqual([
      'column first holds the control character U+001B at character 2',
      'column first holds the control character U+009B at character 2',
    ]);
  });

  it('are removed under controlCharacters: strip, with one warning', async () => {
    const { read, path } = csvSource(withNul, { controlCharacters: 'strip', multilineColumns: ['notes'] });
    const snap = await read();
    expect(snap.users.map((u) => [u.key, u.attributes['givenName'], u.attributes['first']])).toEqual([
      ['1', 'Ann', 'Ann'],
      ['2', 'Gus', 'Gus'],
      ['3', 'Eve', 'Eve'],
    ]);
    expect(snap.users[2]!.attributes['notes']).toBe('two\nlines');
    expect(snap.issues).toEqual([]);
    expect(snap.warnings?.map((w) => w.message)).toEqual([
      `control characters stripped (source.controlCharacters: strip) from 1 record, the first at ${path}:3, column first`,
    ]);
  });
});

describe("control characters in one person's read", () => {
  // Screened after the read was narrowed, one person's read never saw the other rows: clean where
  // the full read is dirty, or a person a stripped key collides with not held.
  it("carries the full read's issues and held keys: a control character in another person's row", async () => {
    const { source, read } = csvSource('id,first,mail\n1,Ann,ann@x.com\n2,Gus\u001b[2J,gus@x.com\n');
    const whole = await read();
    const one = await source.readOne('1');
    expect(one.users.map((u) => u.key)).toEqual(['1']);
    expect(one.issues).toEqual(whole.issues);
    expect(one.issues.map((i) => i.code)).toEqual(['CONTROL_CHARACTER']);
    expect(one.heldKeys).toEqual(['2']);
    expect(one.population).toBe(1);
  });

  it('under strip, holds the person another row\'s key would become once stripped, as the full read does', async () => {
    const { source, read } = csvSource('id,first,mail\n1,Ann,ann@x.com\n1\u202c,Eve,eve@x.com\n', { controlCharacters: 'strip' });
    const whole = await read();
    const one = await source.readOne('1');
    expect(whole.heldKeys).toContain('1');
    expect([...one.heldKeys].sort()).toEqual([...whole.heldKeys].sort());
    expect(one.issues).toEqual(whole.issues);
  });
});

describe('which characters are control characters', () => {
  // The definition, as model/printable.ts escapes them: C0, DEL, C1, bidi embeddings, overrides and isolates.
  const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

  it('every UTF-16 code unit is judged as the definition says, tab, line feed and carriage return apart in text', () => {
    const wrong: string[] = [];
    for (let c = 0; c <= 0xffff; c++) {
      const char = String.fromCharCode(c);
      const control = CONTROL.test(char);
      const breaks = char === '\t' || char === '\n' || char === '\r';
      if ((controlAt(`ab${char}c`, false) === 2) !== control) wrong.push(`U+${c.toString(16)}`);
      if ((controlAt(`ab${char}c`, true) === 2) !== (control && !breaks)) wrong.push(`U+${c.toString(16)} in text`);
    }
    expect(wrong).toEqual([]);
    expect(controlAt('a\u0000b\u0001', false, 2)).toBe(3);
  });

  it('strip turns a tab or line break into a space, drops the rest, and keeps the breaks of a multi-line column', () => {
    const user = (attributes: Record<string, string>): CanonicalUser => ({ key: 'k', active: true, attributes, ref: { location: 'x' } });
    const snapshot = { source: 'x', users: [user({ a: ' one\ttwo\u001b[2J\nthree\u202e ', notes: 'l1\nl2\u0000' })], groups: [], issues: [], warnings: [], heldKeys: [], recordsRead: 1 };
    const screened = screenControlCharacters(snapshot, { mode: 'strip', multiline: new Set(['notes']), field: 'attribute' });
    expect(screened.users[0]!.attributes).toEqual({ a: 'one two[2J three', notes: 'l1\nl2' });
  });
});

describe('stray quotes', () => {
  const config = {
    key: 'employee_id',
    columns: { userName: 'email', givenName: 'first_name', title: 'title' },
  };

  for (const closeStyle of ['quoted', 'delimiter'] as const) {
    it(`a quote opened on line 1203 and closed on line 1253 (${closeStyle}) is an invalid record naming the lines; everyone on them is held`, async () => {
      const fixture = strayQuoteCsv({ rows: 20_000, open: 1203, close: 1253, closeStyle });
      const { read, path } = csvSource(fixture.text, config);
      const snap = await read();
      expect(snap.issues.map((i) => i.message)).toEqual([
        `${path}: lines 1203\u20131253: a quoted field in column title spans 51 lines, and title is not in source.multilineColumns (a stray quote on line 1203?); ` +
          'the 51 people these lines name are held: E2202, E2203, E2204, E2205, E2206 and 46 more',
      ]);
      expect(snap.issues[0]!.ref.line).toBe(1203);
      expect(new Set(snap.heldKeys)).toEqual(new Set(fixture.swallowed));
      expect(fixture.swallowed).toHaveLength(51);
      expect(snap.users).toHaveLength(20_000 - 51);
      expect(snap.users.some((u) => fixture.swallowed.includes(u.key))).toBe(false);
      expect(snap.recordsRead).toBe(20_000);
      // The rows after the region are read with their own line numbers.
      expect(snap.users.find((u) => u.key === 'E2253')!.ref.line).toBe(1254);
    });
  }

  it('a quote inside an unquoted field is one invalid record, and the person whose key comes before it is held, not read as gone', async () => {
    const text = 'employee_id,first_name,email,title\nE1,Ada,ada@x.com,Eng\nE3,Chen "CJ",chen@x.com,Eng\nE4,Bo,bo@x.com,Eng\nMa "X",E5,ma@x.com,Eng\n';
    const { read, path } = csvSource(text, { ...config, columns: { ...config.columns, userName: 'email' } });
    const snap = await read();
    expect(snap.issues.map((i) => i.message)).toEqual([
      `${path}:3: Invalid Opening Quote: a quote is found on field "first_name" at line 3, value is "Chen "; employee_id E3 is held`,
      `${path}:5: Invalid Opening Quote: a quote is found on field "employee_id" at line 5, value is "Ma "`,
    ]);
    expect(snap.heldKeys).toEqual(['E3']);
    expect(snap.users.map((u) => u.key)).toEqual(['E1', 'E4']);
    expect(snap.recordsRead).toBe(4);
  });

  it('a stray quote around a delimiter shifts the fields after it: the key after it is counted from the end, not read from the wrong column', async () => {
    const text = 'first,mail,id\nAda,ada@x.com,1\nBo "B,x" Bee,b@x.com,2\nCy,cy@x.com,3\n';
    const { read, path } = csvSource(text, { key: 'id', columns: { userName: 'mail', givenName: 'first' } });
    const snap = await read();
    expect(snap.users.map((u) => u.key)).toEqual(['1', '3']);
    expect(snap.heldKeys).toEqual(['2']);
    expect(snap.issues.map((i) => i.message)).toEqual([`${path}:3: Invalid Opening Quote: a quote is found on field "first" at line 3, value is "Bo "; id 2 is held`]);
  });

  it('a quoted value over three lines in a column not declared multi-line holds the one person whose row it is, not its continuation lines', async () => {
    const text = 'employee_id,first_name,email,title\nE1,Ada,ada@x.com,Eng\nE2,Bo,bo@x.com,"Senior\nStaff\nEngineer, Platform"\nE3,Cy,cy@x.com,Eng\n';
    const { read, path } = csvSource(text, { ...config, columns: { ...config.columns, userName: 'email' } });
    const snap = await read();
    expect(snap.issues.map((i) => i.message)).toEqual([
      `${path}: lines 3\u20135: a quoted field in column title spans 3 lines, and title is not in source.multilineColumns (a stray quote on line 3?); the 1 person these lines name is held: E2`,
    ]);
    expect(snap.heldKeys).toEqual(['E2']);
    expect(snap.recordsRead).toBe(3);
  });

  const grouped = { ...config, columns: { userName: 'email' }, groups: { column: 'groups', separator: ';' } };

  for (const where of ['key', 'title'] as const) {
    it(`a stray quote in the ${where} column: the people of the lines it swallows are held by their keys, and a group named only there is held too`, async () => {
      const fixture = financeStrayQuote(where);
      const { read, path } = csvSource(fixture.text, grouped);
      const snap = await read();
      expect(snap.issues.map((i) => i.message)).toEqual([
        `${path}: lines 9\u201312: a quoted field in column ${where === 'key' ? 'employee_id' : 'title'} spans 4 lines, and ${where === 'key' ? 'employee_id' : 'title'} is not in source.multilineColumns (a stray quote on line 9?); ` +
          'the 4 people these lines name are held: E1008, E1009, E1010, E1011; so is the group named only on these lines, not deleted: finance',
      ]);
      // No key keeps the stray quote or takes the rest of its line; the row csv-parse gave up on in the middle of line 12 is read whole from the file.
      expect(new Set(snap.heldKeys)).toEqual(new Set([...fixture.swallowed, 'finance']));
      expect(snap.issues[0]!.hidesPeople).toBeUndefined();
      expect(snap.users.map((u) => u.key)).toEqual(['E1001', 'E1002', 'E1003', 'E1004', 'E1005', 'E1006', 'E1007', 'E1012']);
      expect(snap.recordsRead).toBe(12);
    });
  }

  it('a stray quote before the key column: the key is read in its place on the line, the quoted text taken as written', async () => {
    const text = 'first,title,mail,id\nAda,Eng,ada@x.com,1\nBo,"VP, Sales,bo@x.com,2\nCy,Eng,cy@x.com,3\nDi,Director",di@x.com,4\nEd,Eng,ed@x.com,5\n';
    const snap = await csvSource(text, { key: 'id', columns: { userName: 'mail' } }).read();
    expect(snap.users.map((u) => u.key)).toEqual(['1', '5']);
    expect(snap.heldKeys).toEqual(['2', '3', '4']);
    expect(snap.issues.map((i) => i.hidesPeople)).toEqual([undefined]);
  });

  it('a record csv-parse reports twice (its closing quote, then its length) is one invalid record, counted once', async () => {
    const text = 'id,a,b,c\nE1,x,y,z\nE2,x,"y,z\nE3,x,y,z\nE4,"x",y,z\nE5,x,y,z\n';
    const { read, path } = csvSource(text, { key: 'id', columns: {} });
    const snap = await read();
    expect(snap.issues.map((i) => i.message)).toEqual([
      `${path}: lines 3\u20135: a quoted field in column b spans 3 lines, and b is not in source.multilineColumns (a stray quote on line 3?); the 3 people these lines name are held: E2, E3, E4`,
    ]);
    expect(snap.recordsRead).toBe(5);
  });

  it('lines that may hold a person whose key does not read (too short to reach the key column, or a key unlike the others) hide people: the record says so', async () => {
    const short = 'first,mail,title,id\nAda,ada@x.com,Eng,1\nBo,bo@x.com,"Senior\nStaff",2\nCy,cy@x.com,Eng,3\n';
    const a = csvSource(short, { key: 'id', columns: { userName: 'mail' } });
    const snapA = await a.read();
    expect(snapA.issues.map((i) => i.message)).toEqual([
      `${a.path}: lines 3\u20134: a quoted field in column title spans 2 lines, and title is not in source.multilineColumns (a stray quote on line 3?); the 1 person these lines name is held: 2; ` +
        'lines 3, 4 may hold people whose keys cannot be read: nobody is deprovisioned and no group deleted as gone from this read, whatever safety.holdDeprovisionsOnInvalidRecords says',
    ]);
    expect(snapA.issues[0]!.hidesPeople).toBe(true);
    expect(snapA.heldKeys).toEqual(['2']);

    const unlike = 'id,first,mail,title\nE1,Ada,ada@x.com,Eng\nE2,Bo,bo@x.com,"VP Sales\nE3 (new),Cy,cy@x.com,Eng\nE4,Di,di@x.com,Director"\nE5,Ed,ed@x.com,Eng\n';
    const b = csvSource(unlike, { key: 'id', columns: { userName: 'mail' } });
    const snapB = await b.read();
    expect(snapB.issues.map((i) => i.message)).toEqual([
      `${b.path}: lines 3\u20135: a quoted field in column title spans 3 lines, and title is not in source.multilineColumns (a stray quote on line 3?); the 2 people these lines name are held: E2, E4; ` +
        'line 4 may hold a person whose key cannot be read: nobody is deprovisioned and no group deleted as gone from this read, whatever safety.holdDeprovisionsOnInvalidRecords says',
    ]);
    expect(snapB.issues[0]!.hidesPeople).toBe(true);
  });

  it('a column declared multi-line may span lines', async () => {
    const fixture = strayQuoteCsv({ rows: 100, open: 20, close: 25, closeStyle: 'delimiter' });
    const snap = await csvSource(fixture.text, { ...config, multilineColumns: ['title'] }).read();
    expect(snap.issues).toEqual([]);
    expect(snap.users).toHaveLength(100 - 5);
    expect(snap.users.find((u) => u.key === 'E1019')!.attributes['title']).toMatch(/^VP, Sales,Eng,active,,\nE1020,/);
  });
});

describe('groups named on rows the source rejects', () => {
  const grouped = { key: 'id', columns: { userName: 'mail' }, groups: { column: 'groups', separator: ';' } };
  const header = 'id,first,mail,groups\n';

  it('a group named on a one-line rejected row and on no valid one is held, not read (nobody is added to it); one a valid row names is read as ever', async () => {
    const text =
      header +
      'E1,Ada,ada@x.com,staff\n' +
      'E2,Bo,ada@x.com,finance;staff\n' + // a userName another row has
      ',Cy,cy@x.com,legal\n' + // an empty key
      'E1,Di,di@x.com,ops\n' + // a key another row has
      'E5,Ed "E",ed@x.com,audit\n' + // a quote inside a field: csv-parse stops before the groups
      'E6,Fay,fay@x.com,board,extra\n'; // a field too many
    const { read, path } = csvSource(text, grouped);
    const snap = await read();
    const held = (groups: string) => `; the group named on this row and on no valid one is held, not deleted: ${groups}`;
    expect(snap.issues.map((i) => i.message)).toEqual([
      `${path}:3: userName "ada@x.com" already used by key "E1"${held('finance')}`,
      `${path}:4: empty key column "id"${held('legal')}`,
      `${path}:5: key "E1" already used on line 2${held('ops')}`,
      `${path}:6: Invalid Opening Quote: a quote is found on field "first" at line 6, value is "Ed "; id E5 is held${held('audit')}`,
      expect.stringMatching(new RegExp(`^${path}:7: Invalid Record Length: .*; id E6 is held${held('board')}$`)),
    ]);
    expect(new Set(snap.heldKeys)).toEqual(new Set(['E1', 'E2', 'E5', 'E6', 'finance', 'legal', 'ops', 'audit', 'board']));
    expect(snap.groups.map((g) => [g.key, g.memberKeys])).toEqual([['staff', ['E1']]]);
    expect(snap.issues.some((i) => i.hidesPeople)).toBe(false);
  });

  it('read by the plain reader (a file with no quote), the same', async () => {
    const snap = await csvSource(`${header}E1,Ada,ada@x.com,staff\nE2,Bo,ada@x.com,finance\n`, grouped).read();
    expect(snap.heldKeys).toEqual(['E2', 'finance']);
  });
});

describe('the memberships file', () => {
  const people = 'id,first,mail\nE1,Ada,ada@x.com\nE2,Bo,bo@x.com\nE3,Cy,cy@x.com\nE4,Di,di@x.com\n';
  const withMemberships = (text: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'csv-trust-'));
    const path = join(dir, 'memberships.csv');
    writeFileSync(path, text);
    return { path, source: csvSource(people, { memberships: { path, group: 'group', member: 'member', memberType: 'type' } }) };
  };

  it('a rejected row holds its member, and its group when no valid row names it', async () => {
    const { path, source } = withMemberships('group,member,type\nstaff,E1,user\nfinance,E2,usr\nstaff,,user\n,E3,user\nstaff,E4,user,extra\n');
    const snap = await source.read();
    expect(snap.issues.map((i) => i.message)).toEqual([
      `${path}:3: member type "usr" is neither "user" nor "group"; member E2 is held; the group named on this row and on no valid row is held, not deleted: finance`,
      `${path}:4: empty member column "member"`,
      `${path}:5: empty group column "group"; member E3 is held`,
      expect.stringMatching(new RegExp(`^${path}:6: Invalid Record Length: .*; member E4 is held$`)),
    ]);
    expect(new Set(snap.heldKeys)).toEqual(new Set(['E2', 'E3', 'E4', 'finance']));
    expect(snap.groups.map((g) => [g.key, g.memberKeys])).toEqual([['staff', ['E1']]]);
  });

  it('a stray quote: the rows it swallows are read as rows of their own, their members and groups held', async () => {
    const { path, source } = withMemberships('group,member,type\nstaff,E1,user\n"finance,E2,user\nfinance,E3,user\nlegal",E4,user\nstaff,E2,user\n');
    const snap = await source.read();
    expect(snap.issues.map((i) => i.message)).toEqual([
      `${path}: lines 3\u20135: a quoted field in column group spans 3 lines (a stray quote on line 3?); members E2, E3, E4 are held; ` +
        'the groups named on these lines and on no valid row are held, not deleted: finance, legal',
    ]);
    expect(snap.issues[0]!.hidesPeople).toBeUndefined();
    expect(snap.issues[0]!.holdsGroups).toEqual(['finance', 'legal']);
    expect(new Set(snap.heldKeys)).toEqual(new Set(['E2', 'E3', 'E4', 'finance', 'legal']));
    // No group is made of the swallowed text.
    expect(snap.groups.map((g) => [g.key, g.memberKeys])).toEqual([['staff', ['E1', 'E2']]]);
  });

  it('a stray quote over lines whose member does not read hides memberships: nobody is deprovisioned that run', async () => {
    const { path, source } = withMemberships('group,member,type\nstaff,E1,user\nstaff,"E2,user\nstaff\nstaff,E3",user\n');
    const snap = await source.read();
    expect(snap.issues.map((i) => i.message)).toEqual([
      `${path}: lines 3\u20135: a quoted field in column member spans 3 lines (a stray quote on line 3?); members E2, E3 are held; ` +
        'the membership on line 4 cannot be read: nobody is deprovisioned and no group deleted as gone from this read, whatever safety.holdDeprovisionsOnInvalidRecords says',
    ]);
    expect(snap.issues[0]!.hidesPeople).toBe(true);
  });
});

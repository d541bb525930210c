/**
 * Target schemas (issue #16): what /Schemas says of each attribute decides what is sent. Against the
 * sandbox declaring title readOnly: title is never sent, and `check` says so. Against SCIMMY with a
 * custom extension: its booleans, integers and dateTimes get values of their type, its readOnly
 * attribute is never sent, an attribute it lacks is a warning, and a person without its required
 * attribute is not created.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SCIMMY from 'scimmy';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { Harness, peopleCsv, person } from '../support/harness.js';
import { startScimmyServer, type ScimmyServer } from '../support/scimmy-server.js';

describe('a readOnly attribute (sandbox)', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  it('is never sent, in creates or updates, and plan and check say why', async () => {
    h = await Harness.start({ sandbox: { behaviour: { readOnlyAttributes: ['title'] } } });
    h.writePeople([person(1), person(2)]);
    const first = await h.run();
    expect(first.code, first.err).toBe(0);
    expect(first.out).toContain("mapping.title is not sent: the target's schema makes title readOnly");
    const bodies = h.writes().map((w) => JSON.stringify(w.body));
    expect(bodies).toHaveLength(2);
    for (const body of bodies) expect(body).not.toContain('title');

    h.writePeople([person(1, { title: 'Staff Engineer', department: 'Ops' }), person(2)]);
    h.sandbox.clearRequests();
    const second = await h.run();
    expect(second.code, second.err).toBe(0);
    expect(h.writes()).toHaveLength(1);
    expect(JSON.stringify(h.writes()[0]!.body)).not.toContain('title');
    expect(JSON.stringify(h.writes()[0]!.body)).toContain('Ops');

    const check = await h.cli('check', '--config', h.configFile);
    expect(check.code, check.err).toBe(0);
    // The default title rule applies: the source (its CSV header) has a title.
    expect(check.out).toContain("! mapping.title is not sent: the target's schema makes title readOnly");
  });
});

describe('a custom extension (SCIMMY)', () => {
  const ACME = 'urn:ietf:params:scim:schemas:extension:acme:2.0:User';
  const { Attribute } = SCIMMY.Types;
  let server: ScimmyServer | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('sends values of each attribute type, never the readOnly one, and creates nobody without the required one', async () => {
    server = await startScimmyServer('scimmy-token-4a7e2c9d', {
      id: ACME,
      name: 'Acme',
      attributes: [
        new Attribute('string', 'badge', { mutable: false }),
        new Attribute('boolean', 'contractor'),
        new Attribute('integer', 'clearance'),
        new Attribute('dateTime', 'startDate'),
        new Attribute('string', 'costCode', { required: true }),
      ],
    });
    dir = mkdtempSync(join(tmpdir(), 'scim-sync-schemas-'));
    const config = join(dir, 'org.yaml');
    writeFileSync(
      config,
      `version: 1
state: { dir: state }
source:
  type: csv
  path: people.csv
  key: employee_id
  columns: { userName: email, email: email, givenName: first_name, familyName: last_name, title: title }
lookups:
  costCodes: { Eng: E-1 }
targets:
  app:
    url: ${server.url}
    auth: { type: bearer, token: "\${env:SCHEMAS_TOKEN}" }
    quirks: { userNameCaseExact: true }
    mapping:
      ${ACME}:badge: '{employee_id}'
      ${ACME}:contractor: '=IIF(title == "Contractor", "yes", "no")'
      ${ACME}:clearance: '=Switch(department, "1", "Eng", "3")'
      ${ACME}:startDate: '=IIF(title == "Contractor", "31.01.2024", "2024-01-31")'
      ${ACME}:costCode: '=Lookup(department, "costCodes")'
      ${ACME}:nickname: '{first_name}'
`,
    );
    writeFileSync(join(dir, 'people.csv'), peopleCsv([person(1), person(2, { title: 'Contractor' }), person(3, { department: 'Sales' })]));
    const run = async (...args: string[]) => {
      const out: string[] = [];
      process.env['SCHEMAS_TOKEN'] = 'scimmy-token-4a7e2c9d';
      const code = await main(['node', 'scim-sync', ...args, '--config', config], { out: (t) => out.push(t), err: (t) => out.push(t) });
      return { code, out: out.join('\n') };
    };

    const first = await run('run');
    expect(first.code, first.out).toBe(0);
    expect(first.out).toContain(`mapping.${ACME}:badge is not sent: the target's schema makes badge readOnly`);
    expect(first.out).toContain(`mapping.${ACME}:nickname is not sent: the target's schema has no attribute nickname in ${ACME}`);
    expect(first.out).toContain(`E1002: ${ACME}:startDate "31.01.2024" is not a dateTime (e.g. 2024-01-31T09:00:00Z) (the target's type for it): created without it`);
    expect(first.out).toContain(`E1003: not created: ${ACME}:costCode is required by the target and has no value`);
    const users = [...server.users.values()];
    expect(users.map((u) => u['externalId']).sort()).toEqual(['E1001', 'E1002']);
    const ext = (id: string) => users.find((u) => u['externalId'] === id)![ACME] as Record<string, unknown>;
    expect(ext('E1001')).toMatchObject({ contractor: false, clearance: 3, costCode: 'E-1' });
    expect(new Date(ext('E1001')['startDate'] as string).toISOString()).toBe('2024-01-31T00:00:00.000Z');
    expect(ext('E1002')).toMatchObject({ contractor: true, clearance: 3, costCode: 'E-1' });
    expect(ext('E1002')['startDate']).toBeUndefined();
    for (const u of users) expect(ext(u['externalId'] as string)['badge']).toBeUndefined();

    server.requests.length = 0;
    const second = await run('run');
    expect(second.code, second.out).toBe(0);
    expect(server.requests.filter((r) => r.method !== 'GET')).toEqual([]);

    const check = await run('check');
    expect(check.out).toContain(`! mapping.${ACME}:badge is not sent: the target's schema makes badge readOnly`);
  });
});

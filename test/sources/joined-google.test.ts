/**
 * An HR CSV joined to Google Workspace (the loopback stand-in, test/support/fake-google.ts) through
 * createSource: Google's values, manager and groups reach the CSV's people; its credential stays out
 * of every message; a Google outage fails the joined read, naming the source.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { SourceError } from '../../src/errors.js';
import { createSource } from '../../src/sources/create-source.js';
import { ADMIN, FakeGoogle, sampleDirectory } from '../support/fake-google.js';
import { tempDirs } from '../support/temp-dirs.js';

const newDir = tempDirs('joined-google-');
let google: FakeGoogle;
beforeEach(async () => {
  google = await FakeGoogle.start(sampleDirectory());
});
afterEach(async () => {
  await google.stop();
});

function joinedSource() {
  const dir = newDir();
  // Mixed case and spaces in the join values: compared trimmed and case-insensitively.
  writeFileSync(join(dir, 'hr.csv'), 'id,work_email,title\nH1,ADA@example.com ,Principal Engineer\nH2,jose@example.com,\nH3,kenji@example.com,Researcher\n');
  const text = `
sources:
  hr: { type: csv, path: hr.csv, key: id }
  google:
    type: google
    credentials: "\${env:GOOGLE_KEY}"
    subject: ${ADMIN}
    apiUrl: ${google.url}
    groups: { enabled: true }
join:
  primary: hr
  secondaries: { google: { on: [work_email, email] } }
  groups: [google]
targets:
  app: { url: "https://app.example/scim/v2", auth: { type: bearer, token: "\${env:APP_TOKEN}" } }
`;
  const loaded = parseConfig(text, join(dir, 'org.yaml'), { GOOGLE_KEY: google.keyJson(), APP_TOKEN: 'app-token-0123456789' });
  return createSource(loaded.config.source);
}

describe('a CSV joined to Google Workspace', () => {
  it("lends Google's values, manager and groups to the CSV's people", async () => {
    const snapshot = await joinedSource().read();
    const byKey = new Map(snapshot.users.map((u) => [u.key, u]));
    expect([...byKey.keys()]).toEqual(['H1', 'H2', 'H3']);
    expect(byKey.get('H1')!.attributes).toMatchObject({ title: 'Principal Engineer', costCenter: 'CC1', department: 'Eng', phone: '+1 555 0101' });
    expect(byKey.get('H2')!.attributes['title']).toBeNull(); // empty in both: nothing to lend
    // Google names ada (id 101) as jose's manager: the CSV's ada.
    expect(byKey.get('H2')!.managerKey).toBe('H1');
    const groups = new Map(snapshot.groups.map((g) => [g.key, g]));
    expect(groups.get('g1')!.memberKeys).toEqual(['H1', 'H2']);
    expect(groups.get('g2')).toMatchObject({ memberKeys: ['H3'], groupKeys: ['g1'] });
    // Google's other people (suspended, archived, no email) match no one of hr.
    expect(snapshot.warnings?.map((w) => w.message)).toContain('google: 2 of 5 records match no person of hr (hr.work_email = google.email) and are ignored');
  });

  it('a failed Google read fails the joined read, naming the source, without its credential', async () => {
    // A refusal, which is not retried (a 5xx would be, with backoff).
    google.faults.push({ path: '/admin/directory/v1/users', page: 0, status: 403, times: Infinity });
    const error = await joinedSource()
      .read()
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(SourceError);
    expect((error as Error).message).toMatch(/^sources\.google \(google:my_customer\): /);
    expect((error as Error).message).not.toContain('PRIVATE KEY');
  });
});

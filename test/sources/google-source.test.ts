/**
 * The Google Workspace source against a loopback stand-in for Google's token endpoint and the
 * Directory API (test/support/fake-google.ts): the service-account JWT is checked as Google checks
 * it; users, groups and members come in pages; faults fail a page.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sourceSchema, type GoogleSourceConfig } from '../../src/config/schema/index.js';
import { redact, Secret } from '../../src/config/secret.js';
import { SourceError } from '../../src/errors.js';
import { createSource } from '../../src/sources/create-source.js';
import { GoogleSource } from '../../src/sources/google/google-source.js';
import { resolveMembership } from '../../src/mapping/group-membership.js';
import type { CanonicalGroup } from '../../src/model/canonical.js';
import { ADMIN, CLIENT_EMAIL, FakeGoogle, GROUP_SCOPE, instantRetries, sampleDirectory, USER_SCOPE } from '../support/fake-google.js';

let google: FakeGoogle;
beforeEach(async () => {
  google = await FakeGoogle.start(sampleDirectory());
});
afterEach(async () => {
  await google.stop();
});

function config(over: Record<string, unknown> = {}): GoogleSourceConfig {
  return sourceSchema.parse({ type: 'google', credentials: new Secret(google.keyJson(), 'test'), subject: ADMIN, apiUrl: google.url, groups: { enabled: true }, ...over }) as GoogleSourceConfig;
}

/** The groups that have `key` among their members, per the nesting mode, in listing order. */
function groupsWith(groups: readonly CanonicalGroup[], key: string, mode: 'direct' | 'flatten'): string[] {
  const members = resolveMembership(groups, mode).members;
  return groups.filter((g) => members.get(g.key)!.has(key)).map((g) => g.key);
}

async function readError(over: Record<string, unknown> = {}): Promise<SourceError> {
  const error = await new GoogleSource(config(over), instantRetries()).read().then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SourceError);
  return error as SourceError;
}

describe('Google Workspace source', () => {
  it('reads every page of people: ids as keys, suspended and archived inactive, attributes, managers by email or alias', async () => {
    const snapshot = await new GoogleSource(config()).read();
    const byKey = new Map(snapshot.users.map((u) => [u.key, u]));
    expect([...byKey.keys()]).toEqual(['101', '102', '103', '104', '105']);
    expect(byKey.get('101')).toMatchObject({
      active: true,
      attributes: {
        userName: 'ada@example.com',
        email: 'ada@example.com',
        givenName: 'Ada',
        familyName: 'Lovelace',
        displayName: 'Ada Lovelace',
        title: 'Engineer',
        department: 'Eng',
        costCenter: 'CC1',
        employeeNumber: 'E-101',
        phone: '+1 555 0101',
        mobile: '+1 555 0102',
      },
      managerKey: null,
    });
    expect(byKey.get('102')).toMatchObject({ managerKey: '101', attributes: { givenName: 'José', familyName: 'Müller' } });
    expect(byKey.get('103')).toMatchObject({ active: false, managerKey: null });
    expect(byKey.get('104')!.active).toBe(false);
    expect(byKey.get('105')!.attributes['displayName']).toBe('渡辺 健');
    // A record without id or email is reported and skipped, never read as a person.
    expect(snapshot.issues.map((i) => i.code)).toEqual(['GOOGLE_MISSING_EMAIL']);
    // Held by its id: with safety.holdDeprovisionsOnInvalidRecords off, it must still not be read as gone.
    expect(snapshot.heldKeys).toEqual(['106']);
    expect(snapshot.recordsRead).toBe(6);
    // Three pages of two, each asked for with the last page's token, all with the same access token.
    const userPages = google.requests.filter((r) => r.path === '/admin/directory/v1/users');
    expect(userPages.map((r) => r.query.get('pageToken'))).toEqual([null, 'page-1', 'page-2']);
    expect(userPages.every((r) => r.authorized && r.query.get('customer') === 'my_customer')).toBe(true);
    expect(google.tokenRequests).toHaveLength(1);
  });

  it('a user listed twice (renamed while the paged listing ran) is one person when the copies agree, and held when they differ', async () => {
    const users = google.directory.users;
    const ada = users.find((u) => u['id'] === '101')!;
    const jose = users.find((u) => u['id'] === '102')!;
    users.push({ ...ada }, { ...jose, primaryEmail: 'jose.renamed@example.com', suspended: true });
    const snapshot = await new GoogleSource(config()).read();
    // Not a second Ada; and not a José deactivated by whichever copy came last.
    expect(snapshot.users.map((u) => u.key)).toEqual(['101', '103', '104', '105']);
    expect(snapshot.issues.map((i) => i.code)).toEqual(['GOOGLE_DUPLICATE_ID', 'GOOGLE_MISSING_EMAIL']);
    expect(snapshot.issues[0]!.message).toMatch(/user 102 .* listed twice, with different values/);
    expect(snapshot.heldKeys).toEqual(['102', '106']);
  });

  it('reads groups with their direct members and nested groups; members it did not read are warned about', async () => {
    const snapshot = await new GoogleSource(config()).read();
    expect(snapshot.groups).toEqual([
      { key: 'g1', displayName: 'Engineering', memberKeys: ['101', '102'], groupKeys: [], ref: { location: 'groups/eng@example.com' } },
      { key: 'g2', displayName: 'all@example.com', memberKeys: ['105'], groupKeys: ['g1'], ref: { location: 'groups/all@example.com' } },
    ]);
    expect(snapshot.warnings!.map((w) => w.message)).toEqual([
      'eng@example.com: member guest@partner.example (USER) is not among the people or groups read; left out',
      'all@example.com: member C01 (CUSTOMER) is not among the people or groups read; left out',
    ]);
  });

  it('signs the token request as the service account acting for the admin, with only the scopes it needs', async () => {
    await new GoogleSource(config({ groups: undefined })).read();
    expect(google.tokenRequests).toHaveLength(1);
    const [{ claims, signatureValid }] = google.tokenRequests as [(typeof google.tokenRequests)[number]];
    expect(signatureValid).toBe(true);
    expect(claims).toMatchObject({ iss: CLIENT_EMAIL, sub: ADMIN, aud: `${google.url}/token`, scope: USER_SCOPE });
    expect(google.requests.some((r) => r.path.includes('/groups'))).toBe(false);
    await new GoogleSource(config()).read();
    expect(google.tokenRequests[1]!.claims['scope']).toBe(`${USER_SCOPE} ${GROUP_SCOPE}`);
  });

  it('delegation refused: the read fails saying who asked for what, and the key appears nowhere', async () => {
    const error = await readError({ subject: 'not-an-admin@example.com' });
    expect(error.message).toBe(
      `Google Workspace: ${google.url}/token refused a token for service account ${CLIENT_EMAIL} acting for not-an-admin@example.com: unauthorized_client: ` +
        'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested. ' +
        `(domain-wide delegation must allow this client the scopes ${USER_SCOPE}, ${GROUP_SCOPE})`,
    );
    expect(JSON.stringify(error.toJSON())).not.toContain('PRIVATE KEY');
    expect((await readError({ credentials: new Secret('{"type":"authorized_user"}', 'test') })).message).toBe(
      'source.credentials: not a service account key (type is not service_account)',
    );
    const overHttp = JSON.stringify({ ...(JSON.parse(google.keyJson()) as object), token_uri: 'http://oauth2.example.com/token' });
    expect((await readError({ credentials: new Secret(overHttp, 'test') })).message).toBe(
      "source.credentials: the key's token_uri http://oauth2.example.com/token is not https; the signed grant would cross the network in clear",
    );
  });

  it('a token endpoint that fails for a while is asked again; one that keeps failing fails the read without blaming delegation', async () => {
    google.tokenFaults.push({ answer: 'reset', times: 1 }, { answer: 503, times: 1 }, { answer: 429, retryAfter: '3', times: 1 });
    const retries = instantRetries();
    expect((await new GoogleSource(config(), retries).read()).users).toHaveLength(5);
    expect(retries.waits).toEqual([1000, 2000, 3500]);
    expect(google.tokenRequests).toHaveLength(1);

    google.tokenFaults.push({ answer: 503, times: Infinity });
    const error = await readError();
    expect(error.message).toBe(`Google Workspace: ${google.url}/token could not give a token for service account ${CLIENT_EMAIL} acting for ${ADMIN}: internal_failure (after 6 tries)`);
    google.tokenFaults.length = 0;
    google.tokenFaults.push({ answer: 'reset', times: Infinity });
    expect((await readError()).message).toMatch(new RegExp(`^Google Workspace: token request to ${google.url}/token for service account ${CLIENT_EMAIL} acting for ${ADMIN} failed \\(after 6 tries\\): `));
  });

  it('a token endpoint that quotes the signed grant, and an API that quotes the access token in an HTML error, print neither', async () => {
    google.careless.tokenErrorQuotesRequest = true;
    // As printed: every output goes through the redactor, which must know the grant.
    const refused = redact((await readError()).message);
    expect(refused).toMatch(/refused a token .*invalid_grant: cannot use grant_type=.*&assertion=\[redacted\]$/);
    expect(refused).not.toMatch(/eyJ[\w-]{20,}/);
    google.careless.tokenErrorQuotesRequest = false;
    google.careless.apiEchoesAuthorizationAsHtml = true;
    // Cut to an excerpt after redaction: cut before, the token's first characters were left unrecognised.
    const echoed = (await readError()).message;
    expect(echoed).toContain('HTTP 400, and the answer is not JSON: "<html><body>Bad request. Your request header was: Bearer [redacted]');
    expect(echoed).not.toContain('ya29.');
  });

  it('a page that fails for a while is asked again; one that keeps failing fails the whole read after about half a minute', async () => {
    google.faults.push({ path: '/admin/directory/v1/users', page: 1, status: 503, times: 2 });
    expect((await new GoogleSource(config(), instantRetries()).read()).users).toHaveLength(5);
    google.faults.push({ path: '/admin/directory/v1/users', page: 2, status: 500, times: Infinity });
    const retries = instantRetries();
    const error = await new GoogleSource(config(), retries).read().catch((e: unknown) => e);
    expect((error as SourceError).message).toBe('Google Workspace: GET /admin/directory/v1/users: HTTP 500: Backend Error (after 6 tries)');
    // Drawn below 2, 4, 8, 16, 32 s (here at half of each): Google's quotas count by the minute.
    expect(retries.waits).toEqual([1000, 2000, 4000, 8000, 16000]);
    google.faults.push({ path: '/admin/directory/v1/groups/g2/members', page: 0, status: 403, times: Infinity });
    google.faults.splice(0, 2);
    expect((await readError()).message).toBe('Google Workspace: GET /admin/directory/v1/groups/g2/members: HTTP 403: Not Authorized to access this resource/api');
  });

  it('a 401 is answered by one fresh token; one the fresh token meets too fails the read', async () => {
    google.faults.push({ path: '/admin/directory/v1/users', page: 0, status: 401, times: Infinity });
    expect((await readError()).message).toBe('Google Workspace: GET /admin/directory/v1/users: HTTP 401: Invalid Credentials (with a fresh token too)');
    expect(google.tokenRequests).toHaveLength(2);
  });

  it('a spent quota (429, or a 403 whose reason is a rate or quota) is waited out as Google asks; any other 403 is final', async () => {
    const users = '/admin/directory/v1/users';
    google.faults.push(
      { path: users, page: 0, status: 403, reason: 'userRateLimitExceeded', times: 1 },
      { path: users, page: 1, status: 403, reason: 'rateLimitExceeded', retryAfter: '7', times: 1 },
      { path: users, page: 2, status: 403, reason: 'quotaExceeded', times: 2 },
      { path: '/admin/directory/v1/groups', page: 0, status: 429, retryAfter: 'Wed, 21 Oct 2015 07:28:00 GMT', times: 1 },
    );
    const retries = instantRetries();
    expect((await new GoogleSource(config(), retries).read()).users).toHaveLength(5);
    // Retry-After in seconds is waited as asked (plus a little jitter); a date already past, not at all beyond the jitter.
    expect(retries.waits).toEqual([1000, 7500, 1000, 2000, 500]);

    google.faults.push({ path: users, page: 0, status: 429, retryAfter: '600', times: 1 });
    expect((await readError()).message).toBe(`Google Workspace: GET ${users}: HTTP 429: Quota exceeded (rateLimitExceeded) (Retry-After: 600)`);
    const refusal = instantRetries();
    google.faults.push({ path: users, page: 0, status: 403, times: 1 });
    const refused = await new GoogleSource(config(), refusal).read().catch((e: unknown) => e);
    expect((refused as SourceError).message).toBe(`Google Workspace: GET ${users}: HTTP 403: Not Authorized to access this resource/api`);
    expect(refusal.waits).toEqual([]);
  });

  it("a person read alone whose manager is another customer's address has no manager reference, as in the full read", async () => {
    const source = new GoogleSource(config(), instantRetries());
    expect((await source.read()).users.find((u) => u.key === '103')!.managerKey).toBeNull();
    const one = await source.readOne('103');
    expect(one.users).toEqual([expect.objectContaining({ key: '103', managerKey: null })]);
    // Asked, and refused as Google refuses it (403), not skipped.
    expect(google.requests.some((r) => r.path === '/admin/directory/v1/users/someone%40elsewhere.example')).toBe(true);
    // A refusal that is about us, not the address, still fails the read.
    google.faults.push({ path: '/admin/directory/v1/users/ada.l%40example.com', page: 0, status: 403, reason: 'insufficientPermissions', times: 1 });
    await expect(source.readOne('102')).rejects.toThrow('Google Workspace: GET /admin/directory/v1/users/ada.l%40example.com: HTTP 403: Request had insufficient authentication scopes.');
  });

  it('one person\'s read with one domain keeps only that domain\'s groups, as a full read lists them', async () => {
    await google.stop();
    const directory = sampleDirectory();
    directory.groups.push({ id: 'g3', email: 'partners@other.example', name: 'Partners' });
    (directory.members as Record<string, unknown[]>)['g3'] = [{ id: '101', email: 'ada@example.com', type: 'USER' }];
    google = await FakeGoogle.start(directory);
    const source = new GoogleSource(config({ domain: 'example.com' }));
    const one = await source.readOne('101');
    expect(one.users.map((u) => u.key)).toEqual(['101']);
    expect(one.groups.map((g) => g.key)).toEqual((await source.read()).groups.map((g) => g.key));
    expect(one.groups.map((g) => g.key)).toEqual(['g1', 'g2']);
    expect(groupsWith(one.groups, '101', 'direct')).toEqual(['g1']);
    expect(google.requests.some((r) => r.path === '/admin/directory/v1/groups' && r.query.get('userKey') === '101')).toBe(true);
  });

  it("one person's read lists every group, the person in their direct ones and the nesting above them: the groups a full read puts them in, directly and flattened", async () => {
    // A nesting cycle above Engineering (leads holds all, Engineering holds leads) and a group holding none of them.
    google.directory.groups.push({ id: 'g3', email: 'leads@example.com', name: 'Leads' }, { id: 'g4', email: 'lunch@example.com', name: 'Lunch' });
    google.directory.members['g3'] = [{ id: 'g2', email: 'all@example.com', type: 'GROUP' }];
    google.directory.members['g4'] = [{ id: '105', email: 'kenji@example.com', type: 'USER' }];
    google.directory.members['g1']!.push({ id: 'g3', email: 'leads@example.com', type: 'GROUP' });
    const whole = await new GoogleSource(config()).read();
    const inWhole = (key: string, mode: 'direct' | 'flatten') => groupsWith(whole.groups, key, mode);
    expect(inWhole('101', 'flatten')).toEqual(['g1', 'g2', 'g3']);
    for (const key of ['101', '102', '103', '105']) {
      const one = await new GoogleSource(config()).readOne(key);
      expect(one.groups.map((g) => g.key)).toEqual(whole.groups.map((g) => g.key));
      expect(groupsWith(one.groups, key, 'direct')).toEqual(inWhole(key, 'direct'));
      expect(groupsWith(one.groups, key, 'flatten')).toEqual(inWhole(key, 'flatten'));
    }
  });

  it("one person's read costs the group listing, their direct groups and one request per group above them; the people one source reads share the listing and each group's parents", async () => {
    const source = new GoogleSource(config());
    const asked = () => google.requests.splice(0).map((r) => `${r.path.replace('/admin/directory/v1', '')}${r.query.has('userKey') ? `?userKey=${r.query.get('userKey')}` : ''}`).sort();
    const ada = await source.readOne('101');
    expect(ada.groups).toEqual([
      { key: 'g1', displayName: 'Engineering', memberKeys: ['101'], groupKeys: [], ref: { location: 'groups/eng@example.com' } },
      { key: 'g2', displayName: 'all@example.com', memberKeys: [], groupKeys: ['g1'], ref: { location: 'groups/all@example.com' } },
    ]);
    expect(asked()).toEqual(['/groups', '/groups?userKey=101', '/groups?userKey=all@example.com', '/groups?userKey=eng@example.com', '/users/101']);
    // José is in Engineering too: his manager, his direct groups, nothing else.
    await source.readOne('102');
    expect(asked()).toEqual(['/groups?userKey=102', '/users/102', '/users/ada.l%40example.com']);
    // Someone gone from Google is in no group: every group is there to take them out of.
    const gone = await new GoogleSource(config()).readOne('999');
    expect(gone.users).toEqual([]);
    expect(gone.groups.map((g) => [g.key, g.memberKeys])).toEqual([['g1', []], ['g2', []]]);
    expect(asked()).toEqual(['/groups', '/users/999']);
  });

  it('one domain, and a query, are passed on as the API expects them', async () => {
    await new GoogleSource(config({ domain: 'example.com', query: "orgUnitPath='/Staff'", groups: undefined })).read();
    const first = google.requests[0]!;
    expect(first.query.get('domain')).toBe('example.com');
    expect(first.query.get('customer')).toBeNull();
    expect(first.query.get('query')).toBe("orgUnitPath='/Staff'");
  });

  it('every source passes the control-character check: an ANSI escape in a Google title holds that person, a NUL in a group name skips the group and holds it', async () => {
    google.directory.users[0] = { ...google.directory.users[0]!, organizations: [{ title: 'Engineer\u001b[2J', primary: true }] };
    google.directory.groups[0] = { ...google.directory.groups[0]!, name: 'Engineering\u0000' };
    const snapshot = await createSource(config()).read();
    expect(snapshot.users.map((u) => u.key)).toEqual(['102', '103', '104', '105']);
    // The group is held too: skipped, it is not read as gone (and deleted).
    expect(snapshot.heldKeys).toEqual(['106', '101', 'g1']);
    expect(snapshot.groups.map((g) => g.key)).toEqual(['g2']);
    expect(snapshot.issues.flatMap((i) => i.holdsGroups ?? [])).toEqual(['g1']);
    expect(snapshot.issues.filter((i) => i.code === 'CONTROL_CHARACTER').map((i) => i.message)).toEqual([
      'users/ada@example.com: attribute title holds the control character U+001B at character 9; the record is skipped and this person held (source.controlCharacters: strip would remove such characters)',
      'groups/eng@example.com: group name holds the control character U+0000 at character 12; the group is skipped and held, not deleted (source.controlCharacters: strip would remove such characters)',
    ]);
  });
});

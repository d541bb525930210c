/**
 * The Google change feed against the loopback stand-in (test/support/fake-google.ts): admin
 * activity pages become user keys (the Directory API id), pages are followed, the overlap window
 * re-lists activities without handing them out twice, and the position moves only on commit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sourceSchema, type GoogleSourceConfig } from '../../src/config/schema/index.js';
import { Secret } from '../../src/config/secret.js';
import { SourceError } from '../../src/errors.js';
import type { ChangeBatch } from '../../src/sources/change-feed.js';
import { GoogleChangeFeed, MAX_PEOPLE } from '../../src/sources/google/google-change-feed.js';
import { FileFeedTokenStore } from '../../src/state/feed-tokens.js';
import { ACTIVITIES_PATH, ADMIN, adminActivity, FakeGoogle, instantRetries, REPORTS_SCOPE, sampleDirectory, USER_SCOPE } from '../support/fake-google.js';

let google: FakeGoogle;
let stateDir: string;
beforeEach(async () => {
  google = await FakeGoogle.start({ ...sampleDirectory(), activities: [] });
  stateDir = mkdtempSync(join(tmpdir(), 'google-feed-'));
});
afterEach(async () => {
  await google.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

function config(over: Record<string, unknown> = {}): GoogleSourceConfig {
  return sourceSchema.parse({ type: 'google', credentials: new Secret(google.keyJson(), 'test'), subject: ADMIN, apiUrl: google.url, ...over }) as GoogleSourceConfig;
}

const tokens = () => new FileFeedTokenStore(stateDir);
const feedOf = (over: Record<string, unknown> = {}) => new GoogleChangeFeed(config(over), tokens(), 'google', { pacing: instantRetries() });
/** `seconds` before the test's start, as the report writes times. */
const start = Date.now();
const ago = (seconds: number) => new Date(start - seconds * 1000).toISOString();
const activities = () => google.directory.activities!;
const reportRequests = () => google.requests.filter((r) => r.path === ACTIVITIES_PATH);
const sorted = (batch: ChangeBatch | null) => [...(batch?.keys ?? [])].sort();

/** A feed whose first batch (a full reconcile, no position yet) is committed. */
async function started(over: Record<string, unknown> = {}) {
  const feed = feedOf(over);
  const listed = reportRequests().length;
  const first = await feed.poll();
  expect(first).toMatchObject({ keys: [], full: 'no earlier position in the admin activity report of google:my_customer' });
  expect(reportRequests()).toHaveLength(listed);
  await first!.commit();
  return feed;
}

describe('Google change feed', () => {
  it('names the people of suspend, create and rename events by their user id, with the Reports scope', async () => {
    const feed = await started();
    activities().push(
      adminActivity(ago(120), 'SUSPEND_USER', { USER_EMAIL: 'jose@example.com' }),
      adminActivity(ago(110), 'CREATE_USER', { USER_EMAIL: 'kenji@example.com' }),
      // Renamed to its current address; the old one is gone.
      adminActivity(ago(100), 'RENAME_USER', { USER_EMAIL: 'ada.old@example.com', NEW_VALUE: 'ada@example.com' }),
      adminActivity(ago(90), 'CHANGE_PASSWORD', { USER_EMAIL: 'sus@example.com' }),
    );
    const batch = await feed.poll();
    expect(batch!.full).toBeUndefined();
    expect(sorted(batch)).toEqual(['101', '102', '105']);
    expect(batch!.description).toMatch(/^4 admin events since .*: 3 people$/);
    const scopes = google.tokenRequests.map((t) => String(t.claims['scope']).split(' ').sort());
    expect(scopes).toEqual([[REPORTS_SCOPE, USER_SCOPE].sort()]);
    const [listing] = reportRequests();
    expect(listing!.authorized).toBe(true);
    expect(listing!.query.get('maxResults')).toBe('1000');
  });

  it('a token revoked within its hour (the feed keeps one between polls) is renewed once, and the poll goes on', async () => {
    const feed = await started();
    activities().push(adminActivity(ago(120), 'SUSPEND_USER', { USER_EMAIL: 'jose@example.com' }));
    const jose = sorted(await feed.poll());
    expect(jose).toHaveLength(1);
    expect(google.tokenRequests).toHaveLength(1);
    google.revokeTokens();
    activities().push(adminActivity(ago(60), 'SUSPEND_USER', { USER_EMAIL: 'kenji@example.com' }));
    const batch = await feed.poll();
    expect(sorted(batch).filter((k) => !jose.includes(k))).toHaveLength(1);
    expect(google.tokenRequests).toHaveLength(2);
    expect(reportRequests().filter((r) => !r.authorized)).toHaveLength(1);
  });

  it('follows the pages of the report, retrying one that fails', async () => {
    const feed = await started();
    google.pageSize = 2;
    for (const [i, email] of ['ada@example.com', 'jose@example.com', 'sus@example.com', 'arch@example.com', 'kenji@example.com'].entries()) {
      activities().push(adminActivity(ago(200 - i), 'MOVE_USER_TO_ORG_UNIT', { USER_EMAIL: email, ORG_UNIT_NAME: '/', NEW_VALUE: '/Staff' }));
    }
    google.faults.push({ path: ACTIVITIES_PATH, page: 1, status: 503, times: 1 });
    expect(sorted(await feed.poll())).toEqual(['101', '102', '103', '104', '105']);
    expect(reportRequests().map((r) => r.query.get('pageToken'))).toEqual([null, 'page-1', 'page-1', 'page-2']);
  });

  it('asks again for the last hour, however recent its position, and hands out no activity twice', async () => {
    // Running for hours, quiet for two: the window reaches back to the newest event taken.
    await tokens().set('google', JSON.stringify({ v: 1, at: ago(7200), seen: [`${ago(7200)}|-0`], seenFrom: ago(7200), emails: {} }));
    const feed = feedOf();
    activities().push(adminActivity(ago(60), 'SUSPEND_USER', { USER_EMAIL: 'jose@example.com' }, '-1'));
    const first = await feed.poll();
    expect(first!.keys).toEqual(['102']);
    expect(reportRequests().at(-1)!.query.get('startTime')).toBe(ago(7200));
    await first!.commit();

    // The same activity listed again: nothing new.
    const before = Date.now();
    expect(await feed.poll()).toBeNull();
    const position = JSON.parse((await tokens().get('google'))!) as { at: string; seen: string[]; seenFrom: string };
    expect(position.seen).toEqual([`${ago(60)}|-1`]);
    const asked = Date.parse(reportRequests().at(-1)!.query.get('startTime')!);
    expect(asked).toBeGreaterThanOrEqual(before - 3_600_000);
    expect(asked).toBeLessThanOrEqual(Date.now() - 3_600_000);
    // Listed late: long after the newest event taken, and more than five minutes older than it
    // (Google lists admin events minutes to hours late); another at the same time with its own qualifier.
    activities().push(
      adminActivity(ago(600), 'UNSUSPEND_USER', { USER_EMAIL: 'sus@example.com' }, '-2'),
      adminActivity(ago(60), 'CHANGE_LAST_NAME', { USER_EMAIL: 'kenji@example.com' }, '-3'),
      // Older than the hour asked for: the feed never sees it (the full reconcile does).
      adminActivity(ago(3_700), 'SUSPEND_USER', { USER_EMAIL: 'arch@example.com' }, '-4'),
    );
    const second = await feed.poll();
    expect(sorted(second)).toEqual(['103', '105']);
    await second!.commit();
    expect(await feed.poll()).toBeNull();
    // Remembered as long as a later window can list them, with the position.
    expect((JSON.parse((await tokens().get('google'))!) as { seen: string[] }).seen).toEqual([`${ago(600)}|-2`, `${ago(60)}|-1`, `${ago(60)}|-3`]);
  });

  it('remembers a bounded number of activities: past it, later windows start after the ones it let go', async () => {
    await tokens().set('google', JSON.stringify({ v: 1, at: ago(7200), seen: [], seenFrom: ago(7200), emails: {} }));
    const feed = new GoogleChangeFeed(config(), tokens(), 'google', { pacing: instantRetries(), maxSeen: 2 });
    activities().push(
      adminActivity(ago(300), 'SUSPEND_USER', { USER_EMAIL: 'jose@example.com' }, '-1'),
      adminActivity(ago(200), 'SUSPEND_USER', { USER_EMAIL: 'ada@example.com' }, '-2'),
      adminActivity(ago(100), 'SUSPEND_USER', { USER_EMAIL: 'kenji@example.com' }, '-3'),
    );
    const batch = await feed.poll();
    expect(sorted(batch)).toEqual(['101', '102', '105']);
    await batch!.commit();
    const position = JSON.parse((await tokens().get('google'))!) as { seen: string[]; seenFrom: string };
    expect(position).toMatchObject({ seen: [`${ago(200)}|-2`, `${ago(100)}|-3`], seenFrom: new Date(Date.parse(ago(300)) + 1).toISOString() });
    expect(await feed.poll()).toBeNull();
    expect(reportRequests().at(-1)!.query.get('startTime')).toBe(position.seenFrom);
  });

  it('a position written before seenFrom was kept is read as covering the five minutes before it', async () => {
    await tokens().set('google', JSON.stringify({ v: 1, at: ago(100), seen: [`${ago(100)}|-1`], emails: {} }));
    activities().push(adminActivity(ago(100), 'SUSPEND_USER', { USER_EMAIL: 'jose@example.com' }, '-1'));
    expect(await feedOf().poll()).toBeNull();
    expect(reportRequests().at(-1)!.query.get('startTime')).toBe(new Date(Date.parse(ago(100)) - 300_000).toISOString());
  });

  it('moves its position only on commit; a new instance reads the committed token', async () => {
    const feed = await started();
    activities().push(adminActivity(ago(30), 'SUSPEND_USER', { USER_EMAIL: 'jose@example.com' }));
    const first = await feed.poll();
    expect((await feed.poll())!.keys).toEqual(['102']);
    expect((await feedOf().poll())!.keys).toEqual(['102']);
    await first!.commit();
    expect(await feedOf().poll()).toBeNull();
  });

  it('marks each person with the events that named them: the same until a later event about them, while the position stays', async () => {
    const feed = await started();
    activities().push(adminActivity(ago(30), 'SUSPEND_USER', { USER_EMAIL: 'jose@example.com' }), adminActivity(ago(29), 'CREATE_USER', { USER_EMAIL: 'kenji@example.com' }));
    const first = await feed.poll();
    expect(sorted(first)).toEqual(['102', '105']);
    activities().push(adminActivity(ago(20), 'UNSUSPEND_USER', { USER_EMAIL: 'jose@example.com' }));
    const second = await feed.poll();
    expect(sorted(second)).toEqual(['102', '105']);
    expect(second!.marks!.get('105')).toBe(first!.marks!.get('105'));
    expect(second!.marks!.get('102')).not.toBe(first!.marks!.get('102'));
  });

  it('a deleted person is named from the addresses it resolved before; an address never seen asks for a full reconcile', async () => {
    const feed = await started();
    activities().push(adminActivity(ago(100), 'SUSPEND_USER', { USER_EMAIL: 'jose@example.com' }));
    const suspended = await feed.poll();
    expect(suspended!.keys).toEqual(['102']);
    await suspended!.commit();

    google.directory.users = google.directory.users.filter((u) => u['id'] !== '102' && u['id'] !== '105');
    activities().push(adminActivity(ago(50), 'DELETE_USER', { USER_EMAIL: 'jose@example.com' }));
    const deleted = await feed.poll();
    expect(deleted!.keys).toEqual(['102']);
    expect(deleted!.full).toBeUndefined();
    await deleted!.commit();

    activities().push(adminActivity(ago(40), 'DELETE_USER', { USER_EMAIL: 'kenji@example.com' }));
    const unknown = await feed.poll();
    expect(unknown).toMatchObject({ keys: [], full: 'DELETE_USER of kenji@example.com: no such user now, and the address was not seen before' });
  });

  it('group membership events name the member when groups are read; an outside member or a renamed group asks for a full reconcile', async () => {
    const withoutGroups = await started();
    activities().push(adminActivity(ago(100), 'ADD_GROUP_MEMBER', { USER_EMAIL: 'kenji@example.com', GROUP_EMAIL: 'eng@example.com' }));
    const ignored = await withoutGroups.poll();
    expect(ignored).toMatchObject({ keys: [], description: expect.stringMatching(/none about the people or groups read$/) });
    expect(ignored!.full).toBeUndefined();
    // Committing an empty batch moves the position past those events.
    await ignored!.commit();
    expect(await withoutGroups.poll()).toBeNull();

    rmSync(stateDir, { recursive: true, force: true });
    const feed = await started({ groups: { enabled: true } });
    expect((await feed.poll())!.keys).toEqual(['105']);
    activities().push(adminActivity(ago(90), 'ADD_GROUP_MEMBER', { USER_EMAIL: 'guest@partner.example', GROUP_EMAIL: 'eng@example.com' }));
    expect((await feed.poll())!.full).toBe('ADD_GROUP_MEMBER of guest@partner.example: not a person of the directory (a nested group or an outside address)');
    activities().splice(-1, 1, adminActivity(ago(90), 'CHANGE_GROUP_NAME', { GROUP_EMAIL: 'eng@example.com', NEW_VALUE: 'Engineers' }));
    expect((await feed.poll())!.full).toBe("CHANGE_GROUP_NAME of eng@example.com: the group's members all change");
  });

  it('someone removed from a group asks for a full reconcile: read alone, a person comes only with the groups they are in now', async () => {
    const feed = await started({ groups: { enabled: true } });
    google.directory.members['g1'] = google.directory.members['g1']!.filter((m) => m['id'] !== '102');
    activities().push(
      adminActivity(ago(100), 'SUSPEND_USER', { USER_EMAIL: 'kenji@example.com' }),
      adminActivity(ago(90), 'REMOVE_GROUP_MEMBER', { USER_EMAIL: 'jose@example.com', GROUP_EMAIL: 'eng@example.com' }),
    );
    const batch = await feed.poll();
    expect(batch).toMatchObject({ keys: [], full: 'REMOVE_GROUP_MEMBER of jose@example.com from eng@example.com: only a full read sees the group someone left' });
    // Its commit (after the reconcile) moves past both: the reconcile covered the suspension too.
    await batch!.commit();
    expect(await feed.poll()).toBeNull();
  });

  it("another customer's address (Google answers 403 or 400, not 404) is no person of the directory; refused for every user, the poll fails", async () => {
    const feed = await started({ groups: { enabled: true } });
    const get = (email: string) => `/admin/directory/v1/users/${encodeURIComponent(email)}`;
    activities().push(
      adminActivity(ago(100), 'ADD_GROUP_MEMBER', { USER_EMAIL: 'guest@gmail.com', GROUP_EMAIL: 'eng@example.com' }),
      adminActivity(ago(90), 'SUSPEND_USER', { USER_EMAIL: 'jose@example.com' }),
    );
    const guest = await feed.poll();
    expect(guest).toMatchObject({ keys: [], full: 'ADD_GROUP_MEMBER of guest@gmail.com: not a person of the directory (a nested group or an outside address)' });
    await guest!.commit();
    expect(await feed.poll()).toBeNull();

    // Alone in its pass: a page of users shows the refusal is about the address, not us.
    google.faults.push({ path: get('odd@example.com'), page: 0, status: 400, reason: 'badRequest', times: 1 });
    activities().push(adminActivity(ago(80), 'ADD_GROUP_MEMBER', { USER_EMAIL: 'odd@example.com', GROUP_EMAIL: 'eng@example.com' }));
    const odd = await feed.poll();
    expect(odd!.full).toBe('ADD_GROUP_MEMBER of odd@example.com: not a person of the directory (a nested group or an outside address)');
    expect(google.requests.at(-1)).toMatchObject({ path: '/admin/directory/v1/users' });
    await odd!.commit();

    // Our own credentials refused: loud, every poll, and the position stays.
    google.faults.push({ path: '/admin/directory/v1/users', page: 0, status: 403, times: Infinity });
    activities().push(adminActivity(ago(70), 'ADD_GROUP_MEMBER', { USER_EMAIL: 'guest2@gmail.com', GROUP_EMAIL: 'eng@example.com' }));
    await expect(feed.poll()).rejects.toThrow(
      new SourceError(
        `Google Workspace: ${ADMIN} may not read users, it seems: the lookup of guest2@gmail.com (HTTP 403: Not Authorized to access this resource/api) was refused, ` +
          'and so was a page of users: Google Workspace: GET /admin/directory/v1/users: HTTP 403: Not Authorized to access this resource/api',
      ),
    );
    google.faults.length = 0;
    // A 403 for a spent quota is waited out; one for a missing scope is no answer about the address.
    google.faults.push({ path: get('guest2@gmail.com'), page: 0, status: 403, reason: 'insufficientPermissions', times: 1 });
    await expect(feed.poll()).rejects.toThrow(/users\/guest2%40gmail\.com: HTTP 403: Request had insufficient authentication scopes\.$/);
    google.faults.push({ path: get('guest2@gmail.com'), page: 0, status: 403, reason: 'userRateLimitExceeded', times: 1 });
    expect((await feed.poll())!.full).toMatch(/^ADD_GROUP_MEMBER of guest2@gmail.com: not a person/);
  });

  it('more people in one pass than it looks up asks for a full reconcile; a report it cannot read throws a SourceError', async () => {
    const feed = await started();
    for (let i = 0; i <= MAX_PEOPLE; i++) activities().push(adminActivity(ago(100), 'CREATE_USER', { USER_EMAIL: `new${i}@example.com` }));
    google.pageSize = 1000;
    const bulk = await feed.poll();
    expect(bulk!.full).toMatch(new RegExp(`name ${MAX_PEOPLE + 1} addresses, more than ${MAX_PEOPLE}: one full read is cheaper$`));
    expect(google.requests.filter((r) => r.path.startsWith('/admin/directory/'))).toHaveLength(0);

    google.faults.push({ path: ACTIVITIES_PATH, page: 0, status: 403, times: Infinity });
    await expect(feed.poll()).rejects.toThrow(SourceError);
  });
});

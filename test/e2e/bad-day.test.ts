/**
 * A bad day at the source or a stale plan must not become damage in the app (issue: Trust, part 1).
 * Each case runs the CLI against the sandbox over HTTP and asserts the writes the target received.
 */
import { existsSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { editPlan, Harness, peopleCsv, person, TOKEN, type Person } from '../support/harness.js';
import { readLinkTables, writeLinkTables } from '../support/links-file.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

function audit(): Record<string, unknown>[] {
  return readFileSync(join(h.dir, 'state', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A row whose key repeats an earlier one: an invalid record that holds that person. */
function withDuplicateOf(people: readonly Person[], key: string): string {
  const dup = people.find((p) => p.id === key)!;
  return peopleCsv([...people, { ...dup, title: 'Somebody else' }]);
}

async function synced(people: readonly Person[], safety = ''): Promise<void> {
  h = await Harness.synced(people, { safety });
}

const writes = () => h.writes().map((w) => `${w.method} ${w.path}`);

describe('a dirty read deprovisions nobody', () => {
  const team = Array.from({ length: 20 }, (_, i) => person(i + 1, { groups: ['eng'], manager: i === 0 ? '' : 'E1001' }));

  it('holds every deactivation while any record is invalid; creates and updates still go; exit 1', async () => {
    await synced(team, '  maxInvalidRecordsPercent: 50');
    // Five people vanish from the read (as rows swallowed by a broken quote would), one row is bad,
    // one person changes title and one joins.
    const read = [...team.slice(0, 15).map((p) => (p.id === 'E1002' ? { ...p, title: 'Lead' } : p)), person(30, { groups: ['eng'], manager: 'E1001' })];
    writeFileSync(h.csv, withDuplicateOf(read, 'E1003'));
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(1);
    expect(r.out).toMatch(/held, not applied: 5 to deprovision: the source read reported 1 invalid record/);
    const sent = writes();
    expect(sent.filter((w) => w.startsWith('POST /Users'))).toHaveLength(1);
    expect(sent.filter((w) => w.startsWith('PATCH /Users')).length).toBeGreaterThanOrEqual(1);
    // Nobody deactivated, nobody taken out of a group, no manager reference cleared.
    const gone = ['user16@example.com', 'user17@example.com', 'user18@example.com', 'user19@example.com', 'user20@example.com'];
    for (const userName of gone) expect(h.sandbox.store.findUserByUserName(userName)!['active']).toBe(true);
    for (const q of h.sandbox.requests.filter((q) => q.method === 'PATCH' && q.path.startsWith('/Groups'))) {
      expect(JSON.stringify(q.body)).not.toContain('"op":"remove"');
    }
    const patches = h.sandbox.requests.filter((q) => q.method === 'PATCH' && q.path.startsWith('/Users'));
    for (const q of patches) expect(JSON.stringify(q.body)).not.toMatch(/"active"|"remove"/);

    // A clean read lets them go.
    h.sandbox.clearRequests();
    h.writePeople(read);
    const clean = await h.run('--override-safety');
    expect(clean.code, clean.err + clean.out).toBe(0);
    for (const userName of gone) expect(h.sandbox.store.findUserByUserName(userName)!['active']).toBe(false);
  });

  it('can be turned off (safety.holdDeprovisionsOnInvalidRecords: false)', async () => {
    await synced(team, '  maxInvalidRecordsPercent: 50\n  holdDeprovisionsOnInvalidRecords: false');
    writeFileSync(h.csv, withDuplicateOf(team.slice(0, 19), 'E1003'));
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(0);
    expect(h.sandbox.store.findUserByUserName('user20@example.com')!['active']).toBe(false);
  });
});

describe('a key spelled differently', () => {
  it('a person whose key only changed case is not deactivated as a leaver; the plan says how to carry the account over', async () => {
    const team = Array.from({ length: 10 }, (_, i) => person(i + 1));
    await synced(team);
    h.writePeople(team.map((p) => (p.id === 'E1002' ? { ...p, id: 'e1002' } : p)));
    const r = await h.run();
    expect(r.out + r.err).toMatch(/E1002 has left the source and e1002, new in it, has its userName "user2@example\.com": the same person under a key spelled differently\? Not deprovisioned/);
    expect(writes()).toEqual([]);
    expect(h.sandbox.store.findUserByUserName('user2@example.com')!['active']).toBe(true);
    // A real leaver beside it still leaves.
    h.writePeople(team.filter((p) => p.id !== 'E1003').map((p) => (p.id === 'E1002' ? { ...p, id: 'e1002' } : p)));
    expect((await h.run()).code).toBe(0);
    expect(h.sandbox.store.findUserByUserName('user3@example.com')!['active']).toBe(false);
    expect(h.sandbox.store.findUserByUserName('user2@example.com')!['active']).toBe(true);
    // As the plan says: the account takes the new key in the app, and the next cycle carries it over.
    const account = h.sandbox.store.findUserByUserName('user2@example.com')!;
    h.sandbox.store.updateUser(account['id'] as string, { externalId: 'e1002' });
    h.sandbox.clearRequests();
    const over = await h.run();
    expect(over.code, over.err + over.out).toBe(0);
    expect(over.out).toMatch(/= link +user2@example\.com \(e1002\) -> id .* \(already matches; takes it from E1002, gone from the source\)/);
    expect(over.out + over.err).not.toMatch(/stale|has left the source/);
    const after = await h.run();
    expect(after.out + after.err).not.toMatch(/E1002|e1002/);
    expect(h.sandbox.store.findUserByUserName('user2@example.com')!['active']).toBe(true);
    expect(writes().filter((w) => w.startsWith('PATCH') || w.startsWith('POST'))).toEqual([]);
  });
});

describe('a group read cut short takes nobody out of their groups', () => {
  const team = Array.from({ length: 30 }, (_, i) => person(i + 1, { groups: i % 2 === 0 ? ['eng', 'all'] : ['ops', 'all'] }));
  const groupRemovals = () => h.sandbox.requests.filter((q) => q.method !== 'GET' && q.path.startsWith('/Groups') && /"op":"remove"|"members":\[\]/.test(JSON.stringify(q.body)));

  it('an export whose group column came out cut stops the run: nobody is taken out of their groups; an override lets it through', async () => {
    await synced(team);
    // Only the first two rows kept their groups beyond "all" (as a column cut by a bad export would).
    h.writePeople(team.map((p, i) => (i < 2 ? p : { ...p, groups: ['all'] })));
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(3);
    expect(r.err + r.out).toMatch(/target app: 28 of 60 group memberships would be removed, from 2 groups \((eng, ops|ops, eng)\) \(46\.7%, limit 30%\)/);
    expect(writes()).toEqual([]);
    const all = h.sandbox.store.findGroupByDisplayName('all')!;
    expect(all['members']).toHaveLength(30);
    const forced = await h.run('--override-safety');
    expect(forced.code, forced.err + forced.out).toBe(0);
    expect(groupRemovals().length).toBeGreaterThan(0);
  });

  it('a groups column read blank for everyone deletes no group: their members count as removed, and the run stops (review G-A)', async () => {
    const three = Array.from({ length: 30 }, (_, i) => person(i + 1, { groups: ['admins', 'eng', 'ops'] }));
    await synced(three);
    const before = h.sandbox.store.groups().map((g) => g['id']);
    expect(before).toHaveLength(3);
    // Three deletions alone pass safety.alwaysAllowDeactivations: the 90 memberships they take do not.
    h.writePeople(three.map((p) => ({ ...p, groups: [] })));
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(3);
    expect(r.out).toContain('- delete group admins (admins): gone from the source, 30 members removed with it');
    expect(r.err + r.out).toMatch(/target app: 90 of 90 group memberships would be removed, from 3 groups \(admins, eng, ops\), 90 of them with the 3 groups deleted \(100\.0%, limit 30%\)/);
    expect(writes()).toEqual([]);
    expect(h.sandbox.store.groups().map((g) => [g['id'], (g['members'] as unknown[]).length])).toEqual(before.map((id) => [id, 30]));
  });

  it('a reorganisation that moves a few people between groups passes', async () => {
    await synced(team);
    h.writePeople(team.map((p, i) => (i < 6 ? { ...p, groups: ['ops', 'all'] } : p)));
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(0);
  });

  it('a dirty read on a target without PATCH keeps the people it lost in their groups, as PATCH does', async () => {
    h = await Harness.synced(team, { safety: '  maxInvalidRecordsPercent: 50', target: '    updateMethod: put' });
    // Two people lost from a broken read, one new member of eng: eng is replaced whole.
    writeFileSync(h.csv, withDuplicateOf([...team.slice(0, 28), person(40, { groups: ['eng', 'all'] })], 'E1003'));
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(1);
    const puts = h.sandbox.requests.filter((q) => q.method === 'PUT' && q.path.startsWith('/Groups'));
    expect(puts.length).toBeGreaterThan(0);
    const ids = (userName: string) => h.sandbox.store.findUserByUserName(userName)!['id'];
    for (const g of h.sandbox.store.groups()) {
      const members = (g['members'] as { value: string }[]).map((m) => m.value);
      if (g['displayName'] === 'eng' || g['displayName'] === 'all') expect(members).toContain(ids('user29@example.com'));
      if (g['displayName'] === 'ops' || g['displayName'] === 'all') expect(members).toContain(ids('user30@example.com'));
    }
    expect((h.sandbox.store.findGroupByDisplayName('all')!['members'] as unknown[]).length).toBe(31);
  });
});

describe('held means held everywhere', () => {
  it("a held manager's direct reports keep their manager reference", async () => {
    const people = [person(1), person(2, { manager: 'E1001' }), person(3, { manager: 'E1002' }), person(4, { manager: 'E1002' })];
    // Without the dirty-read hold, to see the rule for held people on its own.
    await synced(people, '  maxInvalidRecordsPercent: 50\n  holdDeprovisionsOnInvalidRecords: false');
    const managerId = h.sandbox.store.findUserByUserName('user2@example.com')!['id'];
    writeFileSync(h.csv, withDuplicateOf(people, 'E1002'));
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(0);
    expect(writes()).toEqual([]);
    const ent = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
    for (const userName of ['user3@example.com', 'user4@example.com']) {
      expect((h.sandbox.store.findUserByUserName(userName)![ent] as { manager: { value: string } }).manager.value).toBe(managerId);
    }
  });
});

describe('the safety share is a share of what exists', () => {
  const forty = Array.from({ length: 40 }, (_, i) => person(i + 1));

  it('accounts deleted by hand are not counted, not PATCHed, and their links are dropped', async () => {
    await synced(forty);
    const removed = forty.slice(35);
    for (const p of removed) h.sandbox.store.deleteUser(h.sandbox.store.findUserByUserName(p.email!)!['id'] as string);
    h.writePeople(forty.slice(0, 35));
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(0);
    expect(writes()).toEqual([]);
    const reads = h.sandbox.requests.filter((q) => q.method === 'GET' && /^\/Users\/./.test(q.path));
    expect(reads.map((q) => q.status)).toEqual([404, 404, 404, 404, 404]);
    expect(r.out).toMatch(/deprovisioned 0 \(5 already done\)/);
    expect(r.out).toContain('unchanged: already gone from the target; link dropped');
    expect(audit().filter((a) => a['action'] === 'deprovisionUser').map((a) => a['outcome'])).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged', 'unchanged']);
    // The links are gone: the next run asks nothing about them.
    h.sandbox.clearRequests();
    expect((await h.run()).code).toBe(0);
    expect(h.sandbox.requests.filter((q) => /^\/Users\/./.test(q.path))).toEqual([]);
  });

  it('a state pointing at an emptied server is no mass deactivation, and creating everyone again waits for an override', async () => {
    await synced(forty);
    for (const u of h.sandbox.store.users()) h.sandbox.store.deleteUser(u['id'] as string);
    h.writePeople(forty.slice(0, 30));
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(3);
    expect(r.err).not.toMatch(/managed users would be deprovisioned/);
    expect(r.err).toContain('target app: 30 of 30 linked accounts are missing from its listing and would be created again (100.0%, limit 10%)');
    expect(writes()).toEqual([]);
    // The 30 who stay are created again once someone says so; the 10 who left are not deprovisioned on an empty listing's word.
    const o = await h.run('--override-safety');
    expect(o.code, o.err + o.out).toBe(0);
    expect(writes().filter((w) => w.startsWith('PATCH'))).toEqual([]);
    expect(writes().filter((w) => w.startsWith('POST'))).toHaveLength(30);
  });
});

describe('a safety threshold for attribute changes', () => {
  const forty = Array.from({ length: 40 }, (_, i) => person(i + 1));

  it('a 40% title change stops with exit 3, naming the attribute and an example; the override applies it, audited', async () => {
    await synced(forty);
    h.writePeople(forty.map((p, i) => (i < 16 ? { ...p, title: '' } : p)));
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(3);
    expect(r.err).toMatch(/target app: title would change on 16 of 40 managed users \(40\.0%, limit 30%; 16 cleared\), e\.g\. user1@example\.com: "Engineer" -> null/);
    expect(writes()).toEqual([]);
    const o = await h.run('--override-safety');
    expect(o.code, o.err + o.out).toBe(0);
    expect(writes().filter((w) => w.startsWith('PATCH /Users'))).toHaveLength(16);
    expect(audit().some((a) => a['action'] === 'safety.override' && String(a['note']).includes('title would change on 16'))).toBe(true);
  });

  it('a small change passes', async () => {
    await synced(forty);
    h.writePeople(forty.map((p, i) => (i < 10 ? { ...p, title: 'Lead' } : p)));
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(0);
    expect(writes()).toHaveLength(10);
  });
});

describe('plans are bound and checked', () => {
  const five = Array.from({ length: 5 }, (_, i) => person(i + 1));
  const planFile = () => join(h.dir, 'plan.json');
  const plan = async () => {
    const r = await h.cli('plan', '--config', h.configFile, '--out', planFile());
    expect(r.code, r.err + r.out).toBe(0);
    h.sandbox.clearRequests();
  };

  it('--out naming the config, the source file or a file in the state directory is refused before anything is read (exit 2), and the file is left as it was', async () => {
    await synced(five);
    const csv = join(h.dir, 'people.csv');
    const before = [readFileSync(h.configFile, 'utf8'), readFileSync(csv, 'utf8')];
    for (const out of [h.configFile, csv, join(h.dir, 'state', 'links.json')]) {
      const r = await h.cli('plan', '--config', h.configFile, '--out', out);
      expect({ code: r.code, err: r.err }).toEqual({ code: 2, err: expect.stringMatching(/--out .* (is .*which the plan is made from or kept with|is inside the state directory)/) });
    }
    expect([readFileSync(h.configFile, 'utf8'), readFileSync(csv, 'utf8')]).toEqual(before);
    // A state directory that is a symlink, and a file not made yet in it; an audit log kept elsewhere, per host.
    renameSync(join(h.dir, 'state'), join(h.dir, 'real-state'));
    symlinkSync(join(h.dir, 'real-state'), join(h.dir, 'state'));
    writeFileSync(h.configFile, `${readFileSync(h.configFile, 'utf8')}audit: { file: "logs/audit-{host}.jsonl" }\n`);
    expect((await h.run()).code).toBe(0);
    const hostLog = readdirSync(join(h.dir, 'logs')).find((f) => f.startsWith('audit-'))!;
    for (const out of [join(h.dir, 'state', 'new-plan.json'), join(h.dir, 'logs', hostLog)]) {
      const r = await h.cli('plan', '--config', h.configFile, '--out', out);
      expect({ code: r.code, err: r.err }).toEqual({ code: 2, err: expect.stringMatching(/--out .* (is .*which the plan is made from or kept with|is inside the state directory)/) });
    }
    expect(existsSync(join(h.dir, 'real-state', 'new-plan.json'))).toBe(false);
  });

  it('a deactivation planned before the source re-activated the person is stale: not applied', async () => {
    await synced(five);
    h.writePeople(five.map((p) => (p.id === 'E1003' ? { ...p, status: 'terminated' } : p)));
    await plan();
    h.writePeople(five);
    const r = await h.cli('apply', planFile(), '--config', h.configFile);
    // Not everything planned was done: exit 1, and the report says why.
    expect(r.code, r.err + r.out).toBe(1);
    expect(writes()).toEqual([]);
    expect(h.sandbox.store.findUserByUserName('user3@example.com')!['active']).toBe(true);
    expect(r.out).toMatch(/deprovisionUser user3@example\.com \(E1003\): skipped: stale: the source record changed since the plan was made/);
    expect(audit().find((a) => a['action'] === 'deprovisionUser')).toMatchObject({ outcome: 'skipped', note: expect.stringContaining('stale') });
  });

  it('an account edited by hand after the plan: the update is stale, the hand edit is not overwritten blindly', async () => {
    await synced(five);
    h.writePeople(five.map((p) => (p.id === 'E1002' ? { ...p, title: 'Lead' } : p)));
    await plan();
    const id = h.sandbox.store.findUserByUserName('user2@example.com')!['id'] as string;
    h.sandbox.store.patchUser(id, [{ op: 'replace', path: 'displayName', value: 'Changed by hand' }]);
    const r = await h.cli('apply', planFile(), '--config', h.configFile);
    expect(r.code, r.err + r.out).toBe(1);
    expect(writes()).toEqual([]);
    expect(r.out).toMatch(/skipped: stale: the account changed in the target since the plan was made/);
    // The next run plans it afresh, and the source wins.
    expect((await h.run()).code).toBe(0);
    expect(h.sandbox.store.findUserByUserName('user2@example.com')!['title']).toBe('Lead');
  });

  it('a plan applied twice: the second apply writes nothing and says "already in place", not "created"', async () => {
    h = await Harness.start();
    h.writePeople(five);
    await plan();
    const first = await h.cli('apply', planFile(), '--config', h.configFile);
    expect(first.code, first.err + first.out).toBe(0);
    expect(first.out).toMatch(/created 5/);
    h.sandbox.clearRequests();
    const again = await h.cli('apply', planFile(), '--config', h.configFile);
    expect(again.code, again.err + again.out).toBe(0);
    expect(writes()).toEqual([]);
    expect(again.out).toMatch(/created 0 \(5 already done\)/);
    expect(again.out).toMatch(/unchanged: already in place: the target already shows this change/);
  });

  it('a plan made for another server is refused (exit 2) before any request', async () => {
    await synced(five);
    h.writePeople(five.slice(0, 4));
    await plan();
    const other = await Harness.start();
    try {
      // Same target name, another URL.
      writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace(h.sandbox.url, other.sandbox.url));
      const r = await h.cli('apply', planFile(), '--config', h.configFile);
      expect(r.code, r.err + r.out).toBe(2);
      expect(r.err).toMatch(/was made for another configuration/);
      expect(r.err).toContain(`target app: the plan was made for ${h.sandbox.url}`);
      expect(h.sandbox.requests).toEqual([]);
      expect(other.sandbox.requests).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('a plan made with another credential than the config gives now (the same reference, another value) is refused (exit 2) before any request', async () => {
    // The token read from a file, as prod's and staging's deployments each hold their own.
    h = await Harness.start();
    writeFileSync(join(h.dir, 'token'), TOKEN, { mode: 0o600 });
    writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('"${env:TEST_SCIM_TOKEN}"', '"${file:token}"'));
    h.writePeople(five);
    await plan();
    const saved = readFileSync(planFile(), 'utf8');
    expect(saved).not.toContain(TOKEN);
    // Another installation's token (or one rotated since) in the same file.
    const other = 'another-tenant-token-77e1c0';
    writeFileSync(join(h.dir, 'token'), other);
    const r = await h.cli('apply', planFile(), '--config', h.configFile);
    expect(r.code, r.err + r.out).toBe(2);
    expect(r.err).toMatch(/was made for another configuration/);
    expect(r.err).toContain(`target app: the plan was made with another token than ${h.configFile} gives now (${h.sandbox.url} (bearer, token from file:token))`);
    expect(r.err).not.toContain(other);
    expect(h.sandbox.requests).toEqual([]);
    // The token it was made with again: applied.
    writeFileSync(join(h.dir, 'token'), TOKEN);
    expect((await h.cli('apply', planFile(), '--config', h.configFile)).code).toBe(0);
    expect(h.sandbox.store.users()).toHaveLength(5);
  });

  it('a plan saved before credentials were recorded is held to the rest of its binding, and applies', async () => {
    h = await Harness.start();
    h.writePeople(five);
    await plan();
    editPlan(planFile(), (saved) => {
      delete saved.binding.targets['app']!.credential;
    });
    const r = await h.cli('apply', planFile(), '--config', h.configFile);
    expect(r.code, r.err + r.out).toBe(0);
    expect(h.sandbox.store.users()).toHaveLength(5);
  });

  it('an expired plan is refused (exit 2)', async () => {
    await synced(five);
    await plan();
    editPlan(planFile(), (saved) => ({ ...saved, expiresAt: new Date(Date.now() - 1000).toISOString() }));
    const r = await h.cli('apply', planFile(), '--config', h.configFile);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/expired at .*safety\.planMaxAgeHours/);
    expect(h.sandbox.requests).toEqual([]);
  });

  it('a plan changed after it was made (a PATCH value edited, its changes left as reviewed) is refused (exit 2); so is one without its digest', async () => {
    await synced(five);
    h.writePeople(five.map((p) => (p.id === 'E1003' ? { ...p, title: 'Lead Engineer' } : p)));
    await plan();
    const text = readFileSync(planFile(), 'utf8');
    expect(text).toContain('"value": "Lead Engineer"');
    writeFileSync(planFile(), text.replace('"value": "Lead Engineer"', '"value": "Chief Executive Officer"'));
    const edited = await h.cli('apply', planFile(), '--config', h.configFile);
    expect({ code: edited.code, err: edited.err }).toEqual({ code: 2, err: expect.stringContaining('was changed after it was made') });
    const { digest: _digest, ...undigested } = JSON.parse(text) as Record<string, unknown>;
    writeFileSync(planFile(), JSON.stringify(undigested));
    const bare = await h.cli('apply', planFile(), '--config', h.configFile);
    expect({ code: bare.code, err: bare.err }).toEqual({ code: 2, err: expect.stringContaining('has no digest') });
    expect(h.sandbox.requests).toEqual([]);
    writeFileSync(planFile(), text);
    expect((await h.cli('apply', planFile(), '--config', h.configFile)).code).toBe(0);
    expect(h.sandbox.store.findUserByUserName('user3@example.com')!['title']).toBe('Lead Engineer');
  });

  it('a plan older than today\'s safety.planMaxAgeHours, made in the future, or with a time that does not parse, is refused (exit 2)', async () => {
    await synced(five);
    await plan();
    const tries: [{ createdAt?: string; expiresAt?: string }, RegExp][] = [
      // Made two hours ago with a longer limit; the config now keeps plans one hour.
      [{ createdAt: new Date(Date.now() - 2 * 3_600_000).toISOString() }, /expired at .*plans are kept 1 h, safety\.planMaxAgeHours/],
      [{ createdAt: new Date(Date.now() + 3_600_000).toISOString() }, /says it was made at .*, in the future/],
      [{ expiresAt: 'garbage' }, /expiresAt "garbage" is not a time/],
    ];
    writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace(/^safety:\n/m, 'safety:\n  planMaxAgeHours: 1\n'));
    expect(readFileSync(h.configFile, 'utf8')).toContain('planMaxAgeHours: 1');
    const made = readFileSync(planFile(), 'utf8');
    for (const [edit, message] of tries) {
      writeFileSync(planFile(), made);
      editPlan(planFile(), (saved) => ({ ...saved, ...edit }));
      const r = await h.cli('apply', planFile(), '--config', h.configFile);
      expect({ code: r.code, err: r.err }).toEqual({ code: 2, err: expect.stringMatching(message) });
    }
    expect(h.sandbox.requests).toEqual([]);
  });
});

describe('a lost create answer on a server that refuses the userName filter', () => {
  it('finds its own account by externalId, then by the listing, instead of failing', async () => {
    h = await Harness.start({ target: '    timeoutMs: 400\n    retries: 3' });
    const tricky = '"o\\"brien"@example.com';
    h.writePeople([person(1, { email: tricky })]);
    // The listing of the plan passes; the create commits but its answer is lost; both filtered
    // lookups answer 400; the listing finds the account.
    h.sandbox.addFault({ method: 'GET', path: '/Users', times: 1, action: { type: 'delay', ms: 0 } });
    h.sandbox.addFault({ method: 'POST', path: '/Users', times: 1, when: 'after', action: { type: 'hang' } });
    h.sandbox.addFault({ method: 'GET', path: '/Users', times: 2, action: { type: 'status', status: 400, detail: 'invalid filter' } });
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(0);
    expect(h.sandbox.store.users()).toHaveLength(1);
    expect(h.sandbox.requests.filter((q) => q.method === 'POST')).toHaveLength(1);
    const lookups = h.sandbox.requests.filter((q) => q.method === 'GET' && q.path === '/Users').map((q) => `${new URLSearchParams(q.query).get('filter') ?? 'list'} ${q.status}`);
    expect(lookups).toEqual(['list 200', `userName eq ${JSON.stringify(tricky)} 400`, 'externalId eq "E1001" 400', 'list 200']);
    expect(audit().find((a) => a['action'] === 'createUser')).toMatchObject({ outcome: 'ok', note: 'created (confirmed after a lost answer)' });
  });
});

describe('a link that names another person\'s account (state copied, restored or edited)', () => {
  const linksFile = () => join(h.dir, 'state', 'links.json');
  const editLinks = (edit: (users: Record<string, { id: string }>) => void) => {
    const tables = readLinkTables(linksFile());
    edit(tables['app/user']!);
    writeLinkTables(linksFile(), tables);
  };
  const idOf = (n: number) => String(h.sandbox.store.findUserByUserName(`user${n}@example.com`)!['id']);

  it('a leaver whose link names an active colleague\'s account deactivates no one', async () => {
    const four = [person(1), person(2), person(3), person(4)];
    await synced(four);
    editLinks((users) => (users['E1004']!.id = idOf(3)));
    h.writePeople(four.slice(0, 3));
    h.sandbox.clearRequests();
    const r = await h.run();
    expect(r.out).toContain(`E1004: its link names account ${idOf(3)}, which carries the externalId of E1003, also in the source: the link is not used`);
    expect(h.writes().filter((w) => w.path === `/Users/${idOf(3)}`)).toEqual([]);
    expect(h.sandbox.store.findUserByUserName('user3@example.com')!['active']).toBe(true);
    // The leaver's own account, found by their key, is the one deactivated.
    expect(h.sandbox.store.findUserByUserName('user4@example.com')!['active']).toBe(false);
  });

  it('a leaver whose own account is gone and whose link names a colleague\'s deactivates no one', async () => {
    const four = [person(1), person(2), person(3), person(4)];
    await synced(four);
    h.sandbox.store.deleteUser(idOf(4));
    editLinks((users) => (users['E1004']!.id = idOf(3)));
    h.writePeople(four.slice(0, 3));
    h.sandbox.clearRequests();
    const r = await h.run();
    expect(r.out).toContain(`E1004: its link names account ${idOf(3)}, which carries the externalId of E1003, also in the source: the link is not used`);
    expect(r.out).not.toMatch(/deactivate .*\(E1004\)/);
    expect(h.writes()).toEqual([]);
    expect(h.sandbox.store.findUserByUserName('user3@example.com')!['active']).toBe(true);
  });

  it('without an externalId on the accounts, a leaver\'s link to a colleague\'s account still deactivates no one', async () => {
    const four = [person(1), person(2), person(3), person(4)];
    await synced(four);
    // An app that keeps no externalId: only the link says whose an account is.
    for (const u of h.sandbox.store.users()) h.sandbox.store.patchUser(String(u['id']), [{ op: 'remove', path: 'externalId' }]);
    editLinks((users) => (users['E1004']!.id = idOf(3)));
    h.writePeople(four.slice(0, 3));
    h.sandbox.clearRequests();
    const r = await h.run();
    expect(r.out).toContain(`E1004 has left the source, but its link names account ${idOf(3)}, which is the account of someone in the source: not deprovisioned`);
    expect(JSON.stringify(h.writes().filter((w) => w.path === `/Users/${idOf(3)}`))).not.toContain('"active"');
    expect(h.sandbox.store.findUserByUserName('user3@example.com')!['active']).toBe(true);
  });

  it('two swapped links rewrite neither account with the other\'s name', async () => {
    const three = [person(1), person(2), person(3)];
    await synced(three);
    const [one, two] = [idOf(1), idOf(2)];
    editLinks((users) => {
      users['E1001']!.id = two;
      users['E1002']!.id = one;
    });
    h.sandbox.clearRequests();
    const r = await h.run();
    expect(r.out).toContain(`E1001: its link names account ${two}, which carries the externalId of E1002, also in the source: the link is not used`);
    expect(h.writes()).toEqual([]);
    expect(h.sandbox.store.findUserByUserName('user1@example.com')!['externalId']).toBe('E1001');
    expect(h.sandbox.store.findUserByUserName('user2@example.com')!['externalId']).toBe('E1002');
  });
});

describe('an update whose account is gone by its id', () => {
  it('re-creates it, and on a conflict with its own account (keyed to the person) takes that account instead of failing', async () => {
    const three = [person(1), person(2), person(3)];
    await synced(three);
    h.writePeople(three.map((p) => (p.id === 'E1002' ? { ...p, title: 'Director' } : p)));
    h.sandbox.clearRequests();
    // Neither the PATCH nor a read finds an account by the id the plan has (a stale link); the account is there all the same.
    h.sandbox.addFault({ method: 'PATCH', path: '/Users/', times: 1, action: { type: 'status', status: 404, detail: 'Resource not found' } });
    h.sandbox.addFault({ method: 'GET', path: '/Users/', times: 1, action: { type: 'status', status: 404, detail: 'Resource not found' } });
    const r = await h.run();
    expect(r.code, r.out + r.err).toBe(0);
    expect(h.writes().map((w) => w.method)).toEqual(['PATCH', 'POST', 'PUT']);
    const accounts = h.sandbox.store.users().filter((u) => u['externalId'] === 'E1002');
    expect(accounts).toHaveLength(1);
    expect(accounts[0]).toMatchObject({ title: 'Director', active: true });
    expect((await h.run()).out).toContain('no changes');
  });
});

describe('human output is safe to print', () => {
  it('repeated warnings are summarised; --json keeps every one', async () => {
    const people = Array.from({ length: 20 }, (_, i) => person(i + 1, { manager: `E${9000 + i}` }));
    h = await Harness.start();
    h.writePeople(people);
    const r = await h.cli('plan', '--config', h.configFile);
    expect(r.code, r.err + r.out).toBe(0);
    const lines = r.out.split('\n').filter((l) => l.includes('is not provisioned in this target'));
    expect(lines).toHaveLength(3);
    expect(r.out).toContain('... and 17 more like the above');
    const json = await h.cli('plan', '--config', h.configFile, '--json');
    const warnings = (JSON.parse(json.out) as { targets: { warnings: string[] }[] }).targets[0]!.warnings;
    expect(warnings.filter((w) => w.includes('is not provisioned'))).toHaveLength(20);
  });

  it('terminal escapes from the source or the server are shown escaped, and huge values are shortened', async () => {
    h = await Harness.start();
    h.writePeople([person(1), person(2, { title: 'x'.repeat(1_000_000) })]);
    expect((await h.run('--override-safety')).code).toBeLessThan(2);
    // A server that answers with terminal escapes in a warning-bearing value: an account we do not
    // manage holding the userName a source person wants.
    h.sandbox.store.createUser({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'user3@example.com', externalId: 'other\u001b[2J\u001b[Hhidden', active: true });
    h.writePeople([person(1), person(2, { title: 'y'.repeat(1_000_000) }), person(3, { first: 'Gus\u001b]0;pwned\u0007' })]);
    const r = await h.cli('plan', '--config', h.configFile);
    for (const text of [r.out, r.err]) {
      expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
      for (const line of text.split('\n')) expect(line.length).toBeLessThan(2_000);
    }
    expect(r.out).toMatch(/more characters\)/);
  });
});

/**
 * A target taken out of the config keeps its links, and scim-sync no longer deactivates anyone in
 * its app: every plan and run says so (not silent under --quiet), until `forget` drops the links,
 * which it refuses for a target the config still names.
 */
import { afterEach, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { addTarget, Harness, person, TOKEN } from '../support/harness.js';
import { readLinkTables } from '../support/links-file.js';

let h: Harness;
let wiki: Sandbox;
afterEach(async () => {
  await h.close();
  await wiki.close();
});

const people = [person(1), person(2), person(3)];

it('plan and run warn of a removed target until `forget` drops its links; a configured target is refused', async () => {
  h = await Harness.start();
  wiki = await startSandbox({ token: TOKEN });
  const withWiki = () => addTarget(h, 'wiki', wiki);
  h.writePeople(people);
  withWiki();
  expect((await h.run()).code).toBe(0);
  expect(wiki.store.users().length).toBe(3);
  wiki.clearRequests();

  // The wiki target is taken out of the config (rewritten without it).
  h.writeConfig();
  const plan = await h.cli('plan', '--config', h.configFile);
  expect(plan.code).toBe(0);
  expect(plan.out).toContain(`Target wiki: not in ${h.configFile}, but the state links 3 accounts there: scim-sync no longer deactivates anyone in it.`);
  expect(plan.out).toContain(`scim-sync forget --config ${h.configFile} --target wiki`);

  const json = JSON.parse((await h.cli('plan', '--config', h.configFile, '--json')).out) as { unconfiguredTargets?: unknown };
  expect(json.unconfiguredTargets).toEqual([{ target: 'wiki', users: 3, groups: 0 }]);

  const run = await h.run('--quiet');
  expect(run.code).toBe(0);
  expect(run.out).toContain('Target wiki: not in');
  expect(wiki.requests.filter((r) => r.method !== 'GET')).toEqual([]);

  // A target the config names is refused, its links kept.
  const refused = await h.cli('forget', '--config', h.configFile, '--target', 'app');
  expect(refused.code).toBe(2);
  expect(refused.err).toContain('target app is in');
  const unknown = await h.cli('forget', '--config', h.configFile, '--target', 'wikki');
  expect(unknown.code).toBe(2);
  expect(unknown.err).toContain('no links for a target named wikki');

  const forget = await h.cli('forget', '--config', h.configFile, '--target', 'wiki');
  expect({ code: forget.code, err: forget.err }).toEqual({ code: 0, err: '' });
  expect(forget.out).toContain('target wiki: dropped the links of 3 accounts and 0 groups');
  expect(h.audit().filter((r) => r['action'] === 'links.forget')).toEqual([
    expect.objectContaining({ target: 'wiki', outcome: 'info', initiator: 'cli', note: expect.stringContaining('3 accounts') }),
  ]);
  const after = await h.cli('plan', '--config', h.configFile);
  expect(after.out).not.toContain('Target wiki');
  expect((await h.run('--quiet')).out).toBe('');

  // The app target's links are untouched.
  const tables = readLinkTables(`${h.dir}/state/links.json`);
  expect(Object.keys(tables['app/user'] ?? {}).length).toBeGreaterThan(0);
  expect(tables['wiki/user']).toBeUndefined();
});

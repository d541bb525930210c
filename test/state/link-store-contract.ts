/**
 * The LinkStore contract (src/state/link-store.ts), as one suite every store must pass: links are
 * kept per target and kind, set overwrites, delete removes one link, a snapshot is a copy, and
 * what was set survives flush, close and a reopen, whatever characters an externalId holds.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Link, LinkInventory, LinkStore, ResourceKind } from '../../src/state/link-store.js';

/** One place a store keeps its links (a directory, a Redis prefix), opened as often as asked. */
export interface LinkStoreBacking {
  open(): Promise<LinkStore & LinkInventory>;
  /** Removes what the backing made; stores opened on it are closed by the suite first. */
  dispose(): Promise<void>;
}

/** externalIds as sources spell them: DNs, URNs, paths, quotes, escapes, other scripts, whitespace. */
const ODD_KEYS = [
  'CN=Smith\\, John,OU=People,DC=example,DC=com',
  'urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66',
  'a:b:c',
  'people/e 1',
  '"quoted" \'and\' `ticked`',
  'back\\slash',
  'line\nbreak\ttab',
  'Zoë Ærøskøbing 日本 😀',
  ' padded ',
  '*',
  '%2F%00',
  '{"json":[1]}',
];

const link = (n: number | string): Link => ({ id: `scim-${n}`, hash: `hash-${n}` });
const entries = async (store: LinkStore, target: string, kind: ResourceKind) => Object.fromEntries(await store.snapshot(target, kind));

export function linkStoreContract(name: string, makeBacking: () => LinkStoreBacking | Promise<LinkStoreBacking>): void {
  describe(`${name}: the LinkStore contract`, () => {
    let backing: LinkStoreBacking;
    let opened: (LinkStore & LinkInventory)[];
    const open = async () => {
      const store = await backing.open();
      opened.push(store);
      return store;
    };

    beforeEach(async () => {
      backing = await makeBacking();
      opened = [];
    });
    afterEach(async () => {
      for (const store of opened) await store.close();
      await backing.dispose();
    });

    it('a new store is empty', async () => {
      const store = await open();
      expect(await store.get('app', 'user', 'E1')).toBeUndefined();
      expect(await store.snapshot('app', 'user')).toEqual(new Map());
      expect(await store.snapshot('app', 'group')).toEqual(new Map());
    });

    it('set, get and delete keep targets and kinds apart', async () => {
      const store = await open();
      await store.set('app', 'user', 'E1', link('app-user'));
      await store.set('app', 'group', 'E1', link('app-group'));
      await store.set('other', 'user', 'E1', link('other-user'));
      await store.set('app', 'user', 'E2', link(2));
      expect(await store.get('app', 'user', 'E1')).toEqual(link('app-user'));
      expect(await store.get('app', 'group', 'E1')).toEqual(link('app-group'));
      expect(await store.get('other', 'user', 'E1')).toEqual(link('other-user'));
      expect(await store.get('other', 'group', 'E1')).toBeUndefined();
      expect(await entries(store, 'app', 'user')).toEqual({ E1: link('app-user'), E2: link(2) });
      expect(await entries(store, 'app', 'group')).toEqual({ E1: link('app-group') });

      await store.delete('app', 'user', 'E1');
      expect(await store.get('app', 'user', 'E1')).toBeUndefined();
      expect(await entries(store, 'app', 'user')).toEqual({ E2: link(2) });
      expect(await store.get('app', 'group', 'E1')).toEqual(link('app-group'));
      expect(await store.get('other', 'user', 'E1')).toEqual(link('other-user'));
    });

    it('set overwrites; deleting what is not there is no error', async () => {
      const store = await open();
      await store.set('app', 'user', 'E1', link(1));
      await store.set('app', 'user', 'E1', { id: 'scim-1', hash: 'changed' });
      expect(await store.get('app', 'user', 'E1')).toEqual({ id: 'scim-1', hash: 'changed' });
      await store.delete('app', 'user', 'nobody');
      await store.delete('nowhere', 'group', 'E1');
      expect(await entries(store, 'app', 'user')).toEqual({ E1: { id: 'scim-1', hash: 'changed' } });
    });

    it('a snapshot is a copy: changing it changes no link, later sets do not change it', async () => {
      const store = await open();
      await store.set('app', 'user', 'E1', link(1));
      const snapshot = await store.snapshot('app', 'user');
      snapshot.delete('E1');
      snapshot.set('E9', link(9));
      await store.set('app', 'user', 'E2', link(2));
      expect(snapshot).toEqual(new Map([['E9', link(9)]]));
      expect(await entries(store, 'app', 'user')).toEqual({ E1: link(1), E2: link(2) });
    });

    it('flush, close and reopen keep every link and every deletion', async () => {
      const store = await open();
      await store.set('app', 'user', 'E1', link(1));
      await store.set('app', 'user', 'E2', link(2));
      await store.set('app', 'group', 'G1', link('g1'));
      await store.set('crm', 'user', 'E1', link('crm-1'));
      await store.flush();
      await store.delete('app', 'user', 'E2');
      await store.set('app', 'user', 'E3', link(3));
      await store.close();

      const reopened = await open();
      expect(await entries(reopened, 'app', 'user')).toEqual({ E1: link(1), E3: link(3) });
      expect(await entries(reopened, 'app', 'group')).toEqual({ G1: link('g1') });
      expect(await entries(reopened, 'crm', 'user')).toEqual({ E1: link('crm-1') });
      expect(await reopened.get('app', 'user', 'E2')).toBeUndefined();
      await reopened.flush();
      await reopened.close();
      expect(await entries(await open(), 'app', 'user')).toEqual({ E1: link(1), E3: link(3) });
    });

    it('externalIds and values with odd characters come back as they went in', async () => {
      const store = await open();
      for (const [i, key] of ODD_KEYS.entries()) await store.set('app', 'user', key, { id: `${key}#${i}`, hash: `h"${i}\\\n` });
      await store.flush();
      await store.close();
      const reopened = await open();
      const want = Object.fromEntries(ODD_KEYS.map((key, i) => [key, { id: `${key}#${i}`, hash: `h"${i}\\\n` }]));
      expect(await entries(reopened, 'app', 'user')).toEqual(want);
      for (const key of ODD_KEYS) expect(await reopened.get('app', 'user', key)).toEqual(want[key]);
      await reopened.delete('app', 'user', ODD_KEYS[0]!);
      expect(await reopened.get('app', 'user', ODD_KEYS[0]!)).toBeUndefined();
      expect((await reopened.snapshot('app', 'user')).size).toBe(ODD_KEYS.length - 1);
    });

    it('many keys: every one is in the snapshot, before and after a reopen', async () => {
      const n = 5000;
      const store = await open();
      await Promise.all(Array.from({ length: n }, (_, i) => store.set('app', 'user', `E${i}`, link(i))));
      await Promise.all(Array.from({ length: n / 10 }, (_, i) => store.delete('app', 'user', `E${i * 10}`)));
      const want = new Map(Array.from({ length: n }, (_, i) => [`E${i}`, link(i)] as const).filter((_, i) => i % 10 !== 0));
      const sorted = (m: Map<string, Link>) => new Map([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
      expect(sorted(await store.snapshot('app', 'user'))).toEqual(sorted(want));
      await store.flush();
      await store.close();
      expect(sorted(await (await open()).snapshot('app', 'user'))).toEqual(sorted(want));
    });

    it('linkedTargets counts each target\'s links by kind; forgetTarget drops one target\'s, for good', async () => {
      const store = await open();
      for (const n of [1, 2, 3]) await store.set('app', 'user', `E${n}`, link(n));
      await store.set('app', 'group', 'G1', link('g1'));
      await store.set('old-wiki', 'user', 'E1', link('w1'));
      await store.set('old-wiki', 'user', ODD_KEYS[0]!, link('w2'));
      await store.set('old-wiki', 'group', 'G1', link('wg1'));
      await store.set('gone', 'user', 'E9', link(9));
      await store.delete('gone', 'user', 'E9');
      // A target whose links were all deleted is not linked; a name with "user" in it is a name.
      await store.set('user', 'user', 'E1', link('u'));
      expect(await store.linkedTargets()).toEqual(
        new Map([
          ['app', { users: 3, groups: 1 }],
          ['old-wiki', { users: 2, groups: 1 }],
          ['user', { users: 1, groups: 0 }],
        ]),
      );

      expect(await store.forgetTarget('old-wiki')).toEqual({ users: 2, groups: 1 });
      expect(await store.snapshot('old-wiki', 'user')).toEqual(new Map());
      expect(await store.get('old-wiki', 'group', 'G1')).toBeUndefined();
      expect((await store.linkedTargets()).has('old-wiki')).toBe(false);
      await store.close();
      const again = await open();
      expect(await again.linkedTargets()).toEqual(
        new Map([
          ['app', { users: 3, groups: 1 }],
          ['user', { users: 1, groups: 0 }],
        ]),
      );
      expect(await again.get('app', 'user', 'E2')).toEqual(link(2));
    });
  });
}

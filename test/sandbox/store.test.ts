import { describe, expect, it } from 'vitest';
import { ScimError } from '../../src/sandbox/index.js';
import { useSandbox } from './helpers.js';

const t = useSandbox();

describe('SandboxStore (direct access for tests)', () => {
  it('creates "by hand" with the same validation as the API, schemas optional', () => {
    const store = t.sandbox.store;
    const u = store.createUser({ userName: 'hand@example.com', active: true });
    expect(u['schemas']).toEqual(['urn:ietf:params:scim:schemas:core:2.0:User']);
    expect(store.findUserByUserName('HAND@example.com')?.['id']).toBe(u['id']);
    expect(() => store.createUser({ userName: 'HAND@example.com' })).toThrow(ScimError);
    expect(() => store.createUser({ userName: 'x', active: 'yes' })).toThrow(/boolean/);
  });

  it('returns copies that do not alias the stored data', () => {
    const store = t.sandbox.store;
    const u = store.createUser({ userName: 'copy', name: { givenName: 'A' } });
    (u['name'] as { givenName: string }).givenName = 'mutated';
    store.users()[0]!['userName'] = 'mutated';
    expect(store.getUser(u['id'] as string)).toMatchObject({ userName: 'copy', name: { givenName: 'A' } });
  });

  it('finds by externalId and group displayName; counts; deletes with cascade', () => {
    const store = t.sandbox.store;
    const u = store.createUser({ userName: 'a', externalId: 'E1' });
    const g = store.createGroup({ displayName: 'Team', members: [{ value: u['id'] as string }] });
    expect(store.findUserByExternalId('E1')?.['id']).toBe(u['id']);
    expect(store.findUserByExternalId('e1')).toBeUndefined();
    expect(store.findGroupByDisplayName('team')?.['id']).toBe(g['id']);
    expect([store.userCount, store.groupCount]).toEqual([1, 1]);
    expect(store.deleteUser(u['id'] as string)).toBe(true);
    expect(store.getGroup(g['id'] as string)).not.toHaveProperty('members');
    expect(store.deleteUser(u['id'] as string)).toBe(false);
  });

  it('replace and group updates', () => {
    const store = t.sandbox.store;
    const u = store.createUser({ userName: 'a', title: 'T' });
    expect(store.replaceUser(u['id'] as string, { userName: 'a' })).not.toHaveProperty('title');
    const g = store.createGroup({ displayName: 'G' });
    expect(store.patchGroup(g['id'] as string, [{ op: 'add', path: 'members', value: [{ value: u['id'] as string }] }])['members']).toHaveLength(1);
    expect(store.updateGroup(g['id'] as string, { displayName: 'G2' })['displayName']).toBe('G2');
    expect(store.replaceGroup(g['id'] as string, { displayName: 'G3' })).not.toHaveProperty('members');
  });
});

import type { JsonObject } from '../model/scim.js';
import { SCHEMA_ENTERPRISE_USER, SCHEMA_USER } from '../model/scim.js';
import type { SandboxStore } from './resource-store.js';

/**
 * Seeded users for benchmarks and rehearsals (`sandbox --seed-users N`): the same N users on every
 * start, ids included. User i (from 0):
 *
 * | attribute | value |
 * | --- | --- |
 * | id | 00000000-0000-4000-8000-<i in hex, 12 digits> |
 * | externalId | E<i> |
 * | userName, emails[type eq "work"] | user<i>@seed.example |
 * | name.givenName, name.familyName, displayName | Given<i>, Family<i>, "Given<i> Family<i>" |
 * | enterprise department | Dept <i mod 20> |
 * | active | true |
 *
 * A CSV row `E<i>,Given<i>,Family<i>,user<i>@seed.example,Dept <i mod 20>` (key, givenName,
 * familyName, email as userName and email, department) maps onto user i unchanged.
 */
export function seededUser(i: number): JsonObject {
  const mail = `user${i}@seed.example`;
  return {
    schemas: [SCHEMA_USER, SCHEMA_ENTERPRISE_USER],
    externalId: `E${i}`,
    userName: mail,
    name: { givenName: `Given${i}`, familyName: `Family${i}` },
    displayName: `Given${i} Family${i}`,
    emails: [{ value: mail, type: 'work', primary: true }],
    active: true,
    [SCHEMA_ENTERPRISE_USER]: { department: `Dept ${i % 20}` },
  };
}

export const seededUserId = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

/** Creates users 0..n-1 that the store does not hold yet (a restart with --data keeps what it has). */
export function seedUsers(store: SandboxStore, n: number): void {
  for (let i = 0; i < n; i++) {
    const id = seededUserId(i);
    if (store.record('User', id) === undefined) store.create('User', seededUser(i), id);
  }
}

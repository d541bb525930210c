import { describe, expect, it } from 'vitest';
import type { CanonicalUser, DirectorySnapshot } from '../../src/model/canonical.js';
import { describeHold, holdsInEffect, type EmergencyHold } from '../../src/planning/emergency-holds.js';
import { personDigest } from '../../src/planning/preconditions.js';

const user = (key: string, title: string, active = true): CanonicalUser => ({ key, active, attributes: { userName: `${key}@x.com`, title }, ref: { location: 'p.csv', line: 2 } });
const snap = (users: CanonicalUser[]): DirectorySnapshot => ({ source: 't', users, groups: [], issues: [], heldKeys: [], recordsRead: users.length });
const hold = (digest: string | null): EmergencyHold => ({ time: '2026-01-01T00:00:00.000Z', reason: 'stolen laptop', by: 'it@host', digest });

describe('emergency holds in effect', () => {
  const rows: [string, CanonicalUser | undefined, string | null, boolean][] = [
    ['the source record is as it was when the hold was set', user('K1', 'Eng'), personDigest(user('K1', 'Eng')), true],
    ['the source record changed since (an attribute)', user('K1', 'Lead'), personDigest(user('K1', 'Eng')), false],
    ['the source record changed since (re-activated)', user('K1', 'Eng'), personDigest(user('K1', 'Eng', false)), false],
    ['not in the source then, nor now', undefined, null, true],
    ['not in the source then, back now', user('K1', 'Eng'), null, false],
  ];
  for (const [name, now, digest, holds] of rows) {
    it(`${name}: ${holds ? 'holds' : 'lifted'}`, () => {
      const inEffect = holdsInEffect(new Map([['K1', hold(digest)]]), snap(now ? [now] : []));
      expect(inEffect.has('K1')).toBe(holds);
    });
  }

  it('says who, why and when', () => {
    expect(describeHold('K1', hold(null))).toBe(
      'K1: held off by emergency deprovision ("stolen laptop", by it@host, 2026-01-01T00:00:00.000Z); lifted by a change of the source record or scim-sync release',
    );
  });
});

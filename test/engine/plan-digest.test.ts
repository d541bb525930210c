import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SourceSetup } from '../../src/config/schema/index.js';
import type { DirectorySnapshot } from '../../src/model/canonical.js';
import { sourceFingerprint } from '../../src/engine/plan-binding.js';

const snapshot: DirectorySnapshot = {
  source: 'csv:people.csv',
  users: [
    { key: 'E1', active: true, attributes: { userName: 'a@x.com', department: 'Eng' }, ref: { location: 'people.csv', line: 2 } },
    { key: 'E2', active: false, attributes: { userName: 'b@x.com', department: null }, managerKey: 'E1', groups: ['g'], ref: { location: 'people.csv', line: 3 } },
  ],
  groups: [{ key: 'g', displayName: 'G', memberKeys: ['E2'], ref: { location: 'people.csv' } }],
  issues: [],
  heldKeys: [],
  recordsRead: 2,
};
const config = { type: 'csv', path: '/tmp/people.csv', key: 'employee_id', columns: {} } as unknown as SourceSetup;

describe("the plan's source fingerprint", () => {
  it('takes the content hash when first read, the digest of every record as it always was', () => {
    const expected = createHash('sha256')
      .update(
        JSON.stringify(['E1', true, { userName: 'a@x.com', department: 'Eng' }, null, null]) +
          JSON.stringify(['E2', false, { userName: 'b@x.com', department: null }, 'E1', ['g']]) +
          JSON.stringify(['g', 'G', ['E2'], null]),
      )
      .digest('base64url');
    const lazy = sourceFingerprint(config, snapshot, new Date('2026-01-01T00:00:00Z'));
    const parsed = JSON.parse(JSON.stringify(lazy)) as Record<string, unknown>;
    expect(parsed['contentHash']).toBe(expected);
    expect(Object.keys(parsed)).toEqual(['type', 'location', 'readAt', 'contentHash']);
    expect({ ...lazy }).toEqual({ ...parsed });
    expect(sourceFingerprint(config, snapshot, new Date(), 'given').contentHash).toBe('given');
  });
});

/** Synthetic directories for benchmarks: deterministic, no I/O. */
import type { CanonicalUser, DirectorySnapshot } from '../../src/model/canonical.js';

export function syntheticUser(i: number, over: Record<string, string> = {}): CanonicalUser {
  const attributes = {
    userName: `user${i}@bench.example`,
    email: `user${i}@bench.example`,
    givenName: `Given${i}`,
    familyName: `Family${i}`,
    title: `Title ${i % 50}`,
    department: `Dept ${i % 20}`,
    costCenter: `CC-${i % 30}`,
    employeeNumber: String(100000 + i),
    ...over,
  };
  return { key: `K${i}`, active: true, attributes, ref: { location: 'bench', line: i + 2 } };
}

export function snapshotOf(users: CanonicalUser[]): DirectorySnapshot {
  return { source: 'bench', users, groups: [], issues: [], heldKeys: [], recordsRead: users.length };
}

/**
 * Child process: the membership diff for G groups over U users (each person in 3 groups), against
 * a target holding the same groups with 1% of memberships drifted. Runs two sizes so linearity
 * shows: the time per membership should stay flat. Prints one JSON line.
 */
import { resolveMembership } from '../../src/mapping/group-membership.js';
import { compileSelection } from '../../src/mapping/name-patterns.js';
import type { CanonicalGroup } from '../../src/model/canonical.js';
import type { ServerResource } from '../../src/model/scim.js';
import { diffGroups } from '../../src/planning/group-diff.js';
import type { Link } from '../../src/state/link-store.js';

function measure(users: number, groups: number) {
  const members: string[][] = Array.from({ length: groups }, () => []);
  for (let u = 0; u < users; u++) for (let k = 0; k < 3; k++) members[(u * 7 + k * 1031) % groups]!.push(`K${u}`);
  const canonical: CanonicalGroup[] = members.map((m, g) => ({ key: `G${g}`, displayName: `group-${g}`, memberKeys: m, ref: { location: 'bench' } }));
  const provisioned = new Map<string, string | null>();
  for (let u = 0; u < users; u++) provisioned.set(`K${u}`, `id-${u}`);
  const links = new Map<string, Link>();
  const actual: ServerResource[] = canonical.map((g, i) => {
    links.set(g.key, { id: `gid-${i}`, hash: '' });
    // Drift: every 100th membership missing in the target.
    const ms = g.memberKeys.filter((_, j) => j % 100 !== 0).map((k) => ({ value: `id-${k.slice(1)}` }));
    return { schemas: [], id: `gid-${i}`, externalId: g.key, displayName: g.displayName, members: ms } as unknown as ServerResource;
  });
  globalThis.gc?.();
  const start = performance.now();
  const membership = resolveMembership(canonical, 'direct');
  const result = diffGroups({
    groups: canonical,
    membership,
    select: compileSelection(['*'], []),
    provisioned,
    heldIds: new Set(),
    actual,
    links,
    settings: { enabled: true, include: ['*'], exclude: [], nested: 'direct', deprovision: 'delete', adopt: 'none', maxMembersPerPatch: 100 },
    updateMethod: 'patch',
  });
  const ms = performance.now() - start;
  return { users, groups, memberships: users * 3, ms: Math.round(ms), operations: result.memberships.length };
}

const small = measure(50_000, 5_000);
const large = measure(100_000, 10_000);
process.stdout.write(`${JSON.stringify({ small, large, growth: large.ms / Math.max(1, small.ms) })}\n`);

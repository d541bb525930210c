/**
 * Child process: plan 100,000 source users against a target holding 100,000 accounts, inputs in
 * memory. Prints one JSON line: planning time and the process's peak RSS (inputs included).
 */
import { compileScope } from '../../src/mapping/scope.js';
import { buildUserResource, compileUserMapping, mapUser } from '../../src/mapping/user-mapping.js';
import { operationsOf } from '../../src/model/plan.js';
import type { ServerResource } from '../../src/model/scim.js';
import { planTarget } from '../../src/planning/build-plan.js';
import { desiredHash } from '../../src/planning/desired-hash.js';
import type { Link } from '../../src/state/link-store.js';
import { snapshotOf, syntheticUser } from './fixtures.js';

const N = Number(process.env['BENCH_USERS'] ?? 100_000);
const users = Array.from({ length: N }, (_, i) => syntheticUser(i));
const snapshot = snapshotOf(users);
const attributes = new Set(Object.keys(users[0]!.attributes));
const mapping = compileUserMapping({}, attributes);

// The target as a previous run left it, then drift: 1% edited by hand, 0.5% of people left.
const actual: ServerResource[] = [];
const links = new Map<string, Link>();
users.forEach((u, i) => {
  const desired = mapUser(mapping, u);
  const resource = { ...buildUserResource(mapping, desired, true), id: `id-${i}`, meta: { resourceType: 'User' } } as unknown as ServerResource;
  if (i % 100 === 0) resource['title'] = 'edited by hand';
  actual.push(resource);
  links.set(u.key, { id: `id-${i}`, hash: desiredHash(desired, true) });
});
const source = snapshotOf(users.filter((_, i) => i % 200 !== 1));

globalThis.gc?.();
const cpu = process.cpuUsage();
const start = performance.now();
const plan = planTarget(source, {
  name: 'bench',
  mapping,
  inScope: compileScope(undefined),
  actualUsers: actual,
  userLinks: links,
  settings: { operations: { create: true, update: true, deactivate: true }, deprovision: 'deactivate', adopt: 'none', updateMethod: 'patch' },
  manager: false,
});
const ms = performance.now() - start;
const { user, system } = process.cpuUsage(cpu);
const ops = operationsOf(plan);
process.stdout.write(
  `${JSON.stringify({
    users: N,
    planMs: Math.round(ms),
    // What planning cost in CPU, however loaded the machine (GC on other threads included).
    cpuMs: Math.round((user + system) / 1000),
    operations: ops.length,
    updates: ops.filter((o) => o.kind === 'updateUser').length,
    deprovisions: ops.filter((o) => o.kind === 'deprovisionUser').length,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  })}\n`,
);
void snapshot;

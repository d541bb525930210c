/**
 * The member memory's tests (a sandbox acting as AWS, which returns group members nowhere): six
 * people in three groups, and the membership questions the sandbox received, counted.
 */
import type { Sandbox } from '../../src/sandbox/index.js';
import { person, type Person } from './harness.js';

/** Six people in three groups: a full verification asks 3 × 6 = 18 pairs. */
export const groupedPeople: readonly Person[] = [
  person(1, { groups: ['eng', 'all'] }),
  person(2, { groups: ['eng', 'all'] }),
  person(3, { groups: ['eng', 'all'] }),
  person(4, { groups: ['ops', 'all'] }),
  person(5, { groups: ['ops', 'all'] }),
  person(6, { groups: ['all'] }),
];

const filterOf = (query: string) => new URLSearchParams(query).get('filter') ?? '';

/** The `id eq "<group>" and members eq "<user>"` requests the sandbox received since it was last cleared. */
export const pairChecks = (sandbox: Sandbox) => sandbox.requests.filter((r) => r.method === 'GET' && r.path === '/Groups' && / and members eq /.test(filterOf(r.query)));

/** The users (SCIM ids) those requests asked about, each once, in the order first asked. */
export const askedUsers = (sandbox: Sandbox) => [...new Set(pairChecks(sandbox).map((r) => /members eq "([^"]+)"/.exec(filterOf(r.query))![1]!))];

/** The displayNames of the groups those requests asked about, sorted. */
export function checkedGroups(sandbox: Sandbox): string[] {
  const ids = new Set(pairChecks(sandbox).map((r) => /^id eq "([^"]+)"/.exec(filterOf(r.query))![1]!));
  return sandbox.store.groups().filter((g) => ids.has(g['id'] as string)).map((g) => g['displayName'] as string).sort();
}

export const emails = (...ns: number[]) => ns.map((n) => `user${n}@example.com`).sort();

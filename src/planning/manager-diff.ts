/**
 * The manager reference (enterprise extension `manager.value`): the manager's SCIM id in this
 * target. Planned after users, since a manager created in this run has no id yet: the operation
 * names both people by source key and the id is resolved when it runs. Pure.
 *
 * A manager who is not provisioned in the target leaves the reference empty, with a warning, unless
 * the manager is held (then the reference stays as it is); a source that says nothing about
 * managers (no manager column) leaves the reference alone.
 *
 * Someone named as their own manager is a mistake in the source no app means to show: treated as a
 * manager who is not there (the reference left empty), with a warning naming them. People who
 * manage each other in a loop (A -> B -> A) are set as the source says, since any of them may be
 * right, with a warning naming the loop.
 */
import type { CanonicalUser } from '../model/canonical.js';
import type { Operation } from '../model/plan.js';
import { SCHEMA_ENTERPRISE_USER, type JsonObject } from '../model/scim.js';
import type { Provisioned } from './user-diff.js';
import { mapKept } from '../model/joined-lists.js';

export interface ManagerDiffResult {
  references: Operation[];
  warnings: string[];
}

function currentManager(account: JsonObject | null): string | null {
  const ext = account?.[SCHEMA_ENTERPRISE_USER];
  if (!ext || typeof ext !== 'object' || Array.isArray(ext)) return null;
  const manager = ext['manager'];
  if (manager && typeof manager === 'object' && !Array.isArray(manager) && typeof manager['value'] === 'string' && manager['value'] !== '') {
    return manager['value'];
  }
  return null;
}

/**
 * `keep(managerKey)`: the reference to this unprovisioned manager stays as the target has it (the
 * manager is held by the source, or may be missing from a dirty read) instead of being cleared.
 */
export function diffManagers(
  users: readonly CanonicalUser[],
  provisioned: ReadonlyMap<string, Provisioned>,
  keep: (managerKey: string) => boolean = () => false,
  idPrefix = '',
): ManagerDiffResult {
  const references: Operation[] = [];
  const warnings: string[] = [];
  let seq = 0;
  const named = (key: string) => `${provisioned.get(key)?.label ?? key} (${key})`;
  for (const loop of managerLoops(users)) {
    // Only the loops this target gets references of.
    if (loop.every((key) => provisioned.has(key))) warnings.push(`manager loop: ${[...loop, loop[0]!].map(named).join(' -> ')}; set as the source says`);
  }
  // Built on the first change of a reference that is set: most cycles change none.
  let labelOfId: Map<string, string> | undefined;
  const labelOf = (id: string): string => {
    labelOfId ??= new Map(mapKept(provisioned.values(), (p) => (p.account ? ([p.account.id, p.label] as const) : undefined)));
    return labelOfId.get(id) ?? id;
  };
  for (const user of users) {
    if (user.managerKey === undefined) continue;
    const self = provisioned.get(user.key);
    if (!self) continue;
    const have = currentManager(self.account);
    let wantKey = user.managerKey;
    let wantId: string | null = null;
    if (wantKey === user.key) {
      warnings.push(`${named(user.key)} is named as their own manager; manager left empty`);
      wantKey = null;
    } else if (wantKey !== null) {
      const manager = provisioned.get(wantKey);
      if (!manager) {
        if (keep(wantKey)) continue;
        warnings.push(`manager ${wantKey} of ${self.label} (${user.key}) is not provisioned in this target; manager left empty`);
        wantKey = null;
      } else {
        wantId = manager.account ? (manager.account.id) : null;
        if (wantId !== null && wantId === have) continue;
      }
    }
    if (wantKey === null && have === null) continue;
    const managerLabel = wantKey === null ? null : (provisioned.get(wantKey)?.label ?? wantKey);
    references.push({
      id: `${idPrefix}m-${(++seq).toString(36)}`,
      kind: 'setManager',
      externalId: user.key,
      label: self.label,
      ...(self.account ? { scimId: self.account.id } : {}),
      managerKey: wantKey,
      managerLabel,
      ...(have !== null ? { from: labelOf(have) } : {}),
    });
  }
  return { references, warnings };
}

/**
 * The loops of two or more people in the manager references (each person names at most one
 * manager, so each loop is found once, starting from the person met first), in linear time.
 */
export function managerLoops(users: readonly CanonicalUser[]): string[][] {
  const managerOf = new Map<string, string>();
  for (const u of users) if (u.managerKey && u.managerKey !== u.key) managerOf.set(u.key, u.managerKey);
  // Absent: not visited; a number: the walk that visited it.
  const walkOf = new Map<string, number>();
  const loops: string[][] = [];
  let walk = 0;
  for (const start of managerOf.keys()) {
    if (walkOf.has(start)) continue;
    walk++;
    const path: string[] = [];
    let key: string | undefined = start;
    while (key !== undefined && !walkOf.has(key)) {
      walkOf.set(key, walk);
      path.push(key);
      key = managerOf.get(key);
    }
    // Back on this walk's own path: the part of it from there is a loop.
    if (key !== undefined && walkOf.get(key) === walk) loops.push(path.slice(path.indexOf(key)));
  }
  return loops;
}

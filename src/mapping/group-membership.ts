/**
 * Who is in which group, as a target should see it. `direct`: the people listed in the group.
 * `flatten`: also everyone in groups nested inside it, transitively. Nesting is resolved over
 * strongly connected components (Tarjan), so a cycle A -> B -> A gives both groups the union of
 * their members and is reported once; nothing loops. Pure; linear in groups plus nesting edges
 * (plus the size of the member sets it builds).
 */
import type { CanonicalGroup } from '../model/canonical.js';

export interface ResolvedMembership {
  /** Group key -> member user keys. */
  members: Map<string, ReadonlySet<string>>;
  /** Every nesting cycle found, as "A -> B -> A" by display name. */
  cycles: string[];
  /** The same cycles as the keys of their groups, in the same order. */
  cycleKeys: string[][];
}

export function resolveMembership(groups: readonly CanonicalGroup[], mode: 'direct' | 'flatten'): ResolvedMembership {
  if (mode === 'direct') {
    return { members: new Map(groups.map((g) => [g.key, new Set(g.memberKeys)])), cycles: [], cycleKeys: [] };
  }
  const { byKey, components, componentOf, cycles, cycleKeys } = nesting(groups);
  // Tarjan emits components in reverse topological order: every component a group nests is
  // finished before the group's own, so one pass suffices.
  const flat: Set<string>[] = [];
  components.forEach((component, i) => {
    const set = new Set<string>();
    for (const key of component) {
      const group = byKey.get(key)!;
      for (const m of group.memberKeys) set.add(m);
      for (const child of group.groupKeys ?? []) {
        const j = componentOf.get(child);
        if (j !== undefined && j !== i) for (const m of flat[j]!) set.add(m);
      }
    }
    flat[i] = set;
  });
  const members = new Map<string, ReadonlySet<string>>();
  for (const g of groups) members.set(g.key, flat[componentOf.get(g.key)!]!);
  return { members, cycles, cycleKeys };
}

/**
 * The nesting cycles alone, as resolveMembership reports them, without building anyone's member
 * set: what a source that passes nesting on as it is needs to know (linear in groups plus edges).
 */
export function nestingCycles(groups: readonly CanonicalGroup[]): Pick<ResolvedMembership, 'cycles' | 'cycleKeys'> {
  const { cycles, cycleKeys } = nesting(groups);
  return { cycles, cycleKeys };
}

function nesting(groups: readonly CanonicalGroup[]) {
  const byKey = new Map(groups.map((g) => [g.key, g]));
  const components = stronglyConnected(groups, byKey);
  const cycles: string[] = [];
  const cycleKeys: string[][] = [];
  const componentOf = new Map<string, number>();
  components.forEach((component, i) => {
    for (const k of component) componentOf.set(k, i);
    const selfLoop = component.length === 1 && (byKey.get(component[0]!)!.groupKeys ?? []).includes(component[0]!);
    if (component.length > 1 || selfLoop) {
      const keys = [...component].reverse();
      const names = keys.map((k) => byKey.get(k)!.displayName);
      cycles.push([...names, names[0]].join(' -> '));
      cycleKeys.push(keys);
    }
  });
  return { byKey, components, componentOf, cycles, cycleKeys };
}

/** Iterative Tarjan over nesting edges (child keys that are not groups are ignored). */
function stronglyConnected(groups: readonly CanonicalGroup[], byKey: Map<string, CanonicalGroup>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let counter = 0;
  for (const root of groups) {
    if (index.has(root.key)) continue;
    const work: { key: string; next: number }[] = [{ key: root.key, next: 0 }];
    index.set(root.key, counter);
    low.set(root.key, counter++);
    stack.push(root.key);
    onStack.add(root.key);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const children = (byKey.get(frame.key)!.groupKeys ?? []).filter((c) => byKey.has(c));
      if (frame.next < children.length) {
        const child = children[frame.next++]!;
        if (!index.has(child)) {
          index.set(child, counter);
          low.set(child, counter++);
          stack.push(child);
          onStack.add(child);
          work.push({ key: child, next: 0 });
        } else if (onStack.has(child)) {
          low.set(frame.key, Math.min(low.get(frame.key)!, index.get(child)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.key, Math.min(low.get(parent.key)!, low.get(frame.key)!));
      if (low.get(frame.key) === index.get(frame.key)) {
        const component: string[] = [];
        let k: string;
        do {
          k = stack.pop()!;
          onStack.delete(k);
          component.push(k);
        } while (k !== frame.key);
        out.push(component);
      }
    }
  }
  return out;
}

/** User key -> display names of the groups they are in (per the resolved membership). */
export function groupsOfUsers(groups: readonly CanonicalGroup[], resolved: ResolvedMembership): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const g of groups) {
    for (const userKey of resolved.members.get(g.key) ?? []) {
      let set = out.get(userKey);
      if (!set) {
        set = new Set();
        out.set(userKey, set);
      }
      set.add(g.displayName);
    }
  }
  return out;
}

/**
 * Nested groups, client side: strongly connected components (Tarjan, iterative so deep nesting
 * cannot overflow the stack) give both the cycles to report and a single pass of transitive
 * membership. Members of a cycle are members of every group in it, which is what nested membership
 * means; nothing loops. Pure.
 */

export interface GroupEdges {
  readonly key: string;
  readonly memberKeys: readonly string[];
  /** Keys of direct member groups; keys of groups not in the list are ignored. */
  readonly groupKeys: readonly string[];
}

export interface Nesting {
  /** Group key -> every user key at any depth (sorted). */
  readonly members: ReadonlyMap<string, readonly string[]>;
  /** Each cycle as the keys of the groups in it (a group containing itself is a cycle of one). */
  readonly cycles: readonly (readonly string[])[];
}

/** Components in Tarjan's emission order: every component comes after the ones it reaches. */
function components(groups: readonly GroupEdges[]): string[][] {
  const known = new Set(groups.map((g) => g.key));
  const edges = new Map(groups.map((g) => [g.key, g.groupKeys.filter((c) => known.has(c))]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let counter = 0;
  for (const root of groups) {
    if (index.has(root.key)) continue;
    const work: { node: string; next: number }[] = [{ node: root.key, next: 0 }];
    index.set(root.key, counter);
    low.set(root.key, counter++);
    stack.push(root.key);
    onStack.add(root.key);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const children = edges.get(frame.node)!;
      if (frame.next < children.length) {
        const child = children[frame.next++]!;
        if (!index.has(child)) {
          index.set(child, counter);
          low.set(child, counter++);
          stack.push(child);
          onStack.add(child);
          work.push({ node: child, next: 0 });
        } else if (onStack.has(child)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(child)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        out.push(component);
      }
    }
  }
  return out;
}

export function expandNesting(groups: readonly GroupEdges[]): Nesting {
  const byKey = new Map(groups.map((g) => [g.key, g]));
  const closure = new Map<string, Set<string>>();
  const cycles: string[][] = [];
  for (const component of components(groups)) {
    const inComponent = new Set(component);
    const selfLoop = component.length === 1 && byKey.get(component[0]!)!.groupKeys.includes(component[0]!);
    if (component.length > 1 || selfLoop) cycles.push([...component].sort());
    const members = new Set<string>();
    for (const key of component) {
      const group = byKey.get(key)!;
      for (const m of group.memberKeys) members.add(m);
      for (const child of group.groupKeys) {
        if (inComponent.has(child)) continue;
        for (const m of closure.get(child) ?? []) members.add(m);
      }
    }
    // Every group of a component has the same transitive members: share one set.
    for (const key of component) closure.set(key, members);
  }
  const sorted = new Map<string, string[]>();
  const done = new Map<Set<string>, string[]>();
  for (const [key, set] of closure) {
    let list = done.get(set);
    if (!list) done.set(set, (list = [...set].sort()));
    sorted.set(key, list);
  }
  return { members: sorted, cycles };
}

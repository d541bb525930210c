/**
 * The links a chunk's operations read, fetched before they run in one HMGET per kind (users,
 * groups): an update, a deprovisioning, a manager reference or a membership change then reads no
 * link on its own. A key not fetched is read from Redis. The values are those of the chunk's start,
 * which is safe because an operation reads only links written before its phase began (its own
 * writes it reads through OperationLinks), and a phase starts after the previous one is recorded.
 */
import type { Operation } from '../../model/plan.js';
import type { Link, LinkStore, ResourceKind } from '../../state/link-store.js';
import type { RedisLinkStore } from '../../state/redis-link-store.js';

/** The links run-operation.ts reads for an operation, by kind (a create reads none: it writes its link). */
export function linkReads(op: Operation): [ResourceKind, string][] {
  switch (op.kind) {
    case 'updateUser':
    case 'deprovisionUser':
      return [['user', op.externalId]];
    case 'setManager':
      return [['user', op.externalId], ...(op.managerKey !== null ? [['user', op.managerKey] as [ResourceKind, string]] : [])];
    case 'patchGroupMembers':
      return [['group', op.externalId], ...op.add.map((key): [ResourceKind, string] => ['user', key])];
    case 'replaceGroup':
      return [['group', op.externalId], ...op.memberKeys.map((key): [ResourceKind, string] => ['user', key])];
    case 'deleteGroup':
      return [['group', op.externalId]];
    default:
      return [];
  }
}

export class ChunkLinks implements Pick<LinkStore, 'get' | 'snapshot'> {
  private constructor(
    private readonly links: RedisLinkStore,
    private readonly target: string,
    /** Per kind: key -> link, or null when it was fetched and has none. */
    private readonly fetched: Map<ResourceKind, Map<string, Link | null>>,
  ) {}

  static async prefetch(links: RedisLinkStore, target: string, ops: readonly Operation[]): Promise<ChunkLinks> {
    const wanted = new Map<ResourceKind, Set<string>>();
    for (const op of ops) for (const [kind, key] of linkReads(op)) wanted.set(kind, (wanted.get(kind) ?? new Set()).add(key));
    const fetched = new Map<ResourceKind, Map<string, Link | null>>();
    await Promise.all(
      [...wanted].map(async ([kind, keys]) => {
        const found = await links.getMany(target, kind, [...keys]);
        fetched.set(kind, new Map([...keys].map((key) => [key, found.get(key) ?? null])));
      }),
    );
    return new ChunkLinks(links, target, fetched);
  }

  async get(target: string, kind: ResourceKind, externalId: string): Promise<Link | undefined> {
    const known = target === this.target ? this.fetched.get(kind)?.get(externalId) : undefined;
    if (known !== undefined) return known ?? undefined;
    return this.links.get(target, kind, externalId);
  }

  snapshot(target: string, kind: ResourceKind): Promise<Map<string, Link>> {
    return this.links.snapshot(target, kind);
  }
}

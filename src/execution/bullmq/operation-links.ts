/**
 * The link store as one operation sees it in a worker: reads go to its chunk's links (chunk-links.ts),
 * but writes are kept until the operation ends and are then recorded with its outcome (with the
 * chunk's other outcomes, chunk-outcomes.ts; those of an attempt to be retried at once). An operation
 * reads its own writes, across its attempts. Safe because no operation depends on another's links
 * before its phase is over, and the next phase starts only after the previous one's results are
 * recorded.
 */
import type { Link, LinkStore, ResourceKind } from '../../state/link-store.js';
import type { RedisKeys } from '../../state/redis-keys.js';
import { linkValue, parseLink, type LinkWrite } from '../../state/redis-link-store.js';

export class OperationLinks implements LinkStore {
  private readonly writes = new Map<string, LinkWrite>();

  constructor(
    private readonly links: Pick<LinkStore, 'get' | 'snapshot'>,
    private readonly keys: RedisKeys,
  ) {}

  private write(target: string, kind: ResourceKind, externalId: string, value: string | null): void {
    const key = this.keys.links(target, kind);
    this.writes.set(`${key}\n${externalId}`, { key, field: externalId, value });
  }

  loaded(): Promise<void> {
    return Promise.resolve();
  }

  snapshot(target: string, kind: ResourceKind): Promise<Map<string, Link>> {
    return this.links.snapshot(target, kind);
  }

  async get(target: string, kind: ResourceKind, externalId: string): Promise<Link | undefined> {
    const key = this.keys.links(target, kind);
    const pending = this.writes.get(`${key}\n${externalId}`);
    if (!pending) return this.links.get(target, kind, externalId);
    return pending.value === null ? undefined : parseLink(key, externalId, pending.value);
  }

  async set(target: string, kind: ResourceKind, externalId: string, link: Link): Promise<void> {
    this.write(target, kind, externalId, linkValue(link));
  }

  async delete(target: string, kind: ResourceKind, externalId: string): Promise<void> {
    this.write(target, kind, externalId, null);
  }

  /** The writes to commit, in the order first made (each with its last value). */
  changes(): LinkWrite[] {
    return [...this.writes.values()];
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {}
}

/**
 * Links between source identities and the SCIM resources made for them, per target.
 * The embedded default keeps them in a file (file-link-store.ts); distributed mode in Redis.
 */

export type ResourceKind = 'user' | 'group';

export interface Link {
  /** SCIM id in the target. */
  id: string;
  /** Hash of the desired state last pushed (see planning/desired-hash.ts). */
  hash: string;
}

export interface LinkStore {
  /** Every link of one kind in one target, keyed by externalId (for the planner). */
  snapshot(target: string, kind: ResourceKind): Promise<Map<string, Link>>;
  get(target: string, kind: ResourceKind, externalId: string): Promise<Link | undefined>;
  set(target: string, kind: ResourceKind, externalId: string, link: Link): Promise<void>;
  delete(target: string, kind: ResourceKind, externalId: string): Promise<void>;
  /**
   * Resolves once the store holds what it stored (the file store reads its snapshot in the
   * background from open, and each method waits for it); rejects with what that read met, so a
   * command can fail on a damaged store before it does anything else.
   */
  loaded(): Promise<void>;
  /** Make every change so far durable. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** How many links one target has of each kind. */
export interface LinkCounts {
  users: number;
  groups: number;
}

/**
 * The links of every target at once, for what the config no longer names: a target taken out of the
 * config keeps its links, and nobody there is deactivated any more; a plan says so, and `scim-sync
 * forget` drops them once the app is gone.
 */
export interface LinkInventory {
  /** Each target that has a link, with how many of each kind. */
  linkedTargets(): Promise<Map<string, LinkCounts>>;
  /** Drop every link of one target; what was dropped. */
  forgetTarget(target: string): Promise<LinkCounts>;
}

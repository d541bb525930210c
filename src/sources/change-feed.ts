/**
 * Change feeds: how `scim-sync serve` learns, between full cycles, who may have changed in a
 * source. A feed gives hints, never data: every key it names is read again from the source
 * (SourceDirectory.readOne) and goes through the same mapping, scoping, planning, safety check and
 * execution as a cycle. A feed that cannot tell who changed (its token is lost, a domain
 * controller was restored, its baseline is missing) asks for a full reconcile instead.
 *
 * Contract of a token: a feed never advances its stored position (a CSV snapshot, an LDAP
 * timestamp or USN, a Reports API time) when it hands out a batch; it does so in `commit`, which
 * the service calls only after every key of the batch has been planned and applied. A crash
 * between the two hands out the same changes again, which is harmless: applying a person twice
 * converges.
 */

export interface ChangeBatch {
  /** Source keys that may have changed: added, modified, deactivated, deleted or moved out of scope. */
  readonly keys: readonly string[];
  /**
   * Per key, a mark of what the feed saw of that person (a digest of their row, the events about
   * them): two polls from the same position giving a person the same mark saw no change of theirs
   * between them. While the position stays, each poll names everyone changed since it; the service
   * syncs a person it applied already only when their mark moved. A key without a mark cannot be
   * told apart: once applied, it is synced once more before the position is committed.
   */
  readonly marks?: ReadonlyMap<string, string>;
  /** Set when the feed cannot name who changed: the service runs a full reconcile (and commits after it). */
  readonly full?: string;
  /** For the service's log: what the feed saw, e.g. "3 entries changed since 20261130101500Z". */
  readonly description: string;
  /** Advance the feed's stored position past this batch. Called once, after the batch is applied. */
  commit(): Promise<void>;
}

export interface ChangeFeed {
  /** For logs and /readyz, e.g. `ldap:ldaps://dc1.example.com changes (uSNChanged)`. */
  readonly description: string;
  /**
   * Looks once for changes since the stored position: null when there are none. Throws a
   * SourceError when the source cannot be read (the service retries at the next interval, and
   * reports the feed unhealthy meanwhile).
   */
  poll(signal?: AbortSignal): Promise<ChangeBatch | null>;
  /**
   * Resolves early when the feed has reason to think something changed before the next interval
   * (a file watcher's event), so the service polls now. Absent for feeds that only poll.
   */
  changed?(signal: AbortSignal): Promise<void>;
  /**
   * What the last poll found wrong and worked around, for the log and /readyz (e.g. an LDAP entry
   * stamped in the future): empty when nothing. Absent for feeds that have nothing of the kind.
   */
  warnings?(): readonly string[];
  close(): Promise<void>;
}

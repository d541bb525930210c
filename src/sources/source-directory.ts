import type { DirectorySnapshot } from '../model/canonical.js';

/**
 * A source of truth. `read` returns the whole directory or throws a SourceError: a partial read
 * must never reach the planner, where missing people would read as departures.
 */
export interface SourceDirectory {
  /** For humans and the audit log, e.g. `csv:/srv/hr/people.csv`. */
  readonly description: string;
  read(): Promise<DirectorySnapshot>;
  /**
   * Every attribute name a record of this source can carry (a CSV's header, the attributes an
   * LDAP source maps, Google's fixed set): what mapping templates and scope clauses may name.
   */
  offeredAttributes(): Promise<ReadonlySet<string>>;
}

import type { DirectorySnapshot } from '../model/canonical.js';

/**
 * A source of truth. `read` returns the whole directory or throws a SourceError: a partial read
 * must never reach the planner, where missing people would read as departures.
 */
export interface SourceDirectory {
  /** For humans and the audit log, e.g. `csv:/srv/hr/people.csv`. */
  readonly description: string;
  read(): Promise<DirectorySnapshot>;
}

/**
 * The canonical directory model every source produces and every mapping consumes.
 * Sources normalise their own shapes into this; nothing downstream knows where a person came from.
 */

/** A single source attribute value: absent (null), one string, or several (multi-valued). */
export type SourceValue = string | string[] | null;

/** Where a record came from, so errors and plans can point a person at the exact input. */
export interface SourceRef {
  /** File path, LDAP DN or API resource name. */
  readonly location: string;
  /** 1-based line in a file source (the record's first physical line), when known. */
  readonly line?: number;
}

export interface CanonicalUser {
  /** Immutable source key; becomes the SCIM `externalId`. Never an email or a name. */
  readonly key: string;
  /** False when the source marks the person inactive (terminated, disabled). */
  readonly active: boolean;
  /**
   * Attributes by canonical name (userName, givenName, familyName, email, department, ...).
   * Sources may add any other names; mappings reference them by name.
   */
  readonly attributes: Readonly<Record<string, SourceValue>>;
  /** Source key of the manager, when the source knows one. */
  readonly managerKey?: string | null;
  /** Names of groups this user is a direct member of, when the source expresses membership per user. */
  readonly groups?: readonly string[];
  readonly ref: SourceRef;
}

export interface CanonicalGroup {
  /** Immutable source key; becomes the group's `externalId`. */
  readonly key: string;
  readonly displayName: string;
  /** Source keys of direct user members. */
  readonly memberKeys: readonly string[];
  /** Source keys of direct member groups (nesting). */
  readonly groupKeys?: readonly string[];
  readonly ref: SourceRef;
}

/** What a source found wrong with a record (or, in `warnings`, worth a look), by the source that finds it. */
export type SourceIssueCode =
  | 'CONTROL_CHARACTER'
  | 'CONTROL_CHARACTERS_STRIPPED'
  | 'CSV_BAD_MEMBERSHIP'
  | 'CSV_BLANK_ROWS'
  | 'CSV_DUPLICATE_KEY'
  | 'CSV_DUPLICATE_USERNAME'
  | 'CSV_MISSING_KEY'
  | 'CSV_MULTILINE_FIELD'
  | 'CSV_REPEATED_HEADER'
  | 'CSV_UNKNOWN_STATUS'
  | 'CSV_UNNAMED_COLUMN'
  | 'CSV_UNPARSEABLE'
  | 'GOOGLE_DUPLICATE_ID'
  | 'GOOGLE_MEMBER_OUTSIDE'
  | 'GOOGLE_MISSING_EMAIL'
  | 'GOOGLE_MISSING_ID'
  | 'JOIN_AMBIGUOUS'
  | 'JOIN_DUPLICATE_USERNAME'
  | 'JOIN_GROUP_CLASH'
  | 'JOIN_HELD_IN_SECONDARY'
  | 'JOIN_MEMBERS_LEFT_OUT'
  | 'JOIN_MISSING_IN_SECONDARY'
  | 'JOIN_UNMATCHED_RECORDS'
  | 'LDAP_AMBIGUOUS_KEY'
  | 'LDAP_BAD_KEY'
  | 'LDAP_BAD_USER_ACCOUNT_CONTROL'
  | 'LDAP_DUPLICATE_KEY'
  | 'LDAP_DUPLICATE_USERNAME'
  | 'LDAP_GROUP_CYCLE'
  | 'LDAP_MEMBER_NOT_A_USER'
  | 'LDAP_MISSING_GROUP_NAME'
  | 'LDAP_MISSING_KEY'
  | 'LDAP_MISSING_USER_ACCOUNT_CONTROL';

/** A problem with one source record: reported, and the record skipped. */
export interface SourceIssue {
  readonly code: SourceIssueCode;
  readonly message: string;
  readonly ref: SourceRef;
  /**
   * The record may hide people (or the groups they are in) that the source cannot name, so cannot
   * hold by key (lines swallowed by a stray quote whose keys do not read): nobody may be read as
   * gone from this read, whatever safety.holdDeprovisionsOnInvalidRecords says.
   */
  readonly hidesPeople?: true;
  /**
   * Keys of the groups this record names and no valid record does: held (heldKeys) as still in the
   * source, not deleted as gone; a plan names this record as why.
   */
  readonly holdsGroups?: readonly string[];
}

/** Where a record is, as messages name it: `people.csv:12`, a DN, an API resource. */
export function describeSourceRef(ref: SourceRef): string {
  return ref.line !== undefined ? `${ref.location}:${ref.line}` : ref.location;
}

export interface DirectorySnapshot {
  /** Which source produced it (its type and location), for plans and audit. */
  readonly source: string;
  readonly users: readonly CanonicalUser[];
  readonly groups: readonly CanonicalGroup[];
  /** Records rejected while reading; the snapshot holds everything else. */
  readonly issues: readonly SourceIssue[];
  /** Things worth a look that rejected nothing (a group member outside the people read). */
  readonly warnings?: readonly SourceIssue[];
  /**
   * Keys seen only in rejected records (or in duplicates). The planner leaves these identities as
   * they are in every target: neither updated from a row it could not trust nor deprovisioned.
   */
  readonly heldKeys: readonly string[];
  /**
   * Of a joined read, people a secondary that lends values has no record of (or no value to join
   * on). What it would lend is unknown, not empty: an account they have is updated with the values
   * there are, but none of its values is cleared, and a scope they fall out of does not deprovision
   * them (it may have needed a value the secondary lends); someone without an account is created
   * from the values there are.
   */
  readonly partialKeys?: readonly string[];
  /**
   * Of a read narrowed to some people from a whole read (a CSV is read whole to find one person):
   * how many people the whole read had. A change-driven sync judges by it whether the read is
   * complete, as a full cycle's safety check would: a half-written export must not read as leavers.
   */
  readonly population?: number;
  /** Number of records read, good and bad, so the planner can judge the bad share. */
  readonly recordsRead: number;
  /**
   * Of a joined read, each source's own count: the bad share is judged per source too, or a small
   * HR file with half its rows broken would pass beside a large directory.
   */
  readonly parts?: readonly SourcePart[];
}

export interface SourcePart {
  readonly name: string;
  readonly recordsRead: number;
  readonly invalidRecords: number;
}

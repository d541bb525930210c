/**
 * Knobs that make the sandbox act like a particular real SCIM server. Every field is mutable at
 * runtime through `Sandbox.behaviour`; handlers read it on each request.
 */
export interface SandboxBehaviour {
  /** Largest page a list answers; a larger `count` is capped. Also SPC filter.maxResults. Default 200. */
  maxPageSize: number;
  /** Page size when the request has no `count`. Default 100. */
  defaultPageSize: number;
  /** False: PATCH answers 501 and the ServiceProviderConfig says patch.supported false. Default true. */
  supportsPatch: boolean;
  /** ETag header and meta.version on resources, If-Match honoured (412 when stale). Default true. */
  supportsEtag: boolean;
  /** sortBy/sortOrder honoured; when false they are ignored, as servers without sorting do. Default true. */
  supportsSort: boolean;
  /** Filter operators accepted ('eq', 'and', 'pr', ...); others get 400 invalidFilter. Default 'all'. */
  filterOperators: 'all' | string[];
  /** False: group lists omit `members` (AWS IAM Identity Center). Default true. */
  groupMembersInList: boolean;
  /**
   * False: a group read on its own (GET /Groups/{id}) and the answers to group writes omit
   * `members` too; only a `members eq` filter tells who is in a group (AWS). Default true.
   */
  groupMembersInGet: boolean;
  /** Cap on member values added plus removed by one PATCH request (AWS: 100); null = none. Default null. */
  maxPatchOperations: number | null;
  /** Duplicate Group displayName answers 409 uniqueness. Default true. */
  uniqueGroupDisplayName: boolean;
  /** Accept "True"/"False" strings for booleans (older Entra ID sends them). Default false: 400 invalidValue. */
  lenientBooleans: boolean;
  /** Requests without a User-Agent header answer 403 (GitHub). Default false. */
  requireUserAgent: boolean;
  /** At most `requests` requests in any `perMs` window, else 429 with Retry-After (seconds). null = none. Default null. */
  rateLimit: SandboxRateLimit | null;
  /** The same for POST /Users alone (GitHub: 1,000 new users an hour). Default null. */
  createRateLimit: SandboxRateLimit | null;
  /** Added to every list's totalResults (a wrong count, as many servers report). Default 0. */
  totalResultsOffset: number;
  /** A list page past the end answers the first page again instead of an empty one. Default false. */
  repeatFirstPagePastEnd: boolean;
  /** userName compares case-sensitively in filters, as some servers do against RFC 7643. Default false. */
  userNameCaseExact: boolean;
  /** A filter the server cannot evaluate answers an empty list instead of 400 (some servers do). Default false. */
  filterErrorsAnswerEmpty: boolean;
  /** /Bulk with these limits (RFC 7644 §3.7; bulkId references are not resolved); null = 501. Default null. */
  bulk: { maxOperations: number; maxPayloadSize: number } | null;
  /**
   * False: a core-only server. The User resource type lists no schema extension, and a User write
   * that carries the enterprise extension answers 400 invalidValue. Default true.
   */
  enterpriseExtension: boolean;
  /**
   * A PATCH whose path is a full URN naming an extension attribute (`urn:...:User:manager`) is
   * answered 200 but stored under a top-level key named after the path, the attribute left as it
   * was; a path with a sub-attribute (`...:User:manager.value`) and path-less values are applied
   * as they should be. scimgateway 6.1.18 does this. Default false.
   */
  urnPathAsKey: boolean;
  /** A filter's `+` is read as a space, as form decoding does: `userName eq "a+b@x"` finds nothing. Default false. */
  filterPlusAsSpace: boolean;
  /**
   * Filters are ignored: a list answers every resource, as if it had none (some servers do; the
   * first resource of the answer then looks like a match to a client that trusts it). Default false.
   */
  ignoreFilters: boolean;
  /**
   * User attributes (core, by name: 'title') accepted in writes but not kept: a create leaves them
   * out, an update leaves them as they were. Servers do this with attributes they have no place for. Default [].
   */
  ignoredAttributes: string[];
  /**
   * Core User attributes (by name: 'title') that /Schemas declares readOnly; a write's value for one
   * is ignored, as RFC 7643 §7 has servers do (a create leaves it out, an update leaves it as it
   * was). Default [].
   */
  readOnlyAttributes: string[];
  /** Every answer is delayed this many milliseconds. Default 0. */
  latencyMs: number;
  /** Share (0..1) of requests answered 503 before being handled, drawn from a seeded generator. Default 0. */
  errorRate: number;
}

export interface SandboxRateLimit {
  requests: number;
  perMs: number;
  /** Retry-After sent with the 429, seconds. Default: until the window frees a slot, rounded up. */
  retryAfterSeconds?: number;
}

export const DEFAULT_BEHAVIOUR: Readonly<SandboxBehaviour> = Object.freeze({
  maxPageSize: 200,
  defaultPageSize: 100,
  supportsPatch: true,
  supportsEtag: true,
  supportsSort: true,
  filterOperators: 'all',
  groupMembersInList: true,
  groupMembersInGet: true,
  maxPatchOperations: null,
  uniqueGroupDisplayName: true,
  lenientBooleans: false,
  requireUserAgent: false,
  rateLimit: null,
  createRateLimit: null,
  totalResultsOffset: 0,
  repeatFirstPagePastEnd: false,
  userNameCaseExact: false,
  filterErrorsAnswerEmpty: false,
  bulk: null,
  enterpriseExtension: true,
  urnPathAsKey: false,
  filterPlusAsSpace: false,
  ignoreFilters: false,
  ignoredAttributes: [],
  readOnlyAttributes: [],
  latencyMs: 0,
  errorRate: 0,
});

export function resolveBehaviour(overrides: Partial<SandboxBehaviour> = {}): SandboxBehaviour {
  const behaviour: SandboxBehaviour = { ...DEFAULT_BEHAVIOUR };
  for (const [key, value] of Object.entries(overrides) as [keyof SandboxBehaviour, never][]) {
    if (value !== undefined) behaviour[key] = value;
  }
  return behaviour;
}

/** Whether a filter operator (lower-case: eq, co, and, not, ...) is enabled. */
export function operatorAllowed(behaviour: Pick<SandboxBehaviour, 'filterOperators'>, op: string): boolean {
  const ops = behaviour.filterOperators;
  return ops === 'all' || ops.some((o) => o.toLowerCase() === op);
}

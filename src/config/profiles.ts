/**
 * Vendor quirk profiles: what a SCIM server really does, as plain data. A target names a profile
 * (`profile: aws`) and may override any key (`quirks:`); discovery (ServiceProviderConfig) then
 * narrows what the server says it cannot do. The client, planner and executor read the resolved
 * quirks; no code asks which vendor it talks to.
 */

export const FILTER_OPERATORS = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le', 'pr', 'and', 'or', 'not'] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

/**
 * How a PATCH body is written (targets/patch-shape.ts), in the order the engine tries them when a
 * server accepts a change but does not keep it. 'rfc': one operation per attribute, each with its
 * path. 'sub-attribute': a complex attribute's replace as one operation per sub-attribute
 * (`manager.value` with a plain value). 'value-object': replaces folded into one operation without
 * a path whose value holds them (RFC 7644 §3.5.2.3).
 */
export const PATCH_SHAPES = ['rfc', 'sub-attribute', 'value-object'] as const;
export type PatchShape = (typeof PATCH_SHAPES)[number];

/** At most `requests` requests in any window of `perMs` milliseconds. */
export interface RateLimit {
  requests: number;
  perMs: number;
}

export interface TargetQuirks {
  /** Most member values added plus removed by one group PATCH (AWS: 100); null = no limit. */
  maxMembersPerPatch: number | null;
  /**
   * False: the server returns a group's members nowhere, neither in GET /Groups nor in GET
   * /Groups/{id} (AWS documents both answers as an empty list). Membership is then asked per managed
   * group and linked user with an `id eq ... and members eq ...` filter. True (RFC): a group lists
   * its members; a listing that leaves them out is followed by a GET of each managed group.
   */
  groupMembersInList: boolean;
  /** Largest list page the server answers; requests ask for at most this many. null = no known cap. */
  maxPageSize: number | null;
  /** Filter operators the server understands; lookups that need others are not attempted. */
  filterOperators: FilterOperator[];
  /** True: the server compares userName case-sensitively (RFC 7643 says it must not). */
  userNameCaseExact: boolean;
  /**
   * How PATCH bodies are written (PATCH_SHAPES): 'rfc', 'sub-attribute' or 'value-object', for
   * servers that ignore or misread some paths. Per attribute, a shape the engine learned (verified
   * after a write) takes its place.
   */
  patchShape: PatchShape;
  /** False: the server has no DELETE for users; `deprovision: delete` then deactivates instead. */
  supportsDelete: boolean;
  /** Headers sent with every request (names lower-case), e.g. a User-Agent the server requires. */
  headers: Record<string, string>;
  /** Request budget for the whole target when the target sets no `rateLimit`; null = unlimited. */
  rateLimit: RateLimit | null;
  /** Separate budget for user creations (GitHub: 1,000 new users an hour); null = none. */
  createRateLimit: RateLimit | null;
  /** How the server reads startIndex: 'one-based' (RFC), 'zero-based', or 'ignored' (one page only). */
  startIndex: 'one-based' | 'zero-based' | 'ignored';
  /** 'exact': totalResults can end a listing. 'unreliable': only a short or empty page ends it. */
  totalResults: 'exact' | 'unreliable';
  /** 'auto': send If-Match when discovery says ETags are supported. 'off': never. */
  etag: 'auto' | 'off';
  /** 'auto': user writes go in /Bulk requests when discovery says Bulk is supported. 'off': one request each. */
  bulk: 'auto' | 'off';
}

export const PROFILE_NAMES = ['generic', 'aws', 'github', 'slack', 'entra-compatible'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

/** RFC 7644 as written: what a target without a profile is assumed to do. */
const GENERIC: TargetQuirks = {
  maxMembersPerPatch: null,
  groupMembersInList: true,
  maxPageSize: null,
  filterOperators: [...FILTER_OPERATORS],
  userNameCaseExact: false,
  patchShape: 'rfc',
  supportsDelete: true,
  headers: {},
  rateLimit: null,
  createRateLimit: null,
  startIndex: 'one-based',
  totalResults: 'exact',
  etag: 'auto',
  bulk: 'off',
};

/** Differences from GENERIC, per vendor. Sources: the vendors' SCIM documentation (see REFERENCE.md). */
export const PROFILES: Readonly<Record<ProfileName, Partial<TargetQuirks>>> = {
  generic: {},
  // AWS IAM Identity Center: eq/and filters only, pages of at most 100, no group members in any
  // answer (lists or GET), at most 100 membership changes per PATCH, no ETags.
  aws: { maxMembersPerPatch: 100, groupMembersInList: false, maxPageSize: 100, filterOperators: ['eq', 'and'], etag: 'off' },
  // GitHub Enterprise Managed Users: a User-Agent is required; at most 1,000 new users an hour;
  // `eq` filters on userName, externalId and displayName.
  github: {
    headers: { 'user-agent': 'scim-sync/0.1', accept: 'application/scim+json' },
    createRateLimit: { requests: 1000, perMs: 3_600_000 },
    filterOperators: ['eq'],
  },
  // Slack: about 600 writes a minute for the whole organisation (every SCIM app shares it).
  slack: { rateLimit: { requests: 600, perMs: 60_000 } },
  // Servers built for Entra ID's client: only what Entra sends (eq and and filters, pages of 100).
  'entra-compatible': { filterOperators: ['eq', 'and'], maxPageSize: 100 },
};

export type QuirkOverrides = { [K in keyof TargetQuirks]?: TargetQuirks[K] | undefined };

/** The generic defaults, the profile's differences, then the target's own `quirks:` key by key. */
export function resolveQuirks(profile: ProfileName, overrides: QuirkOverrides = {}): TargetQuirks {
  const merged: TargetQuirks = { ...GENERIC, ...PROFILES[profile] };
  for (const [key, value] of Object.entries(overrides) as [keyof TargetQuirks, never][]) {
    if (value !== undefined) merged[key] = value;
  }
  merged.headers = lowerKeys({ ...GENERIC.headers, ...PROFILES[profile].headers, ...overrides.headers });
  return merged;
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

export function supportsOperator(quirks: Pick<TargetQuirks, 'filterOperators'>, op: FilterOperator): boolean {
  return quirks.filterOperators.includes(op);
}

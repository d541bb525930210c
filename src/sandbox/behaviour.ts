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
  /** Cap on member values added plus removed by one PATCH request (AWS: 100); null = none. Default null. */
  maxPatchOperations: number | null;
  /** Duplicate Group displayName answers 409 uniqueness. Default true. */
  uniqueGroupDisplayName: boolean;
  /** Accept "True"/"False" strings for booleans (older Entra ID sends them). Default false: 400 invalidValue. */
  lenientBooleans: boolean;
}

export const DEFAULT_BEHAVIOUR: Readonly<SandboxBehaviour> = Object.freeze({
  maxPageSize: 200,
  defaultPageSize: 100,
  supportsPatch: true,
  supportsEtag: true,
  supportsSort: true,
  filterOperators: 'all',
  groupMembersInList: true,
  maxPatchOperations: null,
  uniqueGroupDisplayName: true,
  lenientBooleans: false,
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
